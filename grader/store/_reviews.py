"""Reviewer judgement: manual rubric scores, who sees whose, notes and decisions.

Blind scoring: a reviewer sees only their own manual scores of a submission until a reveal is
recorded for them (``manual_reveals``): when they have scored every manual item, or when they ask.
``blind_points`` keeps the points a reviewer gave before their reveal, so a score changed after
seeing the others' stays recognisable. Writes lock the submission's row (FOR UPDATE on
PostgreSQL; SQLite's write transaction holds the database lock), so "every item scored, so reveal"
is decided once, however many requests race.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from grader.report import Report
from grader.store._engine import Database
from grader.store._models import (
    Decision,
    DecisionRecord,
    ManualReveal,
    ManualScore,
    RevealReason,
    ReviewNote,
    StoredReport,
    Submission,
    utcnow,
)


class ReviewRefused(Exception):
    """A reviewer's judgement could not be recorded (the submission does not exist)."""


def _lock_submission(session: Session, submission_id: int) -> None:
    # The id column only: the row's joined invite would put FOR UPDATE on an outer join.
    found = session.scalar(select(Submission.id).where(Submission.id == submission_id)
                           .with_for_update())
    if found is None:
        raise ReviewRefused(f"no submission {submission_id}")


def record_manual_score(db: Database, *, submission_id: int, reviewer_id: int, item_id: str,
                        points: float, item_ids: Collection[str]) -> ManualScore:
    """Set a reviewer's points for one manual item (validated by the caller against the spec).

    Once the reviewer has scored every item of ``item_ids`` (the assignment's manual rubric),
    a reveal is recorded for them: from then on they see the other reviewers' scores.
    """
    with db.write() as session:
        _lock_submission(session, submission_id)
        revealed = session.get(ManualReveal, (submission_id, reviewer_id)) is not None
        now = utcnow()
        score = session.scalars(select(ManualScore).where(
            ManualScore.submission_id == submission_id, ManualScore.reviewer_id == reviewer_id,
            ManualScore.item_id == item_id)).first()
        if score is None:
            score = ManualScore(submission_id=submission_id, reviewer_id=reviewer_id,
                                item_id=item_id, points=points,
                                blind_points=None if revealed else points, created_at=now,
                                updated_at=now)
            session.add(score)
        else:
            score.points = points
            score.updated_at = now
            if not revealed:
                score.blind_points = points
        session.flush()
        if not revealed and item_ids:
            scored = set(session.scalars(select(ManualScore.item_id).where(
                ManualScore.submission_id == submission_id,
                ManualScore.reviewer_id == reviewer_id)))
            if set(item_ids) <= scored:
                session.add(ManualReveal(submission_id=submission_id, reviewer_id=reviewer_id,
                                         reason=RevealReason.COMPLETED, revealed_at=now))
        return score


def reveal_manual_scores(db: Database, *, submission_id: int, reviewer_id: int) -> bool:
    """Let a reviewer see the other reviewers' scores now; False if they already could."""
    with db.write() as session:
        _lock_submission(session, submission_id)
        if session.get(ManualReveal, (submission_id, reviewer_id)) is not None:
            return False
        session.add(ManualReveal(submission_id=submission_id, reviewer_id=reviewer_id,
                                 reason=RevealReason.REQUESTED, revealed_at=utcnow()))
        return True


def manual_scores(session: Session, submission_id: int) -> list[ManualScore]:
    """Every reviewer's manual scores of a submission (the caller applies the blind rule)."""
    return list(session.scalars(select(ManualScore)
                                .where(ManualScore.submission_id == submission_id)
                                .order_by(ManualScore.item_id, ManualScore.reviewer_id)))


def manual_reveals(session: Session, submission_id: int) -> dict[int, ManualReveal]:
    """Reveals of a submission, by reviewer id."""
    return {reveal.reviewer_id: reveal for reveal in session.scalars(
        select(ManualReveal).where(ManualReveal.submission_id == submission_id))}


def add_review_note(db: Database, *, submission_id: int, reviewer_id: int, body: str
                    ) -> ReviewNote:
    with db.write() as session:
        _lock_submission(session, submission_id)
        note = ReviewNote(submission_id=submission_id, reviewer_id=reviewer_id, body=body,
                          created_at=utcnow())
        session.add(note)
        session.flush()
        return note


