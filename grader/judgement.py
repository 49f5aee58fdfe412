"""Reviewer judgement, the core verbs: manual rubric scores (blind between reviewers, then their
agreement), automatic and manual points apart and combined, notes, decisions; and a cohort's
submissions with what reviewers read of each (its latest report, whether the candidate's code
failed, its standing, its judgement), as listing rows and as the CSV export's rows.

The rules, in one place:

- A reviewer scores a manual item by choosing one of its levels (``points`` must be a level the
  assignment's ``manual_rubric`` offers). Every score records who gave it and when.
- Blind scoring: a reviewer sees only their own scores until they have scored every item or ask
  to see the others' (both recorded as a reveal); then they see everyone's and the agreement.
- An item's manual points are the mean of the points the viewer can see; the manual total is their
  sum, out of the items' top levels. Combined = automatic total (out of 100) + manual total, out
  of 100 + the manual maximum, shown once graded and every item has a score.
- Notes and decisions are visible to every reviewer; a decision's history is kept.
- None of this is ever shown to candidates: their routes read only the released report fields.

Exceptions (the web layer maps each to its HTTP status in one table):

    JudgementRefused        a reviewer's request cannot be met; nothing was written
    ├── UnknownSubmission   no submission by that id
    ├── UnknownAssignment   no such assignment in the catalogue, and nobody was invited to one
    ├── UnknownItem         the assignment's manual rubric has no such item
    ├── LevelNotOffered     the item has no level worth those points
    ├── RubricUnreadable    the assignment's spec cannot be read, so neither can its rubric
    └── EmptyNote           a note with nothing in it
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import fmean
from typing import TypeVar

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from grader import webhooks
from grader.integrity import Integrity
from grader.report import Report, ReportStatus
from grader.spec import Assignment, ManualItem
from grader.stability import Stability
from grader.store import (
    Database,
    Decision,
    DecisionRecord,
    Judgement,
    ManualScore,
    ReviewRefused,
    SortKey,
    Submission,
    add_review_note,
    cohort_judgements,
    cohort_reports,
    cohort_summaries,
    decisions,
    get_submission,
    list_submissions,
    manual_reveals,
    manual_scores,
    record_decision,
    record_manual_score,
    reveal_manual_scores,
    review_notes,
)
from grader.submissions import TIME_BOX_COLUMNS

NOTE_CHARS = 5000
AUTOMATIC_MAX = 100.0

# Looks an assignment's spec up by id: None when it is not offered or its spec cannot be read.
Specs = Callable[[str], Assignment | None]


class JudgementRefused(Exception):
    """A reviewer's request cannot be met; nothing was written."""


class UnknownSubmission(JudgementRefused):
    def __init__(self, submission_id: int) -> None:
        super().__init__(f"no submission {submission_id}")


class UnknownAssignment(JudgementRefused):
    def __init__(self, assignment_id: str) -> None:
        super().__init__(f"no assignment {assignment_id!r}: it is not in the assignments folder "
                         "(or its spec is invalid) and nobody was invited to it")


class UnknownItem(JudgementRefused):
    pass


class LevelNotOffered(JudgementRefused):
    pass


class RubricUnreadable(JudgementRefused):
    pass


class EmptyNote(JudgementRefused):
    pass


# --- public shapes ------------------------------------------------------------------------------

class ManualLevelPublic(BaseModel):
    points: float
    description: str


class ManualItemPublic(BaseModel):
    id: str
    title: str
    max_points: float
    levels: list[ManualLevelPublic]


class ManualScorePublic(BaseModel):
    item_id: str
    reviewer: str = Field(description="who gave it (their email)")
    mine: bool
    points: float
    blind: bool = Field(description="given before its reviewer saw anyone else's scores of this "
                                    "submission, and not changed since")
    blind_points: float | None = Field(description="the points given blind, when they differ "
                                                   "or were never given blind: null")
    scored_at: datetime = Field(description="when first given")
    updated_at: datetime = Field(description="when last changed")


class ItemAgreement(BaseModel):
    item_id: str
    reviewers: int = Field(description="reviewers who scored this item")
    exact: bool = Field(description="every reviewer gave the same level")
    mean_abs_diff: float = Field(description="mean over pairs of reviewers of the difference "
                                             "in points")


