"""One grading, in its own process: ``python -m grader.jobs.grading`` (started by a worker).

The request arrives as one JSON line on stdin; the outcome (a report, or the reason of an
``InfrastructureError``) is written as JSON to ``request.result_path``. The process keeps reading
stdin and exits the moment it closes, so it never outlives the worker that started it. It imports
only the pipeline, never the store: it needs no database and starts fast.

Its stdout carries only the grading's steps (``report_step``: one JSON line each, the pipeline's
progress messages), which the worker stores for the candidate's status page; anything else the
process prints goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field

import sandbox
from grader.anchors import anchors_for
from grader.authoring import AssignmentNotFound, find_assignment, zip_folder
from grader.environment_fit import EnvironmentUnreadable, session_preload
from grader.environments import grading_image_digest
from grader.instance import InstanceError
from grader.pipeline import InfrastructureError, grade_directory, grade_zip
from grader.report import Report
from grader.settings import Settings
from grader.spec import SpecError

__all__ = ["GradeFunction", "GradingRequest", "child_main", "grade_function", "grade_request",
           "reference_of"]

EXIT_PARENT_GONE = 70


class GradingRequest(BaseModel):
    """What a child process needs to grade one submission (sent as JSON on its stdin)."""

    job_id: int
    attempt: int
    submission_id: int
    assignment_id: str
    submission_dir: Path
    sha256: str
    result_path: Path
    settings: dict[str, Any] = Field(description="the worker's settings, secrets left out")
    baseline: str | None = Field(None, description="grade this recorded baseline of the "
                                                   "assignment (its anchors on the instance) "
                                                   "instead of a submission")


def grade_request(request: GradingRequest, settings: Settings) -> Report:
    """The real grading: the assignment from disk, the pipeline on the stored files."""
    try:
        assignment, folder = find_assignment(settings.assignments_dir, request.assignment_id,
                                             ceiling=settings.limits)
    except (AssignmentNotFound, SpecError) as exc:
        raise InfrastructureError(f"the assignment cannot be loaded: {exc}") from exc
    try:
        instance = settings.assignment_instance(assignment, folder)
    except InstanceError as exc:
        raise InfrastructureError(f"the instance's data cannot be made: {exc}") from exc
    try:  # the image an environment adds is built here, and its modules may be imported ahead
        preload = session_preload(settings, assignment, folder)
    except EnvironmentUnreadable as exc:
        raise InfrastructureError(str(exc)) from exc
    if request.baseline is not None:
        try:
            baseline = assignment.baseline(request.baseline)
        except KeyError as exc:
            raise InfrastructureError(f"{assignment.id} has no baseline {request.baseline}"
                                      ) from exc
        with tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
            # Zipped and checked as a candidate's upload would be, like validation's re-grades.
            archive = zip_folder(folder / baseline.path, Path(tmp) / "submission.zip")
            return grade_zip(assignment=assignment, folder=folder, instance=instance,
                             zip_path=archive, runner_image=settings.runner_image,
                             ceiling=settings.limits, intake=settings.intake,
                             preload=preload)
    try:  # anchors are kept by the digest of the image the assignment is graded in
        digest = grading_image_digest(assignment, folder, runner_image=settings.runner_image)
    except (sandbox.SandboxError, OSError) as exc:
        raise InfrastructureError(str(exc)) from exc
    anchors = anchors_for(settings, assignment, folder, digest)
    return grade_directory(assignment=assignment, folder=folder, instance=instance,
                           submission_dir=request.submission_dir,
                           submission_sha256=request.sha256, runner_image=settings.runner_image,
                           ceiling=settings.limits, anchors=anchors, progress=report_step,
                           preload=preload)


class _Steps:
    """The worker's channel for progress: the process's original stdout, opened by
    ``child_main``. One grading per process, so one channel; elsewhere steps go nowhere."""

    out: TextIO | None = None

    @classmethod
    def open(cls) -> None:
        # A copy of fd 1 for the steps, then fd 1 pointed at stderr, so what hidden suites,
        # libraries or pytest's capture write to stdout never reads as a step.
        cls.out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)


def report_step(step: str) -> None:
    """Tell the worker which step this grading reached (a grading function may call it)."""
    if _Steps.out is None:
        return
    # A broken pipe: the worker is gone, and the parent watch is ending this process.
    with contextlib.suppress(BrokenPipeError):
        _Steps.out.write(json.dumps({"step": step}) + "\n")


GradeFunction = Callable[[GradingRequest, Settings], Report]


def reference_of(grade: GradeFunction) -> str:
    """``module:function``, by which a grading child imports ``grade``; ValueError for a function
    it could not import (a lambda, a nested function, one of an unimportable module)."""
    module, name = grade.__module__, grade.__qualname__
    if getattr(sys.modules.get(module), name, None) is not grade:
        raise ValueError(f"{module}.{name} is not a module-level function: a grading child "
                         "process imports the grading function by its module and name")
    return f"{module}:{name}"


def grade_function(reference: str) -> GradeFunction:
    """The function a ``module:function`` reference names (``--grader`` of the child, and of
    `grader serve` and `grader worker` for tests and benches)."""
    module, _, name = reference.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"no grading function {reference!r} ({exc}); give module:function "
                         "of a module on PYTHONPATH") from exc
    if not callable(found):
        raise ValueError(f"{reference!r} is not a function")
    return found


def _watch_parent() -> None:
    """Exit the moment the worker's end of stdin closes (the worker died or gave up on us)."""
    # os.read, not sys.stdin: a buffered reader's lock held by this thread would abort the
    # interpreter's shutdown.
    while os.read(0, 4096):
        pass
    os._exit(EXIT_PARENT_GONE)


def child_main(argv: list[str] | None = None) -> int:
    """`python -m grader.jobs.grading [--grader module:function]`: grade the request on stdin
    (with ``grade_request``, or the function the worker pool was given), write the outcome as
    JSON."""
    parser = argparse.ArgumentParser(prog="python -m grader.jobs.grading")
    parser.add_argument("--grader", metavar="MODULE:FUNCTION",
                        help="grade with this function instead of the pipeline")
    grader = parser.parse_args(argv).grader
    grade = grade_request if grader is None else grade_function(grader)
    request = GradingRequest.model_validate_json(sys.stdin.buffer.readline())
    _Steps.open()
    threading.Thread(target=_watch_parent, daemon=True, name="parent-watch").start()
    settings = Settings.model_validate(request.settings)
    outcome: dict[str, object]
    try:
        outcome = {"report": grade(request, settings).model_dump(mode="json")}
    except InfrastructureError as exc:
        outcome = {"infrastructure_error": str(exc) or type(exc).__name__}
    partial = request.result_path.with_name(request.result_path.name + ".partial")
    partial.write_text(json.dumps(outcome))
    partial.replace(request.result_path)
    return 0


if __name__ == "__main__":
    # Run as the importable module, not as __main__: a grading function that reports steps
    # imports grader.jobs.grading, and must find the channel child_main opened there.
    from grader.jobs import grading

    code = grading.child_main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no waiting on stray threads (the parent watch, engine clients)
