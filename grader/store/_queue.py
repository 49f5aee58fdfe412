"""The job queue over the store: enqueue, claim with a lease, heartbeat, complete, retry or fail.

A job is claimable when it is ``queued`` and its ``run_after`` has come, or when it is ``running``
and its lease has lapsed (its worker died or hung). Claiming happens in one write transaction:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers on many hosts each take
a different row without waiting; on SQLite the transaction is ``BEGIN IMMEDIATE``, which holds the
database's single write lock from the SELECT to the UPDATE, so no two workers see the same row.

Every claim writes a fresh random ``lease_token``. Heartbeats, completion and failure only touch
the row while it still carries that token, so a worker whose lease lapsed and whose job was
claimed by another can never overwrite the new owner's work; and ``reports.job_id`` is unique, so
one job stores at most one report whatever happens.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from grader.report import Report, ReportStatus
from grader.store._engine import Database
from grader.store._models import (
    SUBMISSION_STATUS_OF_REPORT,
    Job,
    JobState,
    LeasedRow,
    StoredReport,
    Submission,
    SubmissionStatus,
    utcnow,
)

ERROR_CHARS = 4000


class QueueError(Exception):
    """A queue operation was refused (e.g. re-grading a submission whose grading is pending)."""


@dataclass(frozen=True)
class Claim:
    """A job this worker holds, and what grading it needs."""

    job_id: int
    lease_token: str
    attempt: int
    submission_id: int
    assignment_id: str
    files_dir: str
    sha256: str


def claimable(table: type[LeasedRow], now: datetime) -> ColumnElement[bool]:
    """The rows of a leased queue (``jobs``, or ``deliveries``: ``grader.store._deliveries``)
    that a worker may claim now: queued and due, or running under a lapsed lease."""
    return or_(and_(table.state == JobState.QUEUED, table.run_after <= now),
               and_(table.state == JobState.RUNNING, table.lease_expires_at < now))


def retry_delay(attempts: int, *, backoff_seconds: float, backoff_max_seconds: float) -> float:
    """How long a queue's row waits after its ``attempts``-th failed attempt: backoff,
    2 x backoff, 4 x backoff ... up to the cap."""
    return min(backoff_max_seconds, backoff_seconds * 2 ** (attempts - 1))


def take_lease(row: LeasedRow, *, worker: str, now: datetime, lease_seconds: float) -> str:
    """Claim a leased queue's row (a job or a delivery) for ``worker``: one attempt more, under a
    fresh lease token that every later write to the row must still find."""
    token = secrets.token_hex(16)
    row.state = JobState.RUNNING
    row.attempts += 1
    row.lease_token = token
    row.lease_owner = worker[:200]
    row.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return token


def drop_lease(row: LeasedRow) -> None:
    """The row is no one's any more: finished, or queued again for another claim."""
    row.lease_token = row.lease_owner = row.lease_expires_at = None


def claim_job(db: Database, *, worker: str, lease_seconds: float, max_attempts: int,
              on_errored: Callable[[int, int], None] | None = None) -> Claim | None:
    """Take the oldest claimable job under a new lease, or None when there is none.

    A lapsed job that has used up its attempts is marked errored instead of claimed again, so a
    submission that kills its worker every time cannot hold the queue forever; once that is
    stored, ``on_errored(submission_id, attempts)`` is told of each (the worker's webhook).
    """
    errored: list[tuple[int, int]] = []
    claim = _claim(db, worker=worker, lease_seconds=lease_seconds, max_attempts=max_attempts,
                   errored=errored)
    if on_errored is not None:
        for submission_id, attempts in errored:
            on_errored(submission_id, attempts)
    return claim