class Agreement(BaseModel):
    """Between the reviewers whose scores the viewer sees, on items two or more of them scored."""

    reviewers: list[str]
    items_compared: int
    exact_share: float | None = Field(description="share of compared items with exact agreement")
    mean_abs_diff: float | None = Field(description="mean of the items' mean absolute "
                                                    "differences, in points")
    all_blind: bool = Field(description="every compared score was given blind and kept")
    items: list[ItemAgreement]


class PointsSummary(BaseModel):
    """Automatic and manual points, apart and combined (see ``how``)."""

    automatic: float | None = Field(description="the graded report's total, out of 100")
    automatic_max: float = 100.0
    manual: float | None = Field(description="sum over scored items of the mean of the points "
                                             "the viewer can see; null before any is scored")
    manual_max: float = Field(description="sum of the manual items' top levels")
    manual_items: int
    manual_items_scored: int
    combined: float | None = Field(description="automatic + manual, once graded and every "
                                               "manual item is scored")
    combined_max: float = Field(description="100 + manual_max")
    how: str = Field(description="how the numbers combine, in words")


class NotePublic(BaseModel):
    id: int
    reviewer: str
    body: str
    created_at: datetime


class DecisionPublic(BaseModel):
    decision: Decision
    reviewer: str
    decided_at: datetime


class JudgementPublic(BaseModel):
    """Reviewers' judgement of one submission, as the asking reviewer may see it: their own
    manual scores, everyone's once they have scored every item or asked to see them."""

    items: list[ManualItemPublic] = Field(description="the assignment's manual rubric")
    spec_error: str | None = Field(description="why the manual rubric cannot be read, if so")
    revealed: bool = Field(description="the viewer sees other reviewers' scores")
    revealed_reason: str | None = Field(description="completed (every item scored) or requested")
    mine_complete: bool = Field(description="the viewer has scored every manual item")
    other_reviewers: int = Field(description="how many other reviewers have scored (shown even "
                                             "while their scores are hidden)")
    scores: list[ManualScorePublic] = Field(description="the scores the viewer may see")
    agreement: Agreement | None = Field(description="when two or more reviewers' scores are "
                                                    "visible")
    points: PointsSummary
    decision: DecisionPublic | None = Field(description="the current decision")
    decision_history: list[DecisionPublic] = Field(description="every decision, newest first")
    notes: list[NotePublic] = Field(description="oldest first")


class Standing(BaseModel):
    """Where a submission's total stands in a listing, and whether it can be told apart from the
    others: each candidate's latest graded submission is ranked by total (1: highest), and two
    totals cannot be told apart when their 95% intervals overlap."""

    rank: int | None = Field(description="this candidate's rank by total among the listing's "
                                         "candidates; None when this is not the candidate's "
                                         "latest graded submission")
    ranked: int = Field(description="how many candidates are ranked")
    total_interval: tuple[float, float] | None = Field(
        description="the report's total interval (Report.total_interval)")
    indistinct_from: list[int] = Field(
        default_factory=list, description="the ranks whose total intervals overlap this one's: "
                                          "it cannot be told apart from them")


# --- the arithmetic -----------------------------------------------------------------------------

def visible_scores(scores: Iterable[ManualScore], *, viewer_id: int,
                   revealed: Collection[int]) -> list[ManualScore]:
    """The blind rule: everyone's scores once the viewer is revealed, else only their own."""
    if viewer_id in revealed:
        return list(scores)
    return [score for score in scores if score.reviewer_id == viewer_id]


def _is_blind(score: ManualScore) -> bool:
    return score.blind_points is not None and math.isclose(score.blind_points, score.points)


def item_points(visible: Iterable[ManualScore], items: Iterable[ManualItem]
                ) -> dict[str, float]:
    """Each scored item's manual points: the mean of the visible reviewers' points."""
    given: dict[str, list[float]] = {}
    for score in visible:
        given.setdefault(score.item_id, []).append(score.points)
    return {item.id: fmean(given[item.id]) for item in items if item.id in given}


