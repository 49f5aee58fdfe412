"""Anchors measured on the instance: each baseline graded on the deployment's own hidden data.

Scoring places a metric between baselines' scores (``grader.scoring``). The scores recorded in
``assignment.yaml`` were measured on the published seeds (the demo instance); a private instance
grades on other hidden data, where the same baselines score differently. So a deployment grades
every recorded baseline on its instance, once per key

    (instance id, assignment content hash, runner image digest)

and scoring uses those. The demo instance's anchors are simply the recorded scores.

Storage: one JSON document per key, ``DATA_DIR/instances/<instance>/anchors/<assignment>-<sha16>-
<digest16>.json``, replaced atomically after each step, with a state per baseline (queued,
measuring, done with its scores, errored with a reason) and its start and end times. A lock file
beside it (made with ``O_EXCL``, naming its host and process) keeps two processes from measuring
one key; it is taken over when its process on this host is gone, or when it is older than
``STALE_LOCK_SECONDS`` (a process on another host sharing the data dir). A baseline left
"measuring" by a dead process is measured again.

A report graded before its anchors were complete is placed on the recorded scores and marked
provisional (``Report.anchors``); ``rescored`` places it again once they are, a pure function of
the report's metrics and test counts.

Exceptions:

    AnchorsError     the anchors cannot be measured here (no runner image)
    AnchorsBusy      another process holds the key's lock
    MeasureFailed    one baseline's grading gave no scores (the reason is stored as errored)
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.environments import grading_image_digest
from grader.instance import DEMO_ID, InstanceError, folder_sha256
from grader.integrity import with_metrics
from grader.report import Report, ReportAnchors, ReportStatus
from grader.scoring import AnchorValues, recorded_anchors, rescore
from grader.settings import Settings
from grader.spec import Assignment, Baseline

__all__ = [
    "PROVISIONAL_NOTE",
    "AnchorState",
    "Anchors",
    "AnchorsBusy",
    "AnchorsError",
    "BaselineAnchor",
    "GradeFn",
    "MeasureFailed",
    "anchors_for",
    "anchors_overview",
    "anchors_path",
    "in_process_grader",
    "measure_missing",
    "measured_scores",
    "placing",
    "rescored",
]

STALE_LOCK_SECONDS = 2 * 3600.0
PROVISIONAL_NOTE = (" Provisional: placed on the assignment's recorded baselines until this "
                    "deployment has measured its own; it will be re-scored then.")

ProgressFn = Callable[[str], None]


class AnchorsError(Exception):
    """The anchors cannot be measured here (the runner image is missing)."""


class AnchorsBusy(AnchorsError):
    """Another process is measuring these anchors (it holds their lock)."""


class MeasureFailed(Exception):
    """A baseline's grading gave no usable scores; the reason is stored with its state."""


class AnchorState(StrEnum):
    QUEUED = "queued"
    MEASURING = "measuring"
    DONE = "done"
    ERRORED = "errored"


