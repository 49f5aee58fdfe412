"""Stability you can see: whether a re-grade moved a quality metric, and what a new version of an
assignment moves in the stored reports.

**Nondeterminism.** One submission graded twice on the same assignment content, instance and
runner image must give the same quality metrics (CPU-only, seeded, fixed thread counts). When the
worker stores a report, ``compare`` sets it beside the submission's earlier graded reports of the
same key (``reproduction.assignment_sha256``, ``instance_id`` and ``runner_image_digest``). A
quality metric that differs from any of them by more than a relative ``REL_TOLERANCE`` flags the
new report nondeterministic, naming each metric that moved with its old and new value. Timings
are set aside: metrics named like a time or a size (``_ms``, ``_seconds``, ``_mib`` ...) and any
the rubric gives the latency role. The result is stored beside the report
(``reports.stability``); reviewers see it on the report and cohort pages, in their JSON and in
the cohort CSV.

**Re-scoring.** ``rescore_assignment`` places every stored graded report of an assignment on the
assignment's current rubric and anchors and says, per report, what moved and why; it writes only
when asked. A report graded on other content (another version) is re-placed only when its metrics
demonstrably still hold: the report has a value for every metric the rubric places and results for
every hidden suite it scores, and the baselines it was placed between score the same now (timings
aside) as they did then, on the same kind of anchors (recorded, or measured on its instance).
Otherwise it needs a re-grade. A report is never moved from its instance's measured anchors back
onto provisional ones, and a report of another instance is left alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from grader.anchors import Anchors, anchors_for, placed_again, placing
from grader.authoring import AssignmentNotFound, find_assignment
from grader.instance import folder_sha256
from grader.report import Report, ReportStatus
from grader.scoring import ComponentScore, recorded_anchors
from grader.settings import Settings
from grader.spec import SUPPORTING_SUFFIXES, Assignment, SpecError
from grader.store import Database, StoredGrading, replace_graded_reports

__all__ = [
    "REL_TOLERANCE",
    "ComponentChange",
    "MovedMetric",
    "Rescore",
    "RescoreRow",
    "RescoreState",
    "Stability",
    "compare",
    "comparer",
    "is_timing",
    "latency_metrics",
    "moved_metrics",
    "rescore_assignment",
    "rescore_report",
    "same_key",
]

# Host measurements of time or size (as in ``grader.spec``, whose rubric makes them supporting).
REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-12  # values at zero: a relative tolerance alone would demand exact zeros
POINTS_TOLERANCE = 0.005  # points are rounded to 2 places


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- nondeterminism -----------------------------------------------------------------------------

class MovedMetric(_Model):
    name: str = Field(description="harness.metric")
    old: float | None = Field(description="in the earlier grading (None: no value)")
    new: float | None = Field(description="in this grading")


class Stability(_Model):
    """A graded report set beside the submission's earlier gradings of the same key."""

    nondeterministic: bool = Field(description="a quality metric differs from an earlier grading "
                                               "of the same assignment content, instance and "
                                               "runner image")
    compared: int = Field(description="earlier graded reports of the same key compared with")
    against_report: int = Field(description="the stored report compared with: the latest one "
                                            "that differs when some do, else the latest")
    against_graded_at: datetime
    moved: list[MovedMetric] = Field(description="the quality metrics that moved, against "
                                                 "``against_report``")
    timings: list[str] = Field(description="metrics set aside as timings")
    message: str


def is_timing(name: str, latency: Collection[str] = ()) -> bool:
    """Whether a metric measures time or size on the host (set aside when comparing gradings)."""
    return name in latency or name.rpartition(".")[2].endswith(SUPPORTING_SUFFIXES)


def latency_metrics(assignment: Assignment) -> frozenset[str]:
    """The metrics the assignment gives the latency role (a rubric component's or a metric's
    ``role``), whatever their names."""
    found = {c.metric for c in assignment.rubric
             if c.metric is not None and getattr(c, "role", None) == "latency"}
    found |= {f"{h.name}.{m.name}" for h in assignment.harnesses for m in h.metrics
              if getattr(m, "role", None) == "latency"}
    return frozenset(found)


