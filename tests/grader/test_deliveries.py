"""Outbound deliveries against a real receiver on 127.0.0.1: retried with a doubling backoff until
a 2xx, every attempt recorded with its code or error, replayed with a fresh signature, never a
redirect followed, a response read only to its cap. Signatures are checked here with the
standard library's hmac, not with the grader's own code."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.receiver import closed_port_url, receiver

from grader import deliveries
from grader.settings import DeliverySettings
from grader.store import (
    Database,
    JobState,
    create_webhook_endpoint,
    delivery_attempts,
    get_delivery,
    migrate,
)

SECRET = "whsec_" + "k" * 40
# The receivers here listen on 127.0.0.1, which deliveries reach only when the operator allows.
FAST = DeliverySettings(timeout_seconds=2, max_attempts=4, backoff_seconds=0.2,
                        backoff_max_seconds=5, private_networks=True)


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(database)
    yield database
    database.dispose()


def _queue(db: Database, url: str, body: bytes = b'{"hello": "world"}',
           secret: str | None = SECRET) -> int:
    with db.write() as session:
        return deliveries.enqueue(session, purpose="test", url=url, body=body,
                                  headers={"Content-Type": "application/json"}, secret=secret,
                                  event_id="evt_test")


def _run_until_settled(db: Database, rules: DeliverySettings, delivery_id: int,
                       timeout: float = 20) -> JobState:
    """The worker's loop, in this thread: attempt what is due until the delivery settles."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries.deliver_next(db, rules, worker="test")
        with db.read() as session:
            state = JobState(get_delivery(session, delivery_id).state)
        if state in (JobState.DONE, JobState.ERRORED):
            return state
        time.sleep(0.02)
    raise AssertionError(f"delivery {delivery_id} still {state} after {timeout}s")


