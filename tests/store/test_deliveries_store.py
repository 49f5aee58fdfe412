"""The delivery queue on each store backend: concurrent workers each claim a different delivery
(SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), a retry waits its doubling delay, and
removing an endpoint cancels what it had not yet sent."""

from __future__ import annotations

import threading
from datetime import timedelta

from grader.store import (
    AttemptRecord,
    Database,
    JobState,
    claim_delivery,
    create_webhook_endpoint,
    enqueue_delivery,
    get_delivery,
    list_webhook_endpoints,
    record_attempt,
    remove_webhook_endpoint,
    set_configured_endpoint,
    utcnow,
)


def _queue(db: Database, count: int, endpoint_id: int | None = None) -> list[int]:
    with db.write() as session:
        return [enqueue_delivery(session, purpose="t", url="https://example.com/h",
                                 method="POST", body=b"{}", headers={},
                                 endpoint_id=endpoint_id).id for _ in range(count)]


def test_concurrent_workers_each_claim_a_different_delivery(db: Database) -> None:
    queued = _queue(db, 8)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (claim := claim_delivery(db, worker=name, lease_seconds=30,
                                       max_attempts=3)) is not None:
            with lock:
                claimed.append(claim.delivery_id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == queued


def test_a_failed_attempt_waits_the_doubling_delay_then_the_attempts_run_out(db: Database
                                                                             ) -> None:
    [delivery_id] = _queue(db, 1)
    failed = AttemptRecord(started_at=utcnow(), seconds=0.1, status_code=503)
    for attempt, delay in ((1, 10.0), (2, 20.0)):
        claim = claim_delivery(db, worker="w", lease_seconds=30, max_attempts=3)
        assert claim is not None and claim.attempt == attempt
        before = utcnow()
        assert record_attempt(db, claim, failed, delivered=False, max_attempts=3,
                              backoff_seconds=10, backoff_max_seconds=600) == JobState.QUEUED
        with db.write() as session:
            row = get_delivery(session, delivery_id)
            assert before + timedelta(seconds=delay - 1) < row.run_after
            assert row.run_after < before + timedelta(seconds=delay + 5)
            row.run_after = utcnow()  # due now, as if the delay had passed
    claim = claim_delivery(db, worker="w", lease_seconds=30, max_attempts=3)
    assert record_attempt(db, claim, failed, delivered=False, max_attempts=3,
                          backoff_seconds=10, backoff_max_seconds=600) == JobState.ERRORED
    with db.read() as session:
        assert get_delivery(session, delivery_id).last_error == "attempt 3: HTTP 503"
    assert claim_delivery(db, worker="w", lease_seconds=30, max_attempts=3) is None


def test_removing_an_endpoint_cancels_its_unsent_deliveries_and_keeps_the_rest(
        db: Database) -> None:
    with db.write() as session:
        endpoint_id = create_webhook_endpoint(session, url="https://example.com/h",
                                              events=["decision.made"], secret="s",
                                              include_notes=False, created_by="t").id
    sent, waiting = _queue(db, 2, endpoint_id)
    claim = claim_delivery(db, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None and claim.delivery_id == sent
    record_attempt(db, claim, AttemptRecord(started_at=utcnow(), seconds=0.1, status_code=200),
                   delivered=True, max_attempts=3, backoff_seconds=1, backoff_max_seconds=1)
    assert remove_webhook_endpoint(db, endpoint_id)
    with db.read() as session:
        done, cancelled = get_delivery(session, sent), get_delivery(session, waiting)
    assert (done.state, done.endpoint_id) == (JobState.DONE, None)
    assert cancelled.state == JobState.ERRORED and "removed" in cancelled.last_error


def test_workers_starting_at_once_store_the_settings_endpoint_once(db: Database) -> None:
    # Two workers: a third sync would remove what a race of the first two left (the check then
    # could not fail). Without the lock this fails about two runs in three on PostgreSQL.
    barrier = threading.Barrier(2)

    def start() -> None:
        barrier.wait()
        set_configured_endpoint(db, url="https://example.com/h", secret="s" * 32,
                                events=["decision.made"], include_notes=False)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.read() as session:
        assert [e.source for e in list_webhook_endpoints(session)] == ["settings"]