def same_key(a: Report, b: Report) -> bool:
    """Graded on the same assignment content, instance and runner image."""
    x, y = a.reproduction, b.reproduction
    return (x.assignment_sha256 == y.assignment_sha256 and x.instance_id == y.instance_id
            and x.runner_image_digest == y.runner_image_digest)


def _same(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) and math.isnan(new)
    return math.isclose(old, new, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)


def moved_metrics(old: Report, new: Report, latency: Collection[str] = ()) -> list[MovedMetric]:
    """The quality metrics (timings aside) whose values differ between two reports."""
    before = {m.name: m.value for m in old.metrics}
    after = {m.name: m.value for m in new.metrics}
    names = list(after) + [name for name in before if name not in after]
    return [MovedMetric(name=name, old=before.get(name), new=after.get(name))
            for name in names
            if not is_timing(name, latency) and not _same(before.get(name), after.get(name))]


def _pair(old: float | None, new: float | None) -> str:
    """Both values with as many digits as it takes to tell them apart."""
    if old is None or new is None:
        return " → ".join("none" if v is None else f"{v:.6g}" for v in (old, new))
    for digits in range(6, 18):
        shown = f"{old:.{digits}g}", f"{new:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return f"{shown[0]} → {shown[1]}"


def compare(new: Report, earlier: Sequence[tuple[int, Report]], *,
            latency: Collection[str] = ()) -> Stability | None:
    """``new`` set beside the earlier gradings of its submission (``(stored report id, report)``,
    newest first); None when it is not graded or none of them shares its key."""
    if new.status != ReportStatus.GRADED:
        return None
    same = [(report_id, old) for report_id, old in earlier
            if old.status == ReportStatus.GRADED and same_key(old, new)]
    if not same:
        return None
    timings = sorted({m.name for m in new.metrics if is_timing(m.name, latency)})
    against, moved = same[0], []
    for report_id, old in same:
        moved = moved_metrics(old, new, latency)
        if moved:
            against = (report_id, old)
            break
    when = against[1].graded_at.strftime("%Y-%m-%d %H:%M UTC")
    aside = f" (timings set aside: {', '.join(timings)})" if timings else ""
    if moved:
        message = (f"Nondeterministic: {len(moved)} quality metric"
                   f"{'s' if len(moved) != 1 else ''} moved since the grading of {when} "
                   f"(report {against[0]}) on the same assignment content, instance and runner "
                   "image: " + "; ".join(f"{m.name} {_pair(m.old, m.new)}" for m in moved) + aside)
    else:
        message = (f"Stable: the quality metrics match {len(same)} earlier grading"
                   f"{'s' if len(same) != 1 else ''} on the same assignment content, instance "
                   f"and runner image{aside}.")
    return Stability(nondeterministic=bool(moved), compared=len(same), against_report=against[0],
                     against_graded_at=against[1].graded_at, moved=moved, timings=timings,
                     message=message)


def comparer(settings: Settings, assignment_id: str
             ) -> Callable[[Report, Sequence[tuple[int, Report]]], Stability | None]:
    """``compare`` with the assignment's latency metrics set aside (the worker's, when storing)."""
    try:
        assignment, _ = find_assignment(settings.assignments_dir, assignment_id,
                                        ceiling=settings.limits)
        latency = latency_metrics(assignment)
    except (AssignmentNotFound, SpecError):
        latency = frozenset()  # timings are still known by their names
    return functools.partial(compare, latency=latency)


# --- re-scoring ---------------------------------------------------------------------------------

class RescoreState(StrEnum):
    MOVED = "moved"
    UNCHANGED = "unchanged"
    NEEDS_REGRADE = "needs_regrade"
    NOT_PLACED = "not_placed"


class ComponentChange(_Model):
    id: str
    title: str
    old: float | None = Field(description="points before (None: not in the report)")
    new: float | None = Field(description="points now (None: not in the rubric any more)")


class RescoreRow(_Model):
    submission_id: int
    report_id: int
    label: str
    cohort: str
    latest: bool = Field(description="the submission's latest report (its total is the "
                                     "submission's)")
    graded_at: datetime
    assignment_version: str = Field(description="the version the report was graded on")
    old_total: float | None
    new_total: float | None = Field(description="None when not re-placed")
    state: RescoreState
    changes: list[ComponentChange]
    why: str