def _verify(header: str, body: bytes, secret: str) -> int:
    """Stripe's scheme, written out here: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "the signature does not verify"
    return int(fields["t"])


def test_a_receiver_failing_twice_gets_three_signed_attempts_with_a_doubling_backoff(
        db: Database) -> None:
    with receiver([500, 500]) as hook:
        delivery_id = _queue(db, hook.url)
        assert _run_until_settled(db, FAST, delivery_id) == JobState.DONE
    with db.read() as session:
        attempts = delivery_attempts(session, [delivery_id])[delivery_id]
        delivery = get_delivery(session, delivery_id)
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert [a.number for a in attempts] == [1, 2, 3]
    assert delivery.attempts == 3 and delivery.last_status_code == 200
    assert delivery.last_error == "" and delivery.finished_at is not None
    assert [r.body for r in hook.requests] == [b'{"hello": "world"}'] * 3
    gaps = [b.at - a.at for a, b in zip(hook.requests, hook.requests[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps  # backoff, then twice it
    now = time.time()
    for request in hook.requests:
        assert abs(_verify(request.headers["Grader-Signature"], request.body, SECRET) - now) < 60
        assert request.headers["Grader-Event-Id"] == "evt_test"
        assert request.headers["Content-Type"] == "application/json"
    assert attempts[0].started_at < attempts[1].started_at < attempts[2].started_at


def test_a_receiver_that_is_down_is_recorded_as_refused_until_the_attempts_run_out(
        db: Database) -> None:
    rules = FAST.model_copy(update={"max_attempts": 2, "backoff_seconds": 0.05})
    delivery_id = _queue(db, closed_port_url())
    assert _run_until_settled(db, rules, delivery_id) == JobState.ERRORED
    with db.read() as session:
        attempts = delivery_attempts(session, [delivery_id])[delivery_id]
        delivery = get_delivery(session, delivery_id)
    assert [(a.status_code, a.error) for a in attempts] == [(None, "connection refused")] * 2
    assert delivery.last_error == "attempt 2: connection refused"


def test_a_replay_sends_the_same_body_and_event_id_signed_afresh(db: Database) -> None:
    with receiver() as hook:
        with db.write() as session:  # an event is replayed to its endpoint as it is now
            endpoint = create_webhook_endpoint(session, url=hook.url, events=["x"],
                                               secret=SECRET, include_notes=False,
                                               created_by="test")
            first = deliveries.enqueue(session, purpose="test", url=hook.url,
                                       body=b'{"hello": "world"}', secret=SECRET,
                                       endpoint_id=endpoint.id, event_id="evt_test")
        assert _run_until_settled(db, FAST, first) == JobState.DONE
        time.sleep(1.1)  # the signature's timestamp is in whole seconds
        again = deliveries.replay(db, first)
        assert again is not None and again != first
        assert _run_until_settled(db, FAST, again) == JobState.DONE
    assert deliveries.replay(db, 10_000) is None
    original, replayed = hook.requests
    assert replayed.body == original.body
    assert replayed.headers["Grader-Event-Id"] == original.headers["Grader-Event-Id"]
    first_t = _verify(original.headers["Grader-Signature"], original.body, SECRET)
    assert _verify(replayed.headers["Grader-Signature"], replayed.body, SECRET) > first_t
    with db.read() as session:
        assert get_delivery(session, again).replay_of == first
        assert len(delivery_attempts(session, [first])[first]) == 1


def test_a_redirect_is_a_failed_attempt_never_followed(db: Database) -> None:
    rules = FAST.model_copy(update={"max_attempts": 1})
    with receiver([302], extra_headers={"Location": "http://127.0.0.1:1/elsewhere"}) as hook:
        delivery_id = _queue(db, hook.url)
        assert _run_until_settled(db, rules, delivery_id) == JobState.ERRORED
    assert len(hook.requests) == 1
    with db.read() as session:
        [attempt] = delivery_attempts(session, [delivery_id])[delivery_id]
    assert attempt.status_code == 302


def test_only_the_start_of_a_response_is_kept_and_an_unsigned_delivery_has_no_signature(
        db: Database) -> None:
    with receiver(answer=b"x" * 1_000_000) as hook:
        delivery_id = _queue(db, hook.url, secret=None)
        assert _run_until_settled(db, FAST, delivery_id) == JobState.DONE
    with db.read() as session:
        [attempt] = delivery_attempts(session, [delivery_id])[delivery_id]
    assert attempt.response_excerpt == "x" * deliveries.EXCERPT_BYTES
    assert "Grader-Signature" not in hook.requests[0].headers


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://example.com/x", "http or https"),
    ("example.com/hook", "without a scheme"),
    ("https://user:secret@example.com/hook", "credentials"),
    ("https:///hook", "names no host"),
    ("https://example.com:99999/hook", "not a URL"),
    ("https://example.com/a b", "spaces"),
])
def test_urls_that_cannot_be_delivered_to_are_refused_with_the_reason(
        db: Database, url: str, says: str) -> None:
    with pytest.raises(deliveries.DeliveryRefused, match=says), db.write() as session:
        deliveries.enqueue(session, purpose="test", url=url, body=b"{}")


def test_a_lapsed_lease_is_claimed_again_and_only_its_holder_records(db: Database) -> None:
    from grader.store import AttemptRecord, claim_delivery, record_attempt, utcnow

    delivery_id = _queue(db, "http://127.0.0.1:9/hook")
    first = claim_delivery(db, worker="a", lease_seconds=0.01, max_attempts=3)
    assert first is not None
    time.sleep(0.05)
    second = claim_delivery(db, worker="b", lease_seconds=30, max_attempts=3)
    assert second is not None and second.delivery_id == delivery_id and second.attempt == 2
    record = AttemptRecord(started_at=utcnow(), seconds=0.1, status_code=200)
    assert record_attempt(db, first, record, delivered=True, max_attempts=3, backoff_seconds=0,
                          backoff_max_seconds=0) is None
    assert record_attempt(db, second, record, delivered=True, max_attempts=3, backoff_seconds=0,
                          backoff_max_seconds=0) == JobState.DONE


@contextmanager
def _trickling_receiver(interval: float, stop: threading.Event) -> Iterator[str]:
    """A receiver that accepts, reads the request, then sends its status line and one header
    byte every ``interval`` until ``stop``: each read completes well within any per-read
    timeout, but no answer ever ends."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(interval):
                try:
                    connection.sendall(b"a")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        server.close()
        thread.join(5)


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_attempts_deadline(
        db: Database) -> None:
    """A hostile receiver answering a byte at a time would otherwise hold the delivery loop
    (and, past the lease, have another worker send the same delivery again) for as long as it
    liked: the timeout bounds the whole attempt, not each read."""
    rules = FAST.model_copy(update={"timeout_seconds": 1, "max_attempts": 1})
    stop = threading.Event()
    with _trickling_receiver(0.1, stop) as url:
        delivery_id = _queue(db, url)
        threading.Timer(15, stop.set).start()  # the receiver gives up at last, if we do not
        started = time.monotonic()
        assert _run_until_settled(db, rules, delivery_id, timeout=30) == JobState.ERRORED
        took = time.monotonic() - started
    assert took < 3, f"an attempt with a 1 s timeout took {took:.1f} s"
    with db.read() as session:
        [attempt] = delivery_attempts(session, [delivery_id])[delivery_id]
    assert attempt.status_code is None and attempt.error.startswith("timed out"), attempt.error


def test_a_receiver_on_a_private_address_is_refused_unless_the_operator_allows_it(
        db: Database) -> None:
    """Whoever may register a URL (a reviewer's leaked ``webhooks`` token, an ATS's callback)
    would otherwise make the grader POST to itself and the services beside it, and read their
    answers in the delivery's excerpt."""
    # Attempts and backoff to spare: a refusal fails the delivery at once all the same, since
    # no retry can get past it.
    closed = FAST.model_copy(update={"private_networks": False, "backoff_seconds": 60,
                                     "backoff_max_seconds": 60})
    with receiver(answer=b"internal secrets") as hook:
        refused = _queue(db, hook.url)
        assert _run_until_settled(db, closed, refused) == JobState.ERRORED
        assert hook.requests == []
        # A name resolving to it is caught as well as the address written out.
        named = _queue(db, hook.url.replace("127.0.0.1", "localhost"))
        assert _run_until_settled(db, closed, named) == JobState.ERRORED
        assert hook.requests == []
        allowed = _queue(db, hook.url)
        assert _run_until_settled(db, FAST, allowed) == JobState.DONE
    with db.read() as session:
        attempts = delivery_attempts(session, [refused, named])
    for delivery_id in (refused, named):
        [attempt] = attempts[delivery_id]
        assert attempt.response_excerpt == "" and attempt.status_code is None
        assert "GRADER_DELIVERIES__PRIVATE_NETWORKS" in attempt.error, attempt.error
        with db.read() as session:
            reason = get_delivery(session, delivery_id).last_error
        assert "GRADER_DELIVERIES__PRIVATE_NETWORKS" in reason, reason
    assert len(hook.requests) == 1