def points_summary(*, automatic: float | None, items: list[ManualItem],
                   visible: list[ManualScore], blind: bool) -> PointsSummary:
    per_item = item_points(visible, items)
    manual_max = sum(item.max_points for item in items)
    manual = sum(per_item.values()) if per_item else None
    complete = bool(items) and len(per_item) == len(items)
    combined = automatic + manual if (automatic is not None and manual is not None
                                      and complete) else None
    how = (f"Combined = automatic total (out of {AUTOMATIC_MAX:g}) + manual total (out of "
           f"{manual_max:g}), out of {AUTOMATIC_MAX + manual_max:g}; each manual item counts "
           "the mean of the points reviewers gave it")
    how += (" (only your own scores until you have scored every item or revealed the others')."
            if blind else ".")
    if not items:
        how = f"No manual rubric: the automatic total is out of {AUTOMATIC_MAX:g}."
    return PointsSummary(automatic=automatic, manual=manual, manual_max=manual_max,
                         manual_items=len(items), manual_items_scored=len(per_item),
                         combined=combined, combined_max=AUTOMATIC_MAX + manual_max, how=how)


def agreement(visible: list[ManualScore], items: list[ManualItem]) -> Agreement | None:
    """Exact agreement share and mean absolute difference over items 2+ reviewers scored."""
    reviewers = sorted({score.reviewer.email for score in visible})
    if len(reviewers) < 2:
        return None
    by_item: dict[str, list[ManualScore]] = {}
    for score in visible:
        by_item.setdefault(score.item_id, []).append(score)
    compared: list[ItemAgreement] = []
    used: list[ManualScore] = []
    for item in items:
        given = by_item.get(item.id, [])
        if len(given) < 2:
            continue
        used += given
        values = [score.points for score in given]
        differences = [abs(a - b) for a, b in itertools.combinations(values, 2)]
        compared.append(ItemAgreement(item_id=item.id, reviewers=len(given),
                                      exact=max(values) - min(values) < 1e-9,
                                      mean_abs_diff=round(fmean(differences), 4)))
    return Agreement(
        reviewers=reviewers, items_compared=len(compared),
        exact_share=round(fmean(c.exact for c in compared), 4) if compared else None,
        mean_abs_diff=round(fmean(c.mean_abs_diff for c in compared), 4) if compared else None,
        all_blind=bool(used) and all(_is_blind(score) for score in used), items=compared)


# --- one submission's judgement -----------------------------------------------------------------

def manual_rubric(assignment: Assignment | None) -> tuple[list[ManualItem], str | None]:
    """The assignment's manual items, or none and why."""
    if assignment is None:
        return [], ("the assignment's spec cannot be read, so its manual rubric is unknown; "
                    "scores already given are kept")
    return list(assignment.manual_rubric), None


def require_submission(session: Session, submission_id: int) -> Submission:
    submission = get_submission(session, submission_id)
    if submission is None:
        raise UnknownSubmission(submission_id)
    return submission


def require_assignment(session: Session, assignment_id: str, *, offered: bool) -> None:
    """Refuse an assignment that is neither ``offered`` (in the catalogue) nor invited to: its
    listings would be empty for want of an assignment, not of submissions."""
    if not offered and not any(s.assignment_id == assignment_id
                               for s in cohort_summaries(session)):
        raise UnknownAssignment(assignment_id)


def _decision(record: DecisionRecord) -> DecisionPublic:
    return DecisionPublic(decision=Decision(record.decision), reviewer=record.reviewer.email,
                          decided_at=record.created_at)


def judgement_view(session: Session, submission: Submission, assignment: Assignment | None, *,
                   viewer_id: int) -> JudgementPublic:
    """One submission's judgement as ``viewer_id`` may see it (``assignment``: its spec)."""
    items, spec_error = manual_rubric(assignment)
    scores = manual_scores(session, submission.id)
    reveals = manual_reveals(session, submission.id)
    reveal = reveals.get(viewer_id)
    visible = visible_scores(scores, viewer_id=viewer_id, revealed=reveals)
    mine = {score.item_id for score in scores if score.reviewer_id == viewer_id}
    history = decisions(session, submission.id)
    return JudgementPublic(
        items=[ManualItemPublic(id=item.id, title=item.title, max_points=item.max_points,
                                levels=[ManualLevelPublic(points=level.points,
                                                          description=level.description)
                                        for level in item.levels]) for item in items],
        spec_error=spec_error, revealed=reveal is not None,
        revealed_reason=reveal.reason if reveal else None,
        mine_complete=bool(items) and {item.id for item in items} <= mine,
        other_reviewers=len({s.reviewer_id for s in scores if s.reviewer_id != viewer_id}),
        scores=[ManualScorePublic(item_id=s.item_id, reviewer=s.reviewer.email,
                                  mine=s.reviewer_id == viewer_id, points=s.points,
                                  blind=_is_blind(s),
                                  blind_points=None if _is_blind(s) else s.blind_points,
                                  scored_at=s.created_at, updated_at=s.updated_at)
                for s in visible],
        agreement=agreement(visible, items),
        points=points_summary(automatic=submission.total, items=items, visible=visible,
                              blind=reveal is None),
        decision=_decision(history[0]) if history else None,
        decision_history=[_decision(record) for record in history],
        notes=[NotePublic(id=n.id, reviewer=n.reviewer.email, body=n.body,
                          created_at=n.created_at) for n in review_notes(session,
                                                                         submission.id)])


