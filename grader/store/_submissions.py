"""Submissions, their grading jobs and reports: accepting, listing and reading them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from grader.report import Report, ReportStatus
from grader.store._engine import Database
from grader.store._invites import used_submissions
from grader.store._models import (
    Invite,
    Job,
    StoredReport,
    Submission,
    SubmissionStatus,
    utcnow,
)
from grader.store._queue import queue_grading

# Decides whether an invite takes one more submission, given how many it has; raises to refuse.
Admit = Callable[[Invite, int], None]


class SortKey(StrEnum):
    SCORE = "score"
    STATUS = "status"
    DATE = "date"


@dataclass(frozen=True)
class CohortSummary:
    assignment_id: str
    cohort: str
    submissions: int
    graded: int
    pending: int
    mean_total: float | None


def accept_submission(db: Database, *, invite_id: int, sha256: str, size_bytes: int,
                      files_dir: str, admit: Admit | None = None) -> Submission:
    """The submission row and its grading job, in one transaction.

    The invite's row is locked first (FOR UPDATE on PostgreSQL; SQLite's write transaction holds
    the database lock), then ``admit`` (``grader.submissions.check_invite`` for an upload) is
    given the invite and how many submissions it already has, and raises to refuse: two uploads
    racing for the last allowed slot cannot both pass. Without ``admit`` the submission is stored
    whatever the invite says (seeding a store).
    """
    with db.write() as session:
        invite = session.scalars(select(Invite).where(Invite.id == invite_id)
                                 .with_for_update()).first()
        if invite is None:
            raise LookupError(f"no invite {invite_id}")
        if admit is not None:
            admit(invite, used_submissions(session, invite_id))
        submission = Submission(invite_id=invite.id, assignment_id=invite.assignment_id,
                                cohort=invite.cohort, sha256=sha256, size_bytes=size_bytes,
                                files_dir=files_dir, created_at=utcnow())
        session.add(submission)
        session.flush()
        queue_grading(session, submission, submission.created_at)
        return submission


def submissions_for_invite(session: Session, invite_id: int) -> list[Submission]:
    return list(session.scalars(select(Submission).where(Submission.invite_id == invite_id)
                                .order_by(Submission.id.desc())))


def submission_for_invite(session: Session, invite_id: int, submission_id: int
                          ) -> Submission | None:
    """A submission only if this invite made it: the one access check for candidates."""
    return session.scalars(select(Submission).where(Submission.id == submission_id,
                                                    Submission.invite_id == invite_id)).first()


def get_submission(session: Session, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id)


def latest_report(session: Session, submission_id: int) -> Report | None:
    stored = session.scalars(select(StoredReport)
                             .where(StoredReport.submission_id == submission_id)
                             .order_by(StoredReport.id.desc()).limit(1)).first()
    return Report.model_validate_json(stored.body) if stored else None


def latest_stability(session: Session, submission_id: int) -> str | None:
    """The JSON of the latest report's stability (``reports.stability``): None when there is no
    report, or it shares its key with no earlier grading."""
    return session.scalars(select(StoredReport.stability)
                           .where(StoredReport.submission_id == submission_id)
                           .order_by(StoredReport.id.desc()).limit(1)).first()


def report_count(session: Session, submission_id: int) -> int:
    return session.scalar(select(func.count()).select_from(StoredReport)
                          .where(StoredReport.submission_id == submission_id)) or 0


def jobs_for_submission(session: Session, submission_id: int) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.submission_id == submission_id)
                                .order_by(Job.id)))


def list_submissions(session: Session, *, assignment_id: str, cohort: str | None = None,
                     sort: SortKey = SortKey.DATE, descending: bool = True
                     ) -> list[Submission]:
    query: Select = select(Submission).where(Submission.assignment_id == assignment_id)
    if cohort:
        query = query.where(Submission.cohort == cohort)
    column = {SortKey.SCORE: Submission.total, SortKey.STATUS: Submission.status,
              SortKey.DATE: Submission.created_at}[sort]
    ordered = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return list(session.scalars(query.order_by(ordered, Submission.id.desc())))


def cohort_summaries(session: Session) -> list[CohortSummary]:
    """Every (assignment, cohort) pair that has invites, with counts and the mean total of each
    candidate's latest graded submission (a candidate who tried three times counts once)."""
    graded = Submission.status == SubmissionStatus.GRADED
    pending = Submission.status.in_([SubmissionStatus.QUEUED, SubmissionStatus.GRADING])
    latest = select(func.max(Submission.id)).where(graded).group_by(Submission.invite_id)
    counts = (select(Submission.assignment_id, Submission.cohort,
                     func.count().label("n"),
                     func.count().filter(graded).label("graded"),
                     func.count().filter(pending).label("pending"),
                     func.avg(Submission.total).filter(Submission.id.in_(latest)).label("mean"))
              .group_by(Submission.assignment_id, Submission.cohort).subquery())
    pairs = select(Invite.assignment_id, Invite.cohort).distinct().subquery()
    rows = session.execute(
        select(pairs.c.assignment_id, pairs.c.cohort, counts.c.n, counts.c.graded,
               counts.c.pending, counts.c.mean)
        .outerjoin(counts, (counts.c.assignment_id == pairs.c.assignment_id)
                   & (counts.c.cohort == pairs.c.cohort))
        .order_by(pairs.c.assignment_id, pairs.c.cohort)).all()
    return [CohortSummary(assignment_id=a, cohort=c, submissions=n or 0, graded=g or 0,
                          pending=p or 0, mean_total=float(m) if m is not None else None)
            for a, c, n, g, p, m in rows]


@dataclass(frozen=True)
class CohortPoint:
    submission_id: int
    total: float | None
    metrics: dict[str, float | None]


def cohort_points(session: Session, assignment_id: str, cohort: str) -> list[CohortPoint]:
    """Total and metrics of each submission's latest graded report in a cohort, for charts."""
    latest = (select(func.max(StoredReport.id))
              .join(Submission, Submission.id == StoredReport.submission_id)
              .where(Submission.assignment_id == assignment_id, Submission.cohort == cohort)
              .group_by(StoredReport.submission_id))
    rows = session.execute(select(StoredReport.submission_id, StoredReport.total,
                                  StoredReport.metrics)
                           .where(StoredReport.id.in_(latest),
                                  StoredReport.status == ReportStatus.GRADED)
                           .order_by(StoredReport.submission_id)).all()
    return [CohortPoint(submission_id=sid, total=total, metrics=json.loads(metrics))
            for sid, total, metrics in rows]