def review_notes(session: Session, submission_id: int) -> list[ReviewNote]:
    """A submission's notes, oldest first."""
    return list(session.scalars(select(ReviewNote)
                                .where(ReviewNote.submission_id == submission_id)
                                .order_by(ReviewNote.created_at, ReviewNote.id)))


def record_decision(db: Database, *, submission_id: int, reviewer_id: int, decision: Decision
                    ) -> DecisionRecord:
    """A new decision; earlier ones are kept as its history."""
    with db.write() as session:
        _lock_submission(session, submission_id)
        record = DecisionRecord(submission_id=submission_id, reviewer_id=reviewer_id,
                                decision=Decision(decision).value, created_at=utcnow())
        session.add(record)
        session.flush()
        return record


def decisions(session: Session, submission_id: int) -> list[DecisionRecord]:
    """A submission's decisions, newest (the current one) first."""
    return list(session.scalars(select(DecisionRecord)
                                .where(DecisionRecord.submission_id == submission_id)
                                .order_by(DecisionRecord.id.desc())))


@dataclass
class Judgement:
    """What reviewers recorded about one submission, for listings and the CSV export."""

    scores: list[ManualScore] = field(default_factory=list)
    revealed: set[int] = field(default_factory=set)
    decision: DecisionRecord | None = None
    notes: int = 0


def _in_cohort(query: Select, column, assignment_id: str, cohort: str | None) -> Select:
    query = query.join(Submission, Submission.id == column).where(
        Submission.assignment_id == assignment_id)
    return query.where(Submission.cohort == cohort) if cohort else query


def cohort_judgements(session: Session, assignment_id: str, cohort: str | None = None
                      ) -> dict[int, Judgement]:
    """Scores, reveals, current decision and note count of every judged submission of an
    assignment (one cohort, or all), by submission id. Four queries, whatever the cohort's size."""
    found: dict[int, Judgement] = {}
    for score in session.scalars(_in_cohort(select(ManualScore), ManualScore.submission_id,
                                            assignment_id, cohort)
                                 .order_by(ManualScore.item_id, ManualScore.reviewer_id)):
        found.setdefault(score.submission_id, Judgement()).scores.append(score)
    for submission_id, reviewer_id in session.execute(_in_cohort(
            select(ManualReveal.submission_id, ManualReveal.reviewer_id),
            ManualReveal.submission_id, assignment_id, cohort)):
        found.setdefault(submission_id, Judgement()).revealed.add(reviewer_id)
    latest = _in_cohort(select(func.max(DecisionRecord.id)), DecisionRecord.submission_id,
                        assignment_id, cohort).group_by(DecisionRecord.submission_id)
    for record in session.scalars(select(DecisionRecord).where(DecisionRecord.id.in_(latest))):
        found.setdefault(record.submission_id, Judgement()).decision = record
    for submission_id, count in session.execute(_in_cohort(
            select(ReviewNote.submission_id, func.count()), ReviewNote.submission_id,
            assignment_id, cohort).group_by(ReviewNote.submission_id)):
        found.setdefault(submission_id, Judgement()).notes = count
    return found


def latest_submissions(session: Session, assignment_id: str, cohort: str | None = None
                       ) -> list[Submission]:
    """Each invite's newest submission to an assignment (one cohort, or all), by id: the ones
    compared for similarity (a candidate's own earlier uploads are not a copy)."""
    newest = select(func.max(Submission.id)).where(Submission.assignment_id == assignment_id)
    if cohort:
        newest = newest.where(Submission.cohort == cohort)
    return list(session.scalars(select(Submission)
                                .where(Submission.id.in_(newest.group_by(Submission.invite_id)))
                                .order_by(Submission.id)))


@dataclass(frozen=True)
class LatestReport:
    """A submission's latest report, and the JSON of its stability (``reports.stability``: None
    when no earlier grading shares its key)."""

    report: Report
    stability: str | None


def cohort_reports(session: Session, assignment_id: str, cohort: str | None = None
                   ) -> dict[int, LatestReport]:
    """The latest report of every submission of an assignment (one cohort, or all), by
    submission id: one query, whatever the cohort's size."""
    latest = _in_cohort(select(func.max(StoredReport.id)), StoredReport.submission_id,
                        assignment_id, cohort).group_by(StoredReport.submission_id)
    rows = session.execute(select(StoredReport.submission_id, StoredReport.body,
                                  StoredReport.stability).where(StoredReport.id.in_(latest)))
    return {submission_id: LatestReport(Report.model_validate_json(body), stability)
            for submission_id, body, stability in rows}
