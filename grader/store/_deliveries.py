"""Outbound deliveries over the store: a leased queue beside the jobs, each attempt recorded; and
the webhook endpoints that events fan out to.

Deliveries have their own table rather than rows in ``jobs``: a job is a grading of a submission
(its ``submission_id`` is required, and claiming, failing and completing one move the submission's
status), while a delivery is an HTTP request with a payload, a signature and a response. Folding
both into one table would make every job query ask which kind it holds. What the two queues share
is their rules, each kept in one place in ``grader.store._queue``: which rows are claimable
(``claimable``: queued and due, or running under a lapsed lease), the doubling retry delay
(``retry_delay``), and the claim's transaction (``Database.write``: ``BEGIN IMMEDIATE`` on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so workers on many hosts each take a different
row). As with jobs, every claim writes a fresh ``lease_token`` and an attempt is recorded only
while the row still carries it, so a worker whose lease lapsed cannot record over the new owner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from grader.store._engine import Database
from grader.store._models import (
    Delivery,
    DeliveryAttempt,
    JobState,
    WebhookEndpoint,
    utcnow,
)
from grader.store._queue import ERROR_CHARS, claimable, drop_lease, retry_delay, take_lease

SETTINGS_SOURCE = "settings"
_SETTINGS_ENDPOINT_LOCK = 7_700_702  # beside grader.store._migrate's 7_700_701


@dataclass(frozen=True)
class DeliveryClaim:
    """A delivery this worker holds under a lease, and what it sends."""

    delivery_id: int
    lease_token: str
    attempt: int
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    signing_secret: str | None
    event_id: str | None


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt came to: a response's code, or the error that kept it from one; the
    start of the response's body as the sender capped it (``grader.deliveries.EXCERPT_BYTES``)."""

    started_at: datetime
    seconds: float
    status_code: int | None
    error: str = ""
    response_excerpt: str = ""
    # No later attempt could fare better (the grader's own rule refused it): fail it now.
    final: bool = False


def enqueue_delivery(session: Session, *, purpose: str, url: str, method: str, body: bytes,
                     headers: dict[str, str], signing_secret: str | None = None,
                     endpoint_id: int | None = None, event_id: str | None = None,
                     replay_of: int | None = None) -> Delivery:
    """A queued delivery, due now, in the caller's transaction."""
    now = utcnow()
    delivery = Delivery(purpose=purpose[:100], endpoint_id=endpoint_id, event_id=event_id,
                        replay_of=replay_of, url=url, method=method, headers=json.dumps(headers),
                        body=body, signing_secret=signing_secret, state=JobState.QUEUED,
                        attempts=0, run_after=now, last_error="", created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def claim_delivery(db: Database, *, worker: str, lease_seconds: float, max_attempts: int
                   ) -> DeliveryClaim | None:
    """Take the oldest claimable delivery under a new lease, or None when there is none. A
    lapsed one that has used up its attempts is failed instead of claimed again."""
    # Looked for first in a read: an idle loop polls, and on SQLite a write transaction would
    # take the database's one write lock every poll, beside the gradings' writes.
    with db.read() as session:
        if session.scalar(select(Delivery.id).where(claimable(Delivery, utcnow())).limit(1)) \
                is None:
            return None
    with db.write() as session:
        while True:
            now = utcnow()
            delivery = session.scalars(
                select(Delivery).where(claimable(Delivery, now))
                .order_by(Delivery.run_after, Delivery.id).limit(1)
                .with_for_update(skip_locked=True)).first()
            if delivery is None:
                return None
            if delivery.state == JobState.RUNNING and delivery.attempts >= max_attempts:
                _finish(delivery, JobState.ERRORED, now,
                        f"the worker sending it stopped answering (lease lapsed) on each of "
                        f"{delivery.attempts} attempts")
                continue
            token = take_lease(delivery, worker=worker, now=now, lease_seconds=lease_seconds)
            return DeliveryClaim(delivery_id=delivery.id, lease_token=token,
                                 attempt=delivery.attempts, url=delivery.url,
                                 method=delivery.method, headers=json.loads(delivery.headers),
                                 body=delivery.body, signing_secret=delivery.signing_secret,
                                 event_id=delivery.event_id)


def record_attempt(db: Database, claim: DeliveryClaim, attempt: AttemptRecord, *,
                   delivered: bool, max_attempts: int, backoff_seconds: float,
                   backoff_max_seconds: float) -> JobState | None:
    """Record the attempt, then mark the delivery done, queue it again after the doubling
    delay, or fail it when its attempts are used up; None if the lease was lost (the attempt
    is still recorded: it happened)."""
    with db.write() as session:
        session.add(DeliveryAttempt(
            delivery_id=claim.delivery_id, number=claim.attempt, started_at=attempt.started_at,
            seconds=attempt.seconds, status_code=attempt.status_code,
            error=attempt.error[:ERROR_CHARS],
            response_excerpt=attempt.response_excerpt))
        delivery = session.scalars(
            select(Delivery).where(Delivery.id == claim.delivery_id,
                                   Delivery.lease_token == claim.lease_token,
                                   Delivery.state == JobState.RUNNING).with_for_update()).first()
        if delivery is None:
            return None
        now = utcnow()
        delivery.last_status_code = attempt.status_code
        outcome = (f"HTTP {attempt.status_code}" if attempt.status_code is not None
                   else attempt.error)
        if delivered:
            _finish(delivery, JobState.DONE, now, "")
            return JobState.DONE
        reason = f"attempt {delivery.attempts}: {outcome}"
        if delivery.attempts < max_attempts and not attempt.final:
            delivery.state = JobState.QUEUED
            delivery.run_after = now + timedelta(seconds=retry_delay(
                delivery.attempts, backoff_seconds=backoff_seconds,
                backoff_max_seconds=backoff_max_seconds))
            drop_lease(delivery)
            delivery.last_error = reason[:ERROR_CHARS]
            return JobState.QUEUED
        _finish(delivery, JobState.ERRORED, now, reason)
        return JobState.ERRORED


def _finish(delivery: Delivery, state: JobState, now: datetime, reason: str) -> None:
    delivery.state = state
    delivery.finished_at = now
    drop_lease(delivery)
    delivery.last_error = reason[:ERROR_CHARS]


class EndpointRemoved(LookupError):
    """A webhook delivery's endpoint is gone: nothing is sent there again, replays included."""


def replay_delivery(db: Database, delivery_id: int) -> Delivery | None:
    """A new delivery of the same request (its own attempts; each signed afresh when sent),
    queued now; None when there is no such delivery. A webhook event goes where its endpoint
    is now, under its secret now (the settings' endpoint follows the settings), and never once
    the endpoint is removed (``EndpointRemoved``)."""
    with db.write() as session:
        original = session.get(Delivery, delivery_id)
        if original is None:
            return None
        url, secret = original.url, original.signing_secret
        if original.event_id is not None:
            endpoint = (session.get(WebhookEndpoint, original.endpoint_id)
                        if original.endpoint_id is not None else None)
            if endpoint is None:
                raise EndpointRemoved(f"delivery {delivery_id}'s webhook endpoint was removed, "
                                      "and nothing is sent there again: register the receiver "
                                      "anew if it should have events")
            url, secret = endpoint.url, endpoint.secret
        return enqueue_delivery(session, purpose=original.purpose, url=url,
                                method=original.method, body=original.body,
                                headers=json.loads(original.headers), signing_secret=secret,
                                endpoint_id=original.endpoint_id, event_id=original.event_id,
                                replay_of=original.id)


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def list_deliveries(session: Session, *, limit: int = 100) -> list[Delivery]:
    """The latest deliveries, newest first."""
    return list(session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(limit)))