def submission_judgement(db: Database, specs: Specs, *, viewer_id: int, submission_id: int
                         ) -> JudgementPublic:
    """The judgement of a submission as it now stands, read in a transaction of its own."""
    with db.read() as session:
        submission = require_submission(session, submission_id)
        return judgement_view(session, submission, specs(submission.assignment_id),
                              viewer_id=viewer_id)


# --- verbs --------------------------------------------------------------------------------------

def score_item(db: Database, specs: Specs, *, viewer_id: int, submission_id: int, item_id: str,
               points: float) -> JudgementPublic:
    """Record the viewer's level for one manual item; scoring the last one reveals the others'."""
    with db.read() as session:
        assignment_id = require_submission(session, submission_id).assignment_id
    items, spec_error = manual_rubric(specs(assignment_id))
    if spec_error:
        raise RubricUnreadable(spec_error)
    item = next((item for item in items if item.id == item_id), None)
    if item is None:
        declared = ", ".join(i.id for i in items) or "none"
        raise UnknownItem(f"no manual rubric item {item_id!r}; declared: {declared}")
    level = item.level(points)
    if level is None:
        offered = ", ".join(f"{lvl.points:g}" for lvl in item.levels)
        raise LevelNotOffered(f"{points:g} is not a level of {item_id!r}; it offers {offered}")
    with _refused_as_unknown(submission_id):
        record_manual_score(db, submission_id=submission_id, reviewer_id=viewer_id,
                            item_id=item.id, points=level.points, item_ids=[i.id for i in items])
    return submission_judgement(db, specs, viewer_id=viewer_id, submission_id=submission_id)


def reveal(db: Database, specs: Specs, *, viewer_id: int, submission_id: int
           ) -> JudgementPublic:
    """Show the viewer the other reviewers' scores now (their own stay as they are)."""
    with _refused_as_unknown(submission_id):
        reveal_manual_scores(db, submission_id=submission_id, reviewer_id=viewer_id)
    return submission_judgement(db, specs, viewer_id=viewer_id, submission_id=submission_id)


def add_note(db: Database, specs: Specs, *, viewer_id: int, submission_id: int, body: str
             ) -> JudgementPublic:
    """A note for the other reviewers, trimmed, at most ``NOTE_CHARS`` long."""
    text = body.strip()
    if not text:
        raise EmptyNote("the note is empty")
    with _refused_as_unknown(submission_id):
        add_review_note(db, submission_id=submission_id, reviewer_id=viewer_id,
                        body=text[:NOTE_CHARS])
    return submission_judgement(db, specs, viewer_id=viewer_id, submission_id=submission_id)


def decide(db: Database, specs: Specs, *, viewer_id: int, submission_id: int,
           decision: Decision) -> JudgementPublic:
    """The submission's new decision; earlier ones stay in its history."""
    with _refused_as_unknown(submission_id):
        record = record_decision(db, submission_id=submission_id, reviewer_id=viewer_id,
                                 decision=decision)
    webhooks.decision_made(db, submission_id, record.id)
    return submission_judgement(db, specs, viewer_id=viewer_id, submission_id=submission_id)


@contextmanager
def _refused_as_unknown(submission_id: int) -> Iterator[None]:
    """The store refuses a write only for want of its submission (removed since it was read)."""
    try:
        yield
    except ReviewRefused as exc:
        raise UnknownSubmission(submission_id) from exc


# --- a cohort -----------------------------------------------------------------------------------