class BaselineAnchor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state: AnchorState = AnchorState.QUEUED
    scores: dict[str, float] = Field(default_factory=dict, description="harness.metric -> value")
    reason: str = Field("", description="why it errored")
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Anchors(BaseModel):
    """The anchors of one key: every baseline's state, and the scores of those done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_id: str
    assignment_id: str
    assignment_sha256: str
    image_digest: str | None
    source: Literal["instance", "recorded"]
    baselines: dict[str, BaselineAnchor]

    @property
    def complete(self) -> bool:
        return all(b.state == AnchorState.DONE for b in self.baselines.values())

    @property
    def scores(self) -> dict[str, dict[str, float]]:
        return {name: dict(b.scores) for name, b in self.baselines.items()
                if b.state == AnchorState.DONE}

    @property
    def done(self) -> int:
        return sum(b.state == AnchorState.DONE for b in self.baselines.values())

    def summary(self) -> str:
        """One line for reviewers: measured, measuring k of n, errored (why), or recorded."""
        total = len(self.baselines)
        if self.source == "recorded":
            return "demo instance: the scores recorded in assignment.yaml"
        digest = (self.image_digest or "").removeprefix("sha256:")[:12]
        if self.complete:
            return f"measured on this instance ({total} baselines, runner image {digest})"
        errored = [f"{name}: {b.reason}" for name, b in self.baselines.items()
                   if b.state == AnchorState.ERRORED]
        if errored:
            return (f"errored ({self.done} of {total} measured; reports stay provisional): "
                    + "; ".join(errored))
        measuring = [name for name, b in self.baselines.items()
                     if b.state == AnchorState.MEASURING]
        if measuring:
            return (f"measuring {self.done + 1} of {total} ({', '.join(measuring)}); reports are "
                    "provisional until all are")
        return f"queued: {self.done} of {total} measured; reports are provisional until all are"


# --- where they live ----------------------------------------------------------------------------

def _short(digest: str | None) -> str:
    return (digest or "none").removeprefix("sha256:")[:16]


def anchors_path(settings: Settings, instance_id: str, assignment_id: str,
                 assignment_sha256: str, image_digest: str | None) -> Path:
    return (settings.data_dir / "instances" / instance_id / "anchors"
            / f"{assignment_id}-{assignment_sha256[:16]}-{_short(image_digest)}.json")


def _recorded(assignment: Assignment, sha256: str, image_digest: str | None) -> Anchors:
    return Anchors(instance_id=DEMO_ID, assignment_id=assignment.id, assignment_sha256=sha256,
                   image_digest=image_digest, source="recorded",
                   baselines={b.name: BaselineAnchor(state=AnchorState.DONE, scores=b.scores)
                              for b in assignment.baselines})


def _queued(assignment: Assignment, instance_id: str, sha256: str, image_digest: str | None
            ) -> Anchors:
    return Anchors(instance_id=instance_id, assignment_id=assignment.id,
                   assignment_sha256=sha256, image_digest=image_digest, source="instance",
                   baselines={b.name: BaselineAnchor() for b in assignment.baselines})


def _read(path: Path, fallback: Anchors) -> Anchors:
    try:
        stored = Anchors.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return fallback
    except ValidationError:
        return fallback  # a document from another version of the grader: measure again
    if set(stored.baselines) != set(fallback.baselines):
        return fallback
    return stored


def _write(path: Path, anchors: Anchors) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(anchors.model_dump_json(indent=2) + "\n")
    partial.replace(path)


def anchors_for(settings: Settings, assignment: Assignment, folder: Path,
                image_digest: str | None) -> Anchors:
    """The anchors of this deployment's instance of the assignment, as far as measured."""
    instance = settings.instance()
    sha256 = folder_sha256(folder)
    if instance.is_demo:
        return _recorded(assignment, sha256, image_digest)
    path = anchors_path(settings, instance.id, assignment.id, sha256, image_digest)
    return _read(path, _queued(assignment, instance.id, sha256, image_digest))


def anchors_overview(settings: Settings, assignment: Assignment, folder: Path) -> Anchors:
    """For pages: the latest anchors of the assignment's current content on this instance,
    whatever runner image they were measured with (no engine call)."""
    instance = settings.instance()
    sha256 = folder_sha256(folder)
    if instance.is_demo:
        return _recorded(assignment, sha256, None)
    pattern = f"{assignment.id}-{sha256[:16]}-*.json"
    found = sorted(anchors_path(settings, instance.id, assignment.id, sha256, None).parent
                   .glob(pattern), key=lambda p: p.stat().st_mtime)
    fallback = _queued(assignment, instance.id, sha256, None)
    return _read(found[-1], fallback) if found else fallback


