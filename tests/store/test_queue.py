"""The queue's invariants on SQLite and PostgreSQL: one transaction per acceptance, exclusive
claims, leases that lapse and are reclaimed, fencing of a stale worker, retries with backoff."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grader.report import ReportStatus
from grader.store import (
    Database,
    Job,
    JobState,
    QueueError,
    StoredReport,
    Submission,
    SubmissionStatus,
    accept_submission,
    claim_job,
    complete_job,
    enqueue_regrade,
    fail_job,
    heartbeat,
    queue_counts,
    release_job,
    utcnow,
)
from grader.submissions import SubmissionRefused, check_invite

BACKOFF = {"backoff_seconds": 0.3, "backoff_max_seconds": 1.0}


def _fake_report(total: float = 80.0):
    from support.fakes import fake_report

    return fake_report(total)


def _accept(db: Database, invite_id: int, n: int = 1) -> list[int]:
    return [accept_submission(db, invite_id=invite_id, sha256="a" * 64, size_bytes=10,
                              files_dir=f"f{invite_id}-{i}-{time.monotonic_ns()}",
                              admit=check_invite).id
            for i in range(n)]


def _count(db: Database, model) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_acceptance_writes_the_submission_and_its_job_together(db, invite) -> None:
    [submission_id] = _accept(db, invite())
    with db.read() as session:
        jobs = session.scalars(select(Job).where(Job.submission_id == submission_id)).all()
    assert [job.state for job in jobs] == [JobState.QUEUED]


def test_allowance_and_expiry_refuse_and_store_nothing(db, invite) -> None:
    limited = invite(allowance=2)
    _accept(db, limited, 2)
    with pytest.raises(SubmissionRefused, match="have been used"):
        _accept(db, limited)
    with pytest.raises(SubmissionRefused, match="expired"):
        _accept(db, invite(days=-1))
    assert _count(db, Submission) == 2 and _count(db, Job) == 2


def test_allowance_holds_under_racing_uploads(db, invite) -> None:
    limited = invite(allowance=3)
    outcomes: list[str] = []

    def race() -> None:
        try:
            _accept(db, limited)
            outcomes.append("ok")
        except SubmissionRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=race) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("ok") == 3
    assert _count(db, Submission) == 3


def test_concurrent_workers_never_claim_the_same_job(db, invite) -> None:
    _accept(db, invite(), 30)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (claim := claim_job(db, worker=name, lease_seconds=60, max_attempts=3)):
            with lock:
                claimed.append(claim.job_id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 30 and len(set(claimed)) == 30
    assert queue_counts(db)["running"] == 30


def test_a_lapsed_lease_is_reclaimed_and_the_stale_worker_is_fenced_off(db, invite) -> None:
    _accept(db, invite())
    first = claim_job(db, worker="dead", lease_seconds=0.3, max_attempts=3)
    assert first is not None and first.attempt == 1
    assert claim_job(db, worker="other", lease_seconds=30, max_attempts=3) is None
    time.sleep(0.5)
    second = claim_job(db, worker="alive", lease_seconds=30, max_attempts=3)
    assert second is not None and second.job_id == first.job_id and second.attempt == 2
    # The first worker comes back: it can neither renew, finish nor fail the job any more.
    assert not heartbeat(db, first, lease_seconds=30)
    assert not complete_job(db, first, _fake_report())
    assert fail_job(db, first, "late", retryable=True, max_attempts=3, **BACKOFF) is None
    assert complete_job(db, second, _fake_report())
    assert not complete_job(db, second, _fake_report())  # a job stores one report, once
    assert _count(db, StoredReport) == 1
    with db.read() as session:
        submission = session.scalars(select(Submission)).one()
    assert submission.status == ReportStatus.GRADED and submission.total == 80.0


def test_heartbeats_keep_a_lease(db, invite) -> None:
    _accept(db, invite())
    claim = claim_job(db, worker="w", lease_seconds=0.4, max_attempts=3)
    assert claim is not None
    for _ in range(4):
        time.sleep(0.2)
        assert heartbeat(db, claim, lease_seconds=0.4)
        assert claim_job(db, worker="thief", lease_seconds=30, max_attempts=3) is None


def test_infrastructure_failures_back_off_then_error_with_the_reason(db, invite) -> None:
    _accept(db, invite())
    for attempt in (1, 2):
        claim = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
        assert claim is not None and claim.attempt == attempt
        before = utcnow()
        assert fail_job(db, claim, "engine down", retryable=True, max_attempts=3,
                        **BACKOFF) is JobState.QUEUED
        with db.read() as session:
            job = session.scalars(select(Job)).one()
        delay = min(1.0, 0.3 * 2 ** (attempt - 1))
        assert job.run_after >= before + timedelta(seconds=delay * 0.9)
        assert claim_job(db, worker="w", lease_seconds=30, max_attempts=3) is None  # backing off
        time.sleep(delay + 0.1)
    claim = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None and claim.attempt == 3
    assert fail_job(db, claim, "engine down", retryable=True, max_attempts=3,
                    **BACKOFF) is JobState.ERRORED
    with db.read() as session:
        job = session.scalars(select(Job)).one()
        submission = session.scalars(select(Submission)).one()
    assert job.state == JobState.ERRORED and "attempt 3: engine down" in job.last_error
    assert submission.status == "errored"


def test_a_job_that_keeps_losing_its_worker_is_errored_at_the_cap(db, invite) -> None:
    _accept(db, invite())
    for _ in range(2):
        assert claim_job(db, worker="crashy", lease_seconds=0.1, max_attempts=2) is not None
        time.sleep(0.2)
    assert claim_job(db, worker="next", lease_seconds=30, max_attempts=2) is None
    with db.read() as session:
        job = session.scalars(select(Job)).one()
    assert job.state == JobState.ERRORED and "lease lapsed" in job.last_error


def test_release_gives_the_job_back_without_counting_the_attempt(db, invite) -> None:
    _accept(db, invite())
    claim = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None and release_job(db, claim)
    again = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert again is not None and again.attempt == 1


def test_regrade_makes_a_new_job_only_when_none_is_pending(db, invite) -> None:
    [submission_id] = _accept(db, invite())
    with pytest.raises(QueueError, match="already queued"):
        enqueue_regrade(db, submission_id)
    claim = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None and complete_job(db, claim, _fake_report(40))
    job = enqueue_regrade(db, submission_id)
    regrade = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert regrade is not None and regrade.job_id == job.id
    assert complete_job(db, regrade, _fake_report(60))
    assert _count(db, StoredReport) == 2


def test_only_a_graded_report_is_stored_and_its_submission_shows_graded(db, invite) -> None:
    [submission_id] = _accept(db, invite())
    claim = claim_job(db, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None
    rejected = _fake_report().model_copy(update={"status": ReportStatus.REJECTED})
    with pytest.raises(ValueError, match="only graded ones are"):
        complete_job(db, claim, rejected)
    assert _count(db, StoredReport) == 0
    assert complete_job(db, claim, _fake_report())
    with db.read() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None and submission.status == SubmissionStatus.GRADED