def _claim(db: Database, *, worker: str, lease_seconds: float, max_attempts: int,
           errored: list[tuple[int, int]]) -> Claim | None:
    with db.write() as session:
        while True:
            now = utcnow()
            job = session.scalars(
                select(Job).where(claimable(Job, now)).order_by(Job.run_after, Job.id).limit(1)
                .with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            submission = session.get(Submission, job.submission_id)
            assert submission is not None
            if job.state == JobState.RUNNING and job.attempts >= max_attempts:
                _finish_errored(session, job, submission, now,
                                f"the worker grading it stopped answering (lease lapsed) on "
                                f"each of {job.attempts} attempts; last owner {job.lease_owner}")
                errored.append((submission.id, job.attempts))
                continue
            token = take_lease(job, worker=worker, now=now, lease_seconds=lease_seconds)
            job.heartbeat_at = now
            job.started_at = now
            job.progress = None  # an earlier attempt's step is not this one's
            submission.status = SubmissionStatus.GRADING
            return Claim(job_id=job.id, lease_token=token, attempt=job.attempts,
                         submission_id=submission.id, assignment_id=submission.assignment_id,
                         files_dir=submission.files_dir, sha256=submission.sha256)


def heartbeat(db: Database, claim: Claim, *, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer this claim's (it was reclaimed)."""
    now = utcnow()
    with db.write() as session:
        result = session.execute(
            update(Job).where(Job.id == claim.job_id, Job.lease_token == claim.lease_token,
                              Job.state == JobState.RUNNING)
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now))
        return cast("CursorResult[Any]", result).rowcount == 1  # an UPDATE's result has it


def _held(session, claim: Claim) -> Job | None:
    return session.scalars(
        select(Job).where(Job.id == claim.job_id, Job.lease_token == claim.lease_token,
                          Job.state == JobState.RUNNING).with_for_update()).first()


Compare = Callable[[Report, list[tuple[int, Report]]], BaseModel | None]
"""Sets a new report beside the submission's earlier graded reports (``(report id, report)``,
newest first): ``grader.stability.compare``; what it returns is stored with the report."""
EARLIER_COMPARED = 20


def complete_job(db: Database, claim: Claim, report: Report, *,
                 compare: Compare | None = None) -> bool:
    """Store the report and mark the job done, in one transaction; False if the lease was lost.
    With ``compare``, the report is first set beside the submission's latest earlier graded
    reports, and the outcome stored in ``reports.stability``."""
    status = SUBMISSION_STATUS_OF_REPORT.get(report.status)
    if status is None:
        raise ValueError(f"a {report.status} report is never stored for a submission: only "
                         "graded ones are (the intake refuses a rejected upload at the door)")
    with db.write() as session:
        job = _held(session, claim)
        if job is None:
            return False
        stability = None
        if compare is not None:
            earlier = session.scalars(
                select(StoredReport).where(StoredReport.submission_id == claim.submission_id,
                                           StoredReport.status == ReportStatus.GRADED)
                .order_by(StoredReport.id.desc()).limit(EARLIER_COMPARED)).all()
            found = compare(report, [(row.id, Report.model_validate_json(row.body))
                                     for row in earlier])
            stability = found.model_dump_json() if found is not None else None
        now = utcnow()
        job.state = JobState.DONE
        job.finished_at = now
        drop_lease(job)
        job.last_error = ""
        session.add(StoredReport(submission_id=claim.submission_id, job_id=job.id,
                                 status=report.status.value, total=report.total,
                                 metrics=json.dumps({m.name: m.value for m in report.metrics}),
                                 body=report.model_dump_json(), stability=stability,
                                 created_at=now))
        submission = session.get(Submission, claim.submission_id)
        assert submission is not None
        submission.status = status
        submission.total = report.total
        submission.graded_at = now
        return True


def fail_job(db: Database, claim: Claim, reason: str, *, retryable: bool, max_attempts: int,
             backoff_seconds: float, backoff_max_seconds: float) -> JobState | None:
    """Queue the job again after a backoff, or mark it errored; None if the lease was lost.

    The delay doubles with each attempt: backoff, 2 x backoff, 4 x backoff ... up to the cap.
    """
    with db.write() as session:
        job = _held(session, claim)
        if job is None:
            return None
        submission = session.get(Submission, claim.submission_id)
        assert submission is not None
        now = utcnow()
        if retryable and job.attempts < max_attempts:
            delay = retry_delay(job.attempts, backoff_seconds=backoff_seconds,
                                backoff_max_seconds=backoff_max_seconds)
            job.state = JobState.QUEUED
            job.run_after = now + timedelta(seconds=delay)
            drop_lease(job)
            job.last_error = f"attempt {job.attempts}: {reason}"[:ERROR_CHARS]
            submission.status = SubmissionStatus.QUEUED
            return JobState.QUEUED
        _finish_errored(session, job, submission, now, f"attempt {job.attempts}: {reason}")
        return JobState.ERRORED


def release_job(db: Database, claim: Claim) -> bool:
    """Give a job back untouched (its worker is shutting down): queued now, attempt not counted."""
    with db.write() as session:
        job = _held(session, claim)
        if job is None:
            return False
        job.state = JobState.QUEUED
        job.attempts = max(0, job.attempts - 1)
        job.run_after = utcnow()
        drop_lease(job)
        submission = session.get(Submission, claim.submission_id)
        assert submission is not None
        submission.status = SubmissionStatus.QUEUED
        return True


def _finish_errored(session, job: Job, submission: Submission, now: datetime,
                    reason: str) -> None:
    job.state = JobState.ERRORED
    job.finished_at = now
    drop_lease(job)
    job.last_error = reason[:ERROR_CHARS]
    submission.status = SubmissionStatus.ERRORED


def queue_grading(session: Session, submission: Submission, now: datetime | None = None) -> Job:
    """A new queued job grading ``submission``: how every job comes to be, a first grading or a
    re-grade."""
    now = now or utcnow()
    job = Job(submission_id=submission.id, state=JobState.QUEUED, attempts=0, run_after=now,
              last_error="", created_at=now)
    session.add(job)
    submission.status = SubmissionStatus.QUEUED
    session.flush()
    return job


def enqueue_regrade(db: Database, submission_id: int) -> Job:
    """A new grading job for a stored submission; refused while one is queued or running."""
    with db.write() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise QueueError(f"no submission {submission_id}")
        pending = session.scalar(select(func.count()).select_from(Job).where(
            Job.submission_id == submission_id,
            Job.state.in_([JobState.QUEUED, JobState.RUNNING])))
        if pending:
            raise QueueError("this submission is already queued for grading")
        return queue_grading(session, submission)


def queue_counts(db: Database) -> dict[str, int]:
    """Jobs per state, every state present."""
    with db.read() as session:
        rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    counts = {state.value: 0 for state in JobState}
    counts.update({state: count for state, count in rows})
    return counts