# --- the lock -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Callable[[], None]]:
    """Hold the key's lock; yields a function that marks it fresh (call it as work goes on)."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            _take_over_if_stale(lock)
    else:
        raise AnchorsBusy(f"another process is measuring these anchors ({lock})")
    with os.fdopen(fd, "w") as file:
        file.write(f"{socket.gethostname()} {os.getpid()} {time.time():.0f}\n")
    try:
        yield lambda: os.utime(lock)
    finally:
        lock.unlink(missing_ok=True)


def _take_over_if_stale(lock: Path) -> None:
    try:
        age = time.time() - lock.stat().st_mtime
        holder = lock.read_text().split()
    except FileNotFoundError:
        return  # released meanwhile: try again
    if age < STALE_LOCK_SECONDS and not _dead_here(holder):
        raise AnchorsBusy(f"another process is measuring these anchors ({lock}, "
                          f"{age:.0f}s old)")
    # Renamed aside first: of two processes taking over, only one succeeds.
    aside = lock.with_name(f"{lock.name}.stale.{os.getpid()}")
    try:
        lock.rename(aside)
    except FileNotFoundError:
        return
    aside.unlink(missing_ok=True)


def _dead_here(holder: list[str]) -> bool:
    """Whether the lock's holder was a process of this host that is gone (killed, crashed)."""
    if len(holder) < 2 or holder[0] != socket.gethostname() or not holder[1].isdigit():
        return False
    try:
        os.kill(int(holder[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# --- measuring ----------------------------------------------------------------------------------

GradeFn = Callable[[Baseline], Mapping[str, float]]
"""Grades one baseline on the instance and returns its metrics (raises MeasureFailed)."""


def measured_scores(assignment: Assignment, report: Report) -> dict[str, float]:
    """A baseline's report as anchors: every declared metric, or MeasureFailed saying why not."""
    if report.status != ReportStatus.GRADED:
        raise MeasureFailed(report.message)
    values = {m.name: m.value for m in report.metrics}
    declared = [f"{h.name}.{m.name}" for h in assignment.harnesses for m in h.metrics]
    missing = [key for key in declared
               if values.get(key) is None or math.isnan(values[key])]  # type: ignore[arg-type]
    if missing:
        # The harness's own reason (the evaluation stopped, the build failed), said once.
        why = list(dict.fromkeys(m.reason for m in report.metrics
                                 if m.name in missing and m.reason))
        shown = "; ".join(why) or report.message.replace(PROVISIONAL_NOTE, "")
        raise MeasureFailed(f"no value for {', '.join(missing)}: {shown}")
    return {key: float(values[key]) for key in declared}  # type: ignore[arg-type]


def in_process_grader(settings: Settings, assignment: Assignment, folder: Path) -> GradeFn:
    """Grade baselines in this process, zipped as a candidate would (the foreground command)."""
    from grader.authoring import zip_folder
    from grader.environment_fit import EnvironmentUnreadable, session_preload
    from grader.pipeline import InfrastructureError, grade_zip

    instance = settings.assignment_instance(assignment, folder)

    def grade(baseline: Baseline) -> Mapping[str, float]:
        try:  # sessions import ahead as a grading's do, so baselines are timed alike
            preload = session_preload(settings, assignment, folder)
        except EnvironmentUnreadable as exc:
            raise InfrastructureError(str(exc)) from exc
        with tempfile.TemporaryDirectory(prefix="anchors-") as tmp:
            archive = zip_folder(folder / baseline.path, Path(tmp) / "submission.zip")
            report = grade_zip(assignment=assignment, folder=folder, instance=instance,
                               zip_path=archive, runner_image=settings.runner_image,
                               ceiling=settings.limits, intake=settings.intake,
                               preload=preload)
        return measured_scores(assignment, report)
    return grade


def measure_missing(settings: Settings, assignment: Assignment, folder: Path,
                    progress: ProgressFn = lambda _m: None, *, grade: GradeFn | None = None,
                    image_digest: str | None = None, retry_errored: bool = False,
                    retry_errored_after: float | None = None) -> Anchors:
    """Grade, one at a time, every baseline not yet measured on this instance; the anchors.

    Errored baselines are measured again with ``retry_errored``, or once they errored more than
    ``retry_errored_after`` seconds ago (an engine outage passes; a broken baseline errs again
    and waits as long; a changed assignment is a new key anyway). Raises AnchorsBusy when
    another process measures this key, AnchorsError when there is no runner image. ``grade``
    defaults to grading in this process (``in_process_grader``).
    """
    from grader.pipeline import InfrastructureError

    instance = settings.instance()
    sha256 = folder_sha256(folder)
    if instance.is_demo:
        return _recorded(assignment, sha256, image_digest)
    digest = image_digest or grading_image_digest(assignment, folder,
                                                  runner_image=settings.runner_image)
    if digest is None:
        raise AnchorsError(f"the runner image {settings.runner_image} is missing; "
                           "run `grader sandbox build`")
    path = anchors_path(settings, instance.id, assignment.id, sha256, digest)
    with _locked(path) as still_here:
        anchors = _read(path, _queued(assignment, instance.id, sha256, digest))
        todo = [b for b in assignment.baselines
                if _due(anchors.baselines[b.name], retry_errored, retry_errored_after)]
        if not todo:
            return anchors
        grade = grade or in_process_grader(settings, assignment, folder)
        for index, baseline in enumerate(todo, 1):
            still_here()
            progress(f"{assignment.id}: grading baseline {baseline.name} on instance "
                     f"{instance.id} ({index} of {len(todo)})")
            started = datetime.now(UTC)
            anchors = _set(anchors, baseline.name, BaselineAnchor(state=AnchorState.MEASURING,
                                                                  started_at=started))
            _write(path, anchors)
            try:
                scores = dict(grade(baseline))
                state = BaselineAnchor(state=AnchorState.DONE, scores=scores,
                                       started_at=started, finished_at=datetime.now(UTC))
            except (MeasureFailed, InfrastructureError, InstanceError) as exc:
                state = BaselineAnchor(state=AnchorState.ERRORED,
                                       reason=str(exc) or type(exc).__name__,
                                       started_at=started, finished_at=datetime.now(UTC))
            anchors = _set(anchors, baseline.name, state)
            _write(path, anchors)
            took = (state.finished_at - started).total_seconds()  # type: ignore[operator]
            progress(f"{assignment.id}: {baseline.name} {state.state.value} in {took:.0f}s"
                     + (f": {state.reason}" if state.reason else ""))
        return anchors


def _due(state: BaselineAnchor, retry_errored: bool, retry_errored_after: float | None) -> bool:
    if state.state in (AnchorState.QUEUED, AnchorState.MEASURING):
        return True  # "measuring" here, under the lock: its process died
    if state.state != AnchorState.ERRORED:
        return False
    if retry_errored:
        return True
    return (retry_errored_after is not None and state.finished_at is not None
            and (datetime.now(UTC) - state.finished_at).total_seconds() > retry_errored_after)


def _set(anchors: Anchors, name: str, state: BaselineAnchor) -> Anchors:
    return anchors.model_copy(update={"baselines": {**anchors.baselines, name: state}})


# --- placing reports on them --------------------------------------------------------------------

def placing(assignment: Assignment, *, instance_id: str, demo: bool, assignment_sha256: str,
            image_digest: str | None, anchors: Anchors | None
            ) -> tuple[dict[str, dict[str, float]], ReportAnchors]:
    """The anchor values a report on this instance is placed on, and how the report cites them:
    the instance's when complete and measured for this very key, else the recorded ones
    (provisional, unless the report is the demo's)."""
    if (anchors is not None and anchors.source == "instance" and anchors.complete
            and anchors.instance_id == instance_id
            and anchors.assignment_sha256 == assignment_sha256
            and anchors.image_digest == image_digest):
        return anchors.scores, ReportAnchors(
            source="instance", provisional=False, instance_id=instance_id,
            assignment_sha256=assignment_sha256, image_digest=image_digest)
    return recorded_anchors(assignment), ReportAnchors(
        source="recorded", provisional=not demo, instance_id=instance_id,
        assignment_sha256=assignment_sha256, image_digest=image_digest)


def rescored(report: Report, assignment: Assignment, anchors: Anchors) -> Report | None:
    """A provisional report placed again on its instance's complete anchors; None when the
    report is not provisional or these anchors are not its key's (another assignment content
    or runner image: only a re-grade can help it)."""
    cited, reproduction = report.anchors, report.reproduction
    if report.status != ReportStatus.GRADED or cited is None or not cited.provisional:
        return None
    values, now_cited = placing(
        assignment, instance_id=reproduction.instance_id, demo=reproduction.demo,
        assignment_sha256=reproduction.assignment_sha256,
        image_digest=reproduction.runner_image_digest, anchors=anchors)
    if now_cited.provisional:
        return None
    return placed_again(report, assignment, values, now_cited)


def placed_again(report: Report, assignment: Assignment, values: AnchorValues,
                 cited: ReportAnchors) -> Report:
    """``report`` placed on other anchors (``values``, cited as ``cited``), a pure function of its
    metrics and graded test results: metric components placed again, tests components keep their
    graded results (with their failure reasons), the supporting ones scaled by the new quality
    fraction; the message, each metric's anchors and the integrity findings follow."""
    # Each value carries its interval (``MetricResult.value``), placed along with it.
    metrics = {m.name: m.value for m in report.metrics}
    failures = {m.name.partition(".")[0]: m.reason for m in report.metrics if m.reason}
    card = rescore(assignment, report.components, metrics, failures=failures, anchors=values)
    message = report.message.replace(PROVISIONAL_NOTE, "")
    if report.total is not None:
        message = message.replace(f"Graded: {report.total:.1f} / 100.",
                                  f"Graded: {card.total:.1f} / 100.", 1)
    if cited.provisional:
        message += PROVISIONAL_NOTE
    metric_results = [m.model_copy(update={"baselines": {
        name: scores[m.name] for name, scores in values.items() if m.name in scores}})
        for m in report.metrics]
    update: dict[str, object] = {"total": card.total, "total_interval": card.interval,
              "components": card.components, "metrics": metric_results, "message": message,
              "anchors": cited}
    if report.integrity is not None:  # its metric findings are placed on the anchors too
        update["integrity"] = with_metrics(report.integrity, assignment, metrics, values)
    return report.model_copy(update=update)