def code_failure(report: Report | None) -> str | None:
    """How the candidate's code failed in a graded report (``Report.failure``'s summary), or
    None when it ran. A crash and a weak model can both score near 0; only this tells them
    apart."""
    if report is None or report.failure is None:
        return None
    return report.failure.summary


@dataclass(frozen=True)
class CohortEntry:
    """One submission of a listing with what reviewers read of it."""

    submission: Submission
    report: Report | None
    stability: Stability | None
    standing: Standing | None
    judgement: Judgement
    failure: str | None


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _ranked(report: Report | None) -> bool:
    return report is not None and report.status == ReportStatus.GRADED and report.total is not None


def standings(graded: Sequence[tuple[Submission, Report | None]]) -> dict[int, Standing]:
    """Each graded submission's standing: every candidate's latest graded submission ranked by
    total (ties by submission id), with the ranks whose total intervals overlap its own."""
    latest: dict[int, tuple[Submission, Report]] = {}
    for submission, report in graded:
        if report is None or not _ranked(report):
            continue
        held = latest.get(submission.invite_id)
        if held is None or submission.id > held[0].id:
            latest[submission.invite_id] = (submission, report)
    ranked = sorted(latest.values(), key=lambda pair: (-(pair[1].total or 0.0), pair[0].id))
    rank_of = {submission.id: rank for rank, (submission, _) in enumerate(ranked, 1)}
    found = {}
    for submission, report in graded:
        if report is None or not _ranked(report):
            continue
        rank, mine = rank_of.get(submission.id), report.total_interval
        apart = [] if rank is None or mine is None else [
            other for other, (_, theirs) in enumerate(ranked, 1)
            if other != rank and theirs.total_interval is not None
            and _overlap(mine, theirs.total_interval)]
        found[submission.id] = Standing(rank=rank, ranked=len(ranked), total_interval=mine,
                                        indistinct_from=apart)
    return found


def cohort(session: Session, assignment_id: str, cohort_name: str | None, *,
           sort: SortKey = SortKey.DATE, descending: bool = True) -> list[CohortEntry]:
    """An assignment's submissions (one cohort, or all) in the order asked, each with its latest
    report and stability, standing, judgement and code failure: six queries, whatever the
    cohort's size."""
    submissions = list_submissions(session, assignment_id=assignment_id, cohort=cohort_name,
                                   sort=sort, descending=descending)
    latest = cohort_reports(session, assignment_id, cohort_name)
    judged = cohort_judgements(session, assignment_id, cohort_name)
    reports = {s.id: latest[s.id].report if s.id in latest else None for s in submissions}
    placed = standings([(s, reports[s.id]) for s in submissions])
    entries = []
    for s in submissions:
        stored = latest.get(s.id)
        entries.append(CohortEntry(
            submission=s, report=reports[s.id],
            stability=(Stability.model_validate_json(stored.stability)
                       if stored is not None and stored.stability is not None else None),
            standing=placed.get(s.id), judgement=judged.get(s.id, Judgement()),
            failure=code_failure(reports[s.id])))
    return entries


# --- the CSV export -----------------------------------------------------------------------------

