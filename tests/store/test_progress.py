"""A grading's progress as the store keeps it, on SQLite and PostgreSQL: the step a running job
reached (fenced by its lease), its place in the queue, and the assignment's typical grading time."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from grader.store import (
    Database,
    Job,
    JobState,
    accept_submission,
    claim_job,
    complete_job,
    fail_job,
    grading_progress,
    record_progress,
    typical_grading_seconds,
)

LEASE = {"lease_seconds": 30, "max_attempts": 3}


def _accept(db: Database, invite_id: int) -> int:
    return accept_submission(db, invite_id=invite_id, sha256="a" * 64, size_bytes=10,
                             files_dir=f"p{invite_id}-{time.monotonic_ns()}").id


def _progress(db: Database, submission_id: int):
    with db.read() as session:
        return grading_progress(session, submission_id)


def test_queued_jobs_count_their_place_in_the_claim_order(db, invite) -> None:
    first, second, third = (_accept(db, invite()) for _ in range(3))
    assert [_progress(db, s).queue_position for s in (first, second, third)] == [1, 2, 3]
    claim_job(db, worker="w", **LEASE)
    now_first = _progress(db, first)
    assert now_first.state == JobState.RUNNING and now_first.queue_position is None
    assert [_progress(db, s).queue_position for s in (second, third)] == [1, 2]
    assert _progress(db, third).running == 1


def test_a_running_job_shows_its_latest_step_and_a_new_attempt_starts_blank(db, invite) -> None:
    submission = _accept(db, invite())
    claim = claim_job(db, worker="w", **LEASE)
    assert _progress(db, submission).step is None
    assert record_progress(db, claim, "build: train()")
    assert record_progress(db, claim, "hidden tests: contract " + "x" * 500)
    step = _progress(db, submission).step
    assert step.startswith("hidden tests: contract") and len(step) == 200
    fail_job(db, claim, "engine away", retryable=True, max_attempts=3, backoff_seconds=0,
             backoff_max_seconds=0)
    # The stale claim is fenced off, and the retry does not inherit the first attempt's step.
    assert not record_progress(db, claim, "evaluation: retrieval")
    assert _progress(db, submission).step is None
    claim_job(db, worker="w2", **LEASE)
    assert _progress(db, submission).step is None


def test_no_progress_once_graded(db, invite) -> None:
    from support.fakes import fake_report

    submission = _accept(db, invite())
    claim = claim_job(db, worker="w", **LEASE)
    complete_job(db, claim, fake_report(70.0))
    assert _progress(db, submission) is None


def test_typical_time_is_the_median_of_recent_gradings_of_the_assignment(db, invite) -> None:
    from support.fakes import fake_report

    with db.read() as session:
        assert typical_grading_seconds(session, "starter") is None
    for took in (10, 20, 600):
        _accept(db, invite())
        claim = claim_job(db, worker="w", **LEASE)
        complete_job(db, claim, fake_report(50.0))
        with db.write() as session:
            job = session.get(Job, claim.job_id)
            session.execute(update(Job).where(Job.id == claim.job_id).values(
                finished_at=job.started_at + timedelta(seconds=took)))
    with db.read() as session:
        assert typical_grading_seconds(session, "starter") == 20
        assert typical_grading_seconds(session, "another") is None
    pending = _accept(db, invite())
    assert _progress(db, pending).typical_seconds == 20