class Rescore(_Model):
    assignment_id: str
    assignment_version: str
    assignment_sha256: str
    applied: bool = Field(description="the re-placed reports were written")
    written: int = Field(description="stored reports replaced: those that moved, and those "
                                     "that now cite other anchors though no component moved")
    rows: list[RescoreRow]

    def count(self, state: RescoreState) -> int:
        return sum(row.state == state for row in self.rows)


@dataclass(frozen=True)
class Placed:
    """What re-placing one report gives: the report (None when it cannot be re-placed), its
    state, the components that moved and why, in words."""

    report: Report | None
    state: RescoreState
    changes: list[ComponentChange]
    why: str


def _num(value: float) -> str:
    return f"{value:.4g}"


def _evaluation_moved(report: Report, baselines: Mapping[str, Mapping[str, float]],
                      latency: Collection[str]) -> tuple[list[str], int]:
    """The baselines' quality metrics that score otherwise now than when the report was placed
    on them, and how many (baseline, metric) pairs could be compared."""
    moved, compared = [], 0
    for metric in report.metrics:
        if is_timing(metric.name, latency):
            continue
        for baseline, then in metric.baselines.items():
            now = baselines.get(baseline, {}).get(metric.name)
            if now is None:
                continue
            compared += 1
            if not _same(then, now):
                moved.append(f"{baseline} {metric.name} {_pair(then, now)}")
    return moved, compared


def _changes(old: Sequence[ComponentScore], new: Sequence[ComponentScore]
             ) -> list[ComponentChange]:
    before, after = {c.id: c for c in old}, {c.id: c for c in new}
    changes = []
    for cid in list(after) + [cid for cid in before if cid not in after]:
        was, now = before.get(cid), after.get(cid)
        if was is not None and now is not None and abs(was.points - now.points) < POINTS_TOLERANCE:
            continue
        changes.append(ComponentChange(id=cid, title=(now or was).title,  # type: ignore[union-attr]
                                       old=was.points if was else None,
                                       new=now.points if now else None))
    return changes


def _described(change: ComponentChange) -> str:
    if change.old is None:
        return f"{change.title}: new component, {change.new:.2f}"
    if change.new is None:
        return f"{change.title}: no longer in the rubric (was {change.old:.2f})"
    return f"{change.title} {change.new - change.old:+.2f} ({change.old:.2f} → {change.new:.2f})"