def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _when(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with its zone; the store's columns hold naive UTC."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            ).isoformat()


def _flag(value: bool) -> str:
    return str(value).lower()


@dataclass(frozen=True)
class _Line:
    """One entry and its manual points as the downloading reviewer may see them."""

    entry: CohortEntry
    manual: dict[str, float]
    points: PointsSummary

    @property
    def submission(self) -> Submission:
        return self.entry.submission

    @property
    def interval(self) -> tuple[float, float] | None:
        standing = self.entry.standing
        return standing.total_interval if standing is not None else None


_Part = TypeVar("_Part")


def _of(part: Callable[[_Line], _Part | None], read: Callable[[_Part], object]
        ) -> Callable[[_Line], object]:
    """A cell read from an optional part of a line (its report, decision, ...); empty without."""
    def cell(line: _Line) -> object:
        found = part(line)
        return read(found) if found is not None else None
    return cell


def _columns(components: list[str], metrics: list[str], items: list[ManualItem]
             ) -> list[tuple[str, Callable[[_Line], object]]]:
    """Every column of the export, in order: its name and how a line gives its cell (None: an
    empty cell). A new column is one more pair here."""
    def report(line: _Line) -> Report | None:
        return line.entry.report

    def component(name: str) -> Callable[[_Line], object]:
        return _of(report, lambda found: next((_num(c.points) for c in found.components
                                                if c.id == name), None))

    def metric(name: str) -> Callable[[_Line], object]:
        return _of(report, lambda found: next((_num(m.value) for m in found.metrics
                                                if m.name == name), None))

    def manual(item_id: str) -> Callable[[_Line], object]:
        return lambda line: _num(line.manual.get(item_id))

    def tests(line: _Line) -> list:
        found = report(line)
        return found.hidden_tests if found else []

    def decision(line: _Line) -> DecisionRecord | None:
        return line.entry.judgement.decision

    def integrity(line: _Line) -> Integrity | None:
        found = report(line)
        return found.integrity if found else None

    def stability(line: _Line) -> Stability | None:
        return line.entry.stability

    def standing(line: _Line) -> Standing | None:
        return line.entry.standing

    return [
        ("submission_id", lambda line: line.submission.id),
        ("label", lambda line: _cell(line.submission.invite.label)),
        ("cohort", lambda line: _cell(line.submission.cohort)),
        ("status", lambda line: line.submission.status),
        ("failure", lambda line: _cell(line.entry.failure or "")),
        ("total", lambda line: _num(line.submission.total)),
        ("total_low", lambda line: _num(line.interval[0]) if line.interval else None),
        ("total_high", lambda line: _num(line.interval[1]) if line.interval else None),
        ("rank", _of(standing, lambda found: found.rank)),
        ("indistinct_from", _of(standing, lambda found: "; ".join(
            str(rank) for rank in found.indistinct_from))),
        *[(f"points.{c}", component(c)) for c in components],
        *[(f"metric.{m}", metric(m)) for m in metrics],
        ("hidden_tests_passed", lambda line: sum(t.outcome == "passed" for t in tests(line))),
        ("hidden_tests_total", lambda line: len(tests(line))),
        *[(f"manual.{item.id}", manual(item.id)) for item in items],
        ("manual_points", lambda line: _num(line.points.manual)),
        ("manual_max", lambda line: _num(line.points.manual_max) if items else None),
        ("combined", lambda line: _num(line.points.combined)),
        ("combined_max", lambda line: _num(line.points.combined_max) if items else None),
        ("decision", _of(decision, lambda found: found.decision)),
        ("decided_by", _of(decision, lambda found: _cell(found.reviewer.email))),
        ("decided_at", _of(decision, lambda found: _when(found.created_at))),
        ("notes_count", lambda line: line.entry.judgement.notes),
        ("integrity_flagged", _of(integrity, lambda found: _flag(found.flagged))),
        ("integrity_findings", _of(integrity, lambda found: found.findings)),
        ("nondeterministic", _of(stability, lambda found: _flag(found.nondeterministic))),
        ("moved_metrics", _of(stability, lambda found: "; ".join(
            f"{m.name} {m.old!r} -> {m.new!r}" for m in found.moved))),
        ("sha256", lambda line: line.submission.sha256),
        ("submitted_at", lambda line: _when(line.submission.created_at)),
        ("graded_at", lambda line: _when(line.submission.graded_at)),
        *[(name, lambda line, cell=cell: cell(line.submission))
          for name, cell in TIME_BOX_COLUMNS],
    ]


def csv_rows(entries: Sequence[CohortEntry], *, items: list[ManualItem], viewer_id: int
             ) -> list[list[str]]:
    """The export's header, then one row per entry. Manual points follow the blind rule for
    ``viewer_id``: on a submission they have not finished scoring (or revealed), only their own
    scores count."""
    reports = [e.report for e in entries if e.report is not None]
    columns = _columns(sorted({c.id for r in reports for c in r.components}),
                       sorted({m.name for r in reports for m in r.metrics}), items)
    rows: list[list[str]] = [[name for name, _ in columns]]
    for entry in entries:
        visible = visible_scores(entry.judgement.scores, viewer_id=viewer_id,
                                 revealed=entry.judgement.revealed)
        line = _Line(entry, item_points(visible, items), points_summary(
            automatic=entry.submission.total, items=items, visible=visible,
            blind=viewer_id not in entry.judgement.revealed))
        rows.append([_text(cell(line)) for _, cell in columns])
    return rows


def _text(value: object) -> str:
    return "" if value is None else str(value)
