"""A stand-in for the pipeline whose steps a test paces (GRADER_WORKER_GRADER
"support.staged:staged_grade"), to watch progress travel from the grading process to the store
and the candidate's status page.

A submission's solution.py says how many steps (``# steps: 2``); the grading reports
``step 1``, waits for the test to create ``go-1`` in the submission's folder, reports ``step 2``,
and so on, then returns a graded report (``# fail: 1``: one whose build raised in the candidate's
``solution.py``, as the pipeline reports it). It prints to stdout first, as a hidden suite might.
"""

from __future__ import annotations

import time

from grader.jobs.grading import GradingRequest, report_step
from grader.outcomes import CodeFailure, CodeFrame, FailureKind
from grader.report import Report
from grader.settings import Settings
from support.fakes import directives, fake_report

WAIT_SECONDS = 120


def staged_grade(request: GradingRequest, settings: Settings) -> Report:
    print("stdout is not the worker's: this line must not read as a step")
    for step in range(1, int(directives(request).get("steps", 1)) + 1):
        report_step(f"step {step}")
        go = request.submission_dir / f"go-{step}"
        deadline = time.monotonic() + WAIT_SECONDS
        while not go.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the test never created {go}")
            time.sleep(0.05)
    if directives(request).get("fail"):
        return fake_report(0.0, request.sha256, failure=CodeFailure(
            kind=FailureKind.EXCEPTION, phase="build",
            summary="Your train() raised ValueError during the build.",
            exception_type="ValueError", exception_message="could not convert 'abc' to float",
            frames=[CodeFrame(file="solution.py", line=12, function="train")],
            stderr_tail=["loading data", "Traceback (most recent call last):"],
            check_hint="Run `python check.py` from the starter bundle to see it again."))
    return fake_report(80.0, request.sha256)