def rescore_report(report: Report, assignment: Assignment, *, assignment_sha256: str,
                   anchors: Anchors | None, latency: Collection[str] = ()) -> Placed:
    """One graded report placed on the assignment's current rubric and anchors (pure).

    ``assignment_sha256`` is the assignment's current content hash; ``anchors`` the report's
    instance's anchors for that content and the report's runner image (None on the demo
    instance, or when unknown: then it is placed on the recorded scores, provisionally unless
    the report is the demo's)."""
    rep, cited = report.reproduction, report.anchors
    values, now_cited = placing(assignment, instance_id=rep.instance_id, demo=rep.demo,
                                assignment_sha256=assignment_sha256,
                                image_digest=rep.runner_image_digest, anchors=anchors)
    if now_cited.provisional and cited is not None and not cited.provisional:
        return Placed(None, RescoreState.NOT_PLACED, [],
                      "this instance's anchors for the current content and its runner image are "
                      "not all measured yet (`grader assignment anchors "
                      f"{assignment.id}`); kept on the anchors it was placed on")
    prefix = ""
    if rep.assignment_sha256 != assignment_sha256:
        change = (f"version {rep.assignment_version} → {assignment.version}"
                  if rep.assignment_version != assignment.version else
                  f"version {assignment.version}, other files")
        have = {m.name for m in report.metrics}
        graded = {c.id for c in report.components}
        # A tests component keeps its graded result, found by its id.
        lacking = ([c.metric for c in assignment.rubric if c.metric and c.metric not in have]
                   + [f"the {c.tests} tests ({c.id})" for c in assignment.rubric
                      if c.tests and c.id not in graded])
        if lacking:
            return Placed(None, RescoreState.NEEDS_REGRADE, [],
                          f"content changed: needs a re-grade ({change}; the rubric scores "
                          f"{', '.join(lacking)}, which this report has no result for)")
        # Its metrics still hold when the baselines it was placed between score the same under
        # the new content, on the same kind of anchors as then.
        measured_then = cited is not None and cited.source == "instance"
        if measured_then and now_cited.source != "instance":
            return Placed(None, RescoreState.NOT_PLACED, [],
                          f"content changed ({change}) and this instance's anchors for it are "
                          f"not all measured yet (`grader assignment anchors {assignment.id}`): "
                          "whether its metrics still hold is not known")
        reference = values if measured_then else recorded_anchors(assignment)
        moved, compared = _evaluation_moved(report, reference, latency)
        if moved or not compared:
            shown = ("its baselines score otherwise now: " + "; ".join(moved[:3])
                     + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
                     if moved else "no baseline it was placed on is scored under both versions")
            return Placed(None, RescoreState.NEEDS_REGRADE, [],
                          f"content changed: needs a re-grade ({change}; {shown})")
        prefix = (f"content changed ({change}), its metrics hold: the baselines score the same "
                  f"({compared} values compared); ")

    placed = placed_again(report, assignment, values, now_cited)
    components, total = placed.components, placed.total

    changes = _changes(report.components, components)
    shifted = (bool(changes) or report.total is None or total is None
               or abs(report.total - total) >= POINTS_TOLERANCE)
    if cited is None or (cited.source, cited.provisional) != (now_cited.source,
                                                               now_cited.provisional):
        anchored = ("placed on this instance's measured anchors" if now_cited.source == "instance"
                    else "placed on the recorded anchors"
                    + (" (provisional)" if now_cited.provisional else ""))
        prefix += f"{anchored}; "
    if shifted:
        why = prefix + ("; ".join(_described(c) for c in changes) or "rounding")
    else:
        why = prefix + "no component moved"
    return Placed(placed, RescoreState.MOVED if shifted else RescoreState.UNCHANGED, changes, why)


def rescore_assignment(*, settings: Settings, db: Database, assignment: Assignment, folder: Path,
                       apply: bool = False) -> Rescore:
    """Every stored graded report of the assignment placed on its current rubric and anchors,
    with what moved and why; written (reports and submissions' totals) only with ``apply``."""
    sha256 = folder_sha256(folder)
    instance = settings.instance()
    latency = latency_metrics(assignment)
    anchors: dict[str | None, Anchors] = {}
    rows: list[RescoreRow] = []

    def replace(stored: StoredGrading) -> Report | None:
        report, rep = stored.report, stored.report.reproduction
        if not rep.demo and rep.instance_id != instance.id:
            placed = Placed(None, RescoreState.NOT_PLACED, [],
                            f"graded on instance {rep.instance_id}; this deployment grades on "
                            f"{instance.id}, whose anchors cannot place it")
        else:
            found = None
            if not rep.demo:
                digest = rep.runner_image_digest
                if digest not in anchors:
                    anchors[digest] = anchors_for(settings, assignment, folder, digest)
                found = anchors[digest]
            placed = rescore_report(report, assignment, assignment_sha256=sha256,
                                    anchors=found, latency=latency)
        rows.append(RescoreRow(
            submission_id=stored.submission_id, report_id=stored.report_id, label=stored.label,
            cohort=stored.cohort, latest=stored.latest, graded_at=report.graded_at,
            assignment_version=rep.assignment_version, old_total=report.total,
            new_total=placed.report.total if placed.report is not None else None,
            state=placed.state, changes=placed.changes, why=placed.why))
        if placed.report is None or placed.report == report:
            return None
        return placed.report

    written = replace_graded_reports(db, assignment.id, replace, write=apply)
    return Rescore(assignment_id=assignment.id, assignment_version=assignment.version,
                   assignment_sha256=sha256, applied=apply, written=written if apply else 0,
                   rows=sorted(rows, key=lambda r: (r.submission_id, r.report_id)))
