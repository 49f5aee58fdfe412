"""Outbound HTTP deliveries: queued in the store, sent by the worker process, retried with a
doubling backoff, every attempt recorded, any delivery replayable.

How to send something (a webhook event, an ATS callback), in the transaction of the change it
reports so that it is queued exactly when that change is stored::

    from grader import deliveries

    with db.write() as session:
        ...  # the change
        deliveries.enqueue(session, purpose="greenhouse callback", url=callback_url,
                           body=json.dumps(payload).encode(),
                           headers={"Content-Type": "application/json",
                                    "Authorization": "Basic ..."},
                           secret=None)  # a secret: each attempt carries Grader-Signature

``enqueue`` checks the URL (``DeliveryRefused`` says what is wrong with it) and returns the
delivery's id; nothing is sent in the caller's thread. The worker process sends it
(``grader.jobs.delivery.DeliveryLoop``, started and stopped by ``WorkerPool``, on a thread of its
own beside the grading slots, so a slow receiver never holds a grading): one attempt at a time
within ``settings.deliveries.timeout_seconds`` (the whole attempt, not each read), a 2xx answer
delivers it, anything else (another status, a refused connection, a timeout) is recorded with
its code or error and retried after ``backoff_seconds``, doubling up to ``backoff_max_seconds``,
until ``max_attempts`` have been made. ``replay`` queues the same request again as a new
delivery (for a reviewer: the receiver was fixed). Redirects are never followed (a 3xx is a
failed attempt, recorded); URLs are http or https without credentials in them (send those as a
header); only the first ``EXCERPT_BYTES`` of a response's body are read and kept.

Signing. With a ``secret``, each attempt is signed when it is sent, so a replay or a retry
carries a fresh timestamp: ``Grader-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" under the secret>``, in the scheme of Stripe's ``Stripe-Signature``; a receiver
recomputes it over the raw body and refuses an old ``t`` (docs/webhooks.md has the code).

Exceptions:

    DeliveryRefused    the URL cannot be delivered to, or a replayed event's endpoint is gone
                       (a ValueError): the message says why
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from grader.__about__ import __version__
from grader.settings import DeliverySettings
from grader.store import (
    AttemptRecord,
    Database,
    Delivery,
    DeliveryClaim,
    EndpointRemoved,
    JobState,
    claim_delivery,
    delivery_attempts,
    enqueue_delivery,
    record_attempt,
    replay_delivery,
)

__all__ = ["EVENT_ID_HEADER", "EXCERPT_BYTES", "SIGNATURE_HEADER", "URL_PATTERN", "AttemptPublic",
           "DeliveryPublic", "DeliveryRefused", "check_url", "deliver_next", "enqueue",
           "public", "replay", "send", "signature"]

_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# Every URL a delivery may go to, and only those (the API's schema states it too): http or https,
# a host name or IPv4 address, a port in range, then anything printable.
URL_PATTERN = rf"^https?://[A-Za-z0-9._-]+(?::{_PORT})?(?:[/?#][!-~]*)?$"
SIGNATURE_HEADER = "Grader-Signature"
EVENT_ID_HEADER = "Grader-Event-Id"
EXCERPT_BYTES = 2048
USER_AGENT = f"ml-takehome-grader/{__version__} (deliveries)"
# A delivery's lease, in attempt timeouts: an attempt takes at most one (it is cut off then, as a
# whole), the rest is slack for claiming and recording it on a busy store, so a live worker's
# lease never lapses mid-attempt and another worker never sends the same request twice.
LEASE_TIMEOUTS = 6


class DeliveryRefused(ValueError):
    """A delivery's URL cannot be used; the message says what is wrong and what to do."""


