"""A grading's progress as the candidate's status page shows it: the step it is on (written by
the worker's slot as its grading process reports each one), its place in the queue, and how long
recent gradings of the same assignment took.

The step lives on the job row (``jobs.progress``), not in the worker's memory, so any web process
reading the same store (another host's, with PostgreSQL) sees it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from grader.store._engine import Database
from grader.store._models import Job, JobState, Submission, utcnow
from grader.store._queue import Claim

PROGRESS_CHARS = 200
# Enough gradings for a median that one outlier does not move, recent enough to reflect today's
# assignment version and machines.
RECENT_GRADINGS = 20


@dataclass(frozen=True)
class GradingProgress:
    """Where a pending submission's latest job stands."""

    state: JobState
    step: str | None
    """The running attempt's latest step (``build: train()``, ``hidden tests: contract``)."""
    since: datetime
    """When the running attempt started, or when the job was queued."""
    queue_position: int | None
    """1 for the next job a worker takes; None once it runs."""
    running: int
    """Jobs being graded now, on every worker: the pool's width as the queue sees it."""
    typical_seconds: float | None
    """The median grading time of the assignment's recent gradings; None before the first."""


def record_progress(db: Database, claim: Claim, step: str) -> bool:
    """Note the step a held job's grading reached; False when the job is no longer this claim's."""
    with db.write() as session:
        job = session.scalars(select(Job).where(
            Job.id == claim.job_id, Job.lease_token == claim.lease_token,
            Job.state == JobState.RUNNING)).first()
        if job is None:
            return False
        job.progress = step[:PROGRESS_CHARS]
        return True


def grading_progress(session: Session, submission_id: int) -> GradingProgress | None:
    """The progress of the submission's latest job while it is queued or running, else None."""
    job = session.scalars(select(Job).where(Job.submission_id == submission_id)
                          .order_by(Job.id.desc()).limit(1)).first()
    if job is None or job.state not in (JobState.QUEUED, JobState.RUNNING):
        return None
    running = session.scalar(select(func.count()).select_from(Job)
                             .where(Job.state == JobState.RUNNING)) or 0
    position = None
    if job.state == JobState.QUEUED:
        # The claim order: run_after, then id (grader.store._queue.claim_job).
        ahead = session.scalar(select(func.count()).select_from(Job).where(
            Job.state == JobState.QUEUED,
            or_(Job.run_after < job.run_after,
                and_(Job.run_after == job.run_after, Job.id < job.id)))) or 0
        position = ahead + 1
    submission = session.get(Submission, submission_id)
    assert submission is not None
    return GradingProgress(
        state=JobState(job.state), step=job.progress if job.state == JobState.RUNNING else None,
        since=(job.started_at if job.state == JobState.RUNNING and job.started_at
               else job.created_at),
        queue_position=position, running=running,
        typical_seconds=typical_grading_seconds(session, submission.assignment_id))


def typical_grading_seconds(session: Session, assignment_id: str) -> float | None:
    """The median of the assignment's last ``RECENT_GRADINGS`` completed gradings, in seconds."""
    rows = session.execute(
        select(Job.started_at, Job.finished_at).join(Submission, Submission.id == Job.submission_id)
        .where(Submission.assignment_id == assignment_id, Job.state == JobState.DONE,
               Job.started_at.is_not(None), Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc()).limit(RECENT_GRADINGS)).all()
    took = [(finished - started).total_seconds() for started, finished in rows
            if started is not None and finished is not None]
    return statistics.median(took) if took else None


def seconds_since(moment: datetime) -> float:
    return max(0.0, (utcnow() - moment).total_seconds())