def delivery_attempts(session: Session, delivery_ids: list[int]
                      ) -> dict[int, list[DeliveryAttempt]]:
    """Each delivery's attempts, oldest first (every id present)."""
    found: dict[int, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    for attempt in session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number, DeliveryAttempt.id)):
        found[attempt.delivery_id].append(attempt)
    return found


# --- webhook endpoints ---------------------------------------------------------------------------

def create_webhook_endpoint(session: Session, *, url: str, events: list[str], secret: str,
                            include_notes: bool, created_by: str,
                            source: str = "reviewer") -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, events=" ".join(events), secret=secret,
                               include_notes=include_notes, source=source,
                               created_by=created_by[:320], created_at=utcnow())
    session.add(endpoint)
    session.flush()
    return endpoint


def list_webhook_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def remove_webhook_endpoint(db: Database, endpoint_id: int, *, source: str = "reviewer"
                            ) -> bool:
    """Remove an endpoint of ``source`` and fail its deliveries still waiting to be sent (the
    ones sent stay, as history); False when there is no such endpoint."""
    with db.write() as session:
        endpoint = session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.source == source)).first()
        if endpoint is None:
            return False
        session.execute(
            update(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                   Delivery.state == JobState.QUEUED)
            .values(state=JobState.ERRORED, finished_at=utcnow(),
                    last_error="its webhook endpoint was removed before it was sent"))
        session.delete(endpoint)
        return True


def set_configured_endpoint(db: Database, *, url: str | None, secret: str, events: list[str],
                            include_notes: bool) -> None:
    """The endpoint the deployment's settings give, as a row events fan out to like any other:
    made, changed, or removed (``url`` None) to match the settings. Workers starting at once
    could each find no row and make one (a row lock cannot cover a row that does not exist yet):
    on PostgreSQL a transaction-scoped advisory lock serialises them, on SQLite the write
    transaction does."""
    with db.write() as session:
        if not db.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": _SETTINGS_ENDPOINT_LOCK})
        rows = list(session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.source == SETTINGS_SOURCE).with_for_update()))
        keep = rows[0] if rows and url is not None else None
        for row in rows:
            if row is not keep:
                session.delete(row)
        if url is None:
            return
        if keep is None:
            create_webhook_endpoint(session, url=url, events=events, secret=secret,
                                    include_notes=include_notes, created_by="settings",
                                    source=SETTINGS_SOURCE)
            return
        keep.url, keep.secret, keep.include_notes = url, secret, include_notes
        keep.events = " ".join(events)