def check_url(url: str) -> str:
    """The URL, if a delivery may go there: http or https, a host, no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port  # parsed now: an invalid port is refused here, not at send time
    except ValueError as exc:
        raise DeliveryRefused(f"{url!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        given = f"{parts.scheme}:" if parts.scheme else "a URL without a scheme"
        raise DeliveryRefused(f"deliveries go to http or https URLs, not {given}; give the "
                              "full URL, e.g. https://hooks.example.com/grader")
    if port == 0:
        raise DeliveryRefused(f"{url!r} names port 0, which nothing listens on")
    if not parts.hostname:
        raise DeliveryRefused(f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise DeliveryRefused("the URL carries credentials (user:password@): they would be "
                              "stored and shown with every delivery; send them as a header "
                              "(Authorization) instead, or rely on the signature")
    if any(ord(char) <= 32 or ord(char) >= 127 for char in url):
        raise DeliveryRefused("the URL contains spaces, control or non-ASCII characters; "
                              "percent-encode them (and give an internationalised host name in "
                              "its xn-- form)")
    if not re.fullmatch(URL_PATTERN, url):
        raise DeliveryRefused(f"{url!r} is not a URL a delivery can go to: "
                              "http(s)://host[:port]/path, with a host name or an IPv4 address")
    return url


def enqueue(session: Session, *, purpose: str, url: str, body: bytes,
            headers: dict[str, str] | None = None, method: str = "POST",
            secret: str | None = None, endpoint_id: int | None = None,
            event_id: str | None = None) -> int:
    """Queue a delivery in the caller's transaction; its id. ``purpose`` says what it is for
    (shown to reviewers); ``secret``: sign each attempt; ``event_id``: sent as
    ``Grader-Event-Id`` (the same on retries and replays, for the receiver to drop duplicates).
    """
    if method not in ("POST", "PUT", "PATCH"):
        raise DeliveryRefused(f"deliveries are POST, PUT or PATCH requests, not {method!r}")
    delivery = enqueue_delivery(session, purpose=purpose, url=check_url(url), method=method,
                                body=body, headers=dict(headers or {}), signing_secret=secret,
                                endpoint_id=endpoint_id, event_id=event_id)
    return delivery.id


class AttemptPublic(BaseModel):
    number: int
    started_at: datetime
    seconds: float
    status_code: int | None = Field(description="null: no response; error says why")
    error: str
    response_excerpt: str = Field(description="the start of the response's body")


class DeliveryPublic(BaseModel):
    """A delivery as reviewers and the operator see it (the API, the Webhooks page, the CLI)."""

    id: int
    purpose: str
    url: str
    endpoint_id: int | None
    event_id: str | None
    replay_of: int | None = Field(description="the delivery this one replays")
    state: JobState = Field(description="queued (maybe for a retry), running, done (a 2xx) or "
                                        "errored (its attempts used up)")
    next_attempt_at: datetime | None = Field(description="when queued: its next attempt")
    last_status_code: int | None
    last_error: str
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptPublic]


def public(session: Session, rows: list[Delivery]) -> list[DeliveryPublic]:
    """The deliveries, each with its attempts."""
    attempts = delivery_attempts(session, [row.id for row in rows])
    return [DeliveryPublic(
        id=row.id, purpose=row.purpose, url=row.url, endpoint_id=row.endpoint_id,
        event_id=row.event_id, replay_of=row.replay_of, state=JobState(row.state),
        next_attempt_at=row.run_after if row.state == JobState.QUEUED else None,
        last_status_code=row.last_status_code, last_error=row.last_error,
        created_at=row.created_at, finished_at=row.finished_at,
        attempts=[AttemptPublic(number=a.number, started_at=a.started_at, seconds=a.seconds,
                                status_code=a.status_code, error=a.error,
                                response_excerpt=a.response_excerpt)
                  for a in attempts[row.id]]) for row in rows]


def replay(db: Database, delivery_id: int) -> int | None:
    """Queue the delivery's request again, as a new delivery signed afresh when it is sent; its
    id, or None when there is no such delivery; ``DeliveryRefused`` for a webhook event whose
    endpoint was removed."""
    try:
        delivery = replay_delivery(db, delivery_id)
    except EndpointRemoved as exc:
        raise DeliveryRefused(str(exc)) from exc
    return None if delivery is None else delivery.id


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Grader-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def send(claim: DeliveryClaim, *, timeout: float, private_networks: bool
         ) -> AttemptRecord:
    """One attempt at the claimed request: never raises for what the network or the receiver
    did, which is recorded as the attempt's outcome. Unless ``private_networks``, a receiver
    whose address is not a public one is refused before anything is sent to it."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    headers = {"User-Agent": USER_AGENT, **claim.headers}
    if claim.event_id is not None:
        headers[EVENT_ID_HEADER] = claim.event_id
    if claim.signing_secret is not None:
        headers[SIGNATURE_HEADER] = signature(claim.signing_secret, claim.body, int(time.time()))
    parts = urlsplit(claim.url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port,
                                                 timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port,
                                                timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # The socket's timeout bounds each read, and a receiver sending a byte at a time never
    # trips it: the whole attempt gets ``timeout`` too, after which its socket is shut, so a
    # hostile receiver holds the loop (and the lease) no longer than a silent one.
    expired = threading.Event()
    cutoff = threading.Timer(timeout, _shut, args=(connection, expired))
    cutoff.start()
    try:
        connection.connect()
        if expired.is_set():  # it expired while connecting, before there was a socket to shut
            raise TimeoutError
        if not private_networks:
            refused = _private_peer(connection)
            if refused is not None:
                # Only the operator's setting changes this: retrying for hours cannot.
                return AttemptRecord(started_at=started, seconds=time.monotonic() - clock,
                                     status_code=None, error=refused, final=True)
        connection.request(claim.method, path, body=claim.body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES)  # the rest is never read: the cap holds
        if expired.is_set():
            # The shut socket reads as the end of the answer, which may then parse as a
            # complete 2xx: an answer cut off is never taken for one.
            raise TimeoutError
        return AttemptRecord(started_at=started, seconds=time.monotonic() - clock,
                             status_code=response.status,
                             response_excerpt=excerpt.decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException) as exc:
        error = (f"timed out: no complete answer within {timeout:g} s"
                 if expired.is_set() else _describe(exc))
        return AttemptRecord(started_at=started, seconds=time.monotonic() - clock,
                             status_code=None, error=error)
    finally:
        cutoff.cancel()
        connection.close()


def _private_peer(connection: http.client.HTTPConnection) -> str | None:
    """Why the connected peer may not be sent to, or None for a public address. The address
    connected to is checked, not the URL's host, so a name that resolves (or is rebound) to one
    of the grader's neighbours is caught as well as an address written in the URL."""
    assert connection.sock is not None
    peer = ipaddress.ip_address(connection.sock.getpeername()[0].split("%")[0])
    mapped = peer.ipv4_mapped if isinstance(peer, ipaddress.IPv6Address) else None
    if (mapped or peer).is_global:
        return None
    return (f"refused: the receiver's address {peer} is loopback, private, link-local or "
            "reserved, where the grader itself and the services beside it listen; deliveries "
            "go to public addresses unless the operator sets "
            "GRADER_DELIVERIES__PRIVATE_NETWORKS=true for a receiver inside the network")


def _shut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """End an attempt past its deadline: a blocked read returns at once. ``expired`` is set
    first, so the attempt never reads the end this causes as the receiver's."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def deliver_next(db: Database, rules: DeliverySettings, *, worker: str) -> JobState | None:
    """Claim the next due delivery, make one attempt, record it; the delivery's state after it,
    or None when none was due (or the lease was lost meanwhile)."""
    claim = claim_delivery(db, worker=worker,
                           lease_seconds=LEASE_TIMEOUTS * rules.timeout_seconds,
                           max_attempts=rules.max_attempts)
    if claim is None:
        return None
    attempt = send(claim, timeout=rules.timeout_seconds, private_networks=rules.private_networks)
    delivered = attempt.status_code is not None and 200 <= attempt.status_code < 300
    return record_attempt(db, claim, attempt, delivered=delivered,
                          max_attempts=rules.max_attempts, backoff_seconds=rules.backoff_seconds,
                          backoff_max_seconds=rules.backoff_max_seconds)
