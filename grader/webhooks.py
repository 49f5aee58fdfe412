"""Webhooks: events about submissions, signed and delivered to the endpoints that subscribe.

Events (``EventType``), each emitted where it happens, after the change it reports is stored:

    submission.received   an upload was accepted and queued (``grader.submissions.submit``)
    submission.graded     a report was stored and the candidate's code ran (the worker)
    submission.errored    the grading ended without a score to trust, and whose side it was on
                          (``grader.outcomes``): ``candidate`` when a report was stored but their
                          code failed (raised, timed out, ran out of memory, ended, answered
                          what cannot be used); ``grader`` when the grader's own error used up
                          the job's attempts (the worker)
    decision.made         a reviewer recorded advance, hold or reject (``grader.judgement``)

Each event is one ``Event`` document (versioned by ``EVENT_VERSION``, with an id unique to it),
queued as one delivery per subscribed endpoint (``grader.deliveries``: signed, retried, replayable).
What an event carries is in its data model and nothing else: never a candidate's token, hidden
data, file contents, logs or a report's body; reviewers' notes only in ``decision.made`` and only
to an endpoint registered to receive them (``include_notes``). Reviewers register endpoints
(``create_endpoint``: the secret is made here and shown once); the deployment may give one more
in its settings (``GRADER_DELIVERIES__WEBHOOK_URL``: every event), kept as a row by
``sync_configured_endpoint`` when a worker starts.

An event is queued after its change commits, so a crash between the two loses that one event;
and one that cannot be queued (the store is away) is logged, never raised: an event is a report
on the work, never worth an upload or a grading.

Exceptions:

    WebhookRefused   an endpoint cannot be registered as asked (a ValueError): the message says why
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grader import deliveries
from grader.outcomes import FailureKind
from grader.report import Report
from grader.settings import Settings
from grader.store import (
    Database,
    Decision,
    DecisionRecord,
    Submission,
    WebhookEndpoint,
    create_webhook_endpoint,
    list_webhook_endpoints,
    remove_webhook_endpoint,
    review_notes,
    set_configured_endpoint,
    utcnow,
)

__all__ = [
    "EVENT_VERSION",
    "DecisionData",
    "EndpointPublic",
    "ErroredData",
    "Event",
    "EventType",
    "GradedData",
    "NoteData",
    "ReceivedData",
    "SubmissionRef",
    "WebhookRefused",
    "create_endpoint",
    "decision_made",
    "endpoint_public",
    "grading_ended",
    "grading_errored",
    "remove_endpoint",
    "submission_received",
    "sync_configured_endpoint",
]

log = logging.getLogger("grader.webhooks")

EVENT_VERSION: Literal[1] = 1
SECRET_PREFIX = "whsec_"
# Each event is one delivery per endpoint, sent one at a time: a leaked ``webhooks`` token
# registering thousands would multiply every event and hold back the deliveries that matter.
MAX_ENDPOINTS = 20


class WebhookRefused(ValueError):
    """An endpoint cannot be registered as asked; the message says what to change."""


class EventType(StrEnum):
    SUBMISSION_RECEIVED = "submission.received"
    SUBMISSION_GRADED = "submission.graded"
    SUBMISSION_ERRORED = "submission.errored"
    DECISION_MADE = "decision.made"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubmissionRef(_Model):
    """Which submission an event is about: ids a receiver can look up, nothing of its content."""

    id: int
    assignment_id: str
    cohort: str
    invite_id: int = Field(description="the invite it was uploaded through (an ATS maps its "
                                       "candidate to this)")
    received_at: datetime


class ReceivedData(_Model):
    submission: SubmissionRef


class GradedData(_Model):
    submission: SubmissionRef
    status: Literal["graded"] = "graded"
    total: float | None = Field(description="points out of 100")
    provisional: bool = Field(description="placed on the recorded anchors, to be re-scored on "
                                          "the deployment's own")
    report_url: str = Field(description="the report's page, for reviewers (a login is needed)")


class ErroredData(_Model):
    submission: SubmissionRef
    side: Literal["candidate", "grader"] = Field(
        description="candidate: their code failed and the report says how (a graded outcome); "
                    "grader: the grader's own error, retried until its attempts ran out")
    failure_kind: FailureKind | None = Field(
        description="how the candidate's code failed; null on the grader's side")
    summary: str = Field(description="one sentence on what happened")
    total: float | None = Field(description="the report's points (candidate side); null when "
                                            "none was stored")
    report_url: str = Field(description="the submission's page, for reviewers")


class NoteData(_Model):
    author: str
    created_at: datetime
    body: str


class DecisionData(_Model):
    submission: SubmissionRef
    decision: Decision
    decided_by: str = Field(description="the reviewer's email")
    decided_at: datetime
    notes: list[NoteData] | None = Field(
        description="reviewers' notes on the submission, oldest first; null unless the "
                    "endpoint was registered to receive notes")


EventData = ReceivedData | GradedData | ErroredData | DecisionData


class Event(_Model):
    """The body of every webhook delivery."""

    id: str = Field(description="unique to the event, the same on every retry and replay: the "
                                "key to drop duplicates by (also in the Grader-Event-Id header)")
    type: EventType
    version: Literal[1] = EVENT_VERSION
    created_at: datetime
    data: EventData


# --- endpoints -----------------------------------------------------------------------------------

def _events(events: list[str]) -> list[str]:
    if not events:
        raise WebhookRefused(f"subscribe to at least one event: {', '.join(EventType)}")
    unknown = sorted(set(events) - set(EventType))
    if unknown:
        raise WebhookRefused(f"unknown event(s) {', '.join(unknown)}: the events are "
                             f"{', '.join(EventType)}")
    return [event.value for event in EventType if event.value in events]


def create_endpoint(db: Database, *, url: str, events: list[str], include_notes: bool,
                    created_by: str) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; it and its signing secret, which is shown only now."""
    try:
        deliveries.check_url(url)
    except deliveries.DeliveryRefused as exc:
        raise WebhookRefused(str(exc)) from exc
    secret = SECRET_PREFIX + secrets.token_hex(32)
    with db.write() as session:
        registered = sum(e.source == "reviewer" for e in list_webhook_endpoints(session))
        if registered >= MAX_ENDPOINTS:
            raise WebhookRefused(f"{registered} webhook endpoints are registered, the most "
                                 "there may be: remove one (DELETE /api/review/webhooks/{id}) "
                                 "before adding another")
        endpoint = create_webhook_endpoint(session, url=url, events=_events(events),
                                           secret=secret, include_notes=include_notes,
                                           created_by=created_by)
    return endpoint, secret


def remove_endpoint(db: Database, endpoint_id: int) -> bool:
    """Remove a registered endpoint (not the settings' one); False when there is none."""
    return remove_webhook_endpoint(db, endpoint_id)


def sync_configured_endpoint(db: Database, settings: Settings) -> None:
    """The settings' endpoint (``GRADER_DELIVERIES__WEBHOOK_URL``) as a row receiving every
    event, or none; ``DeliveryRefused`` when its URL cannot be delivered to."""
    rules = settings.deliveries
    secret = rules.webhook_secret.get_secret_value() if rules.webhook_secret else ""
    set_configured_endpoint(
        db, url=deliveries.check_url(rules.webhook_url) if rules.webhook_url else None,
        secret=secret, events=list(EventType), include_notes=rules.webhook_notes)


class EndpointPublic(BaseModel):
    """An endpoint as reviewers and the operator see it (never its secret)."""

    id: int
    url: str
    events: list[EventType]
    include_notes: bool
    source: str = Field(description="reviewer, or settings (GRADER_DELIVERIES__WEBHOOK_URL: "
                                    "changed there, not here)")
    created_by: str
    created_at: datetime


def endpoint_public(endpoint: WebhookEndpoint) -> EndpointPublic:
    return EndpointPublic(id=endpoint.id, url=endpoint.url,
                          events=[EventType(e) for e in endpoint.events.split()],
                          include_notes=endpoint.include_notes, source=endpoint.source,
                          created_by=endpoint.created_by, created_at=endpoint.created_at)


# --- events --------------------------------------------------------------------------------------

def _ref(submission: Submission) -> SubmissionRef:
    return SubmissionRef(id=submission.id, assignment_id=submission.assignment_id,
                         cohort=submission.cohort, invite_id=submission.invite_id,
                         received_at=submission.created_at)


def _queue(session: Session, event_type: EventType, data: EventData,
           with_notes: EventData | None = None) -> int:
    """One event, queued to each endpoint subscribed to its type; how many deliveries."""
    event_id = "evt_" + secrets.token_hex(12)
    now = utcnow()
    queued = 0
    for endpoint in list_webhook_endpoints(session):
        if event_type.value not in endpoint.events.split():
            continue
        chosen = with_notes if with_notes is not None and endpoint.include_notes else data
        body = Event(id=event_id, type=event_type, created_at=now,
                     data=chosen).model_dump_json().encode()
        deliveries.enqueue(session, purpose=f"webhook {event_type.value}", url=endpoint.url,
                           body=body, headers={"Content-Type": "application/json",
                                               "Grader-Event": event_type.value},
                           secret=endpoint.secret, endpoint_id=endpoint.id, event_id=event_id)
        queued += 1
    return queued


def _emit(db: Database, event_type: EventType, submission_id: int,
          build: Callable[[Session, Submission], tuple[EventData, ...] | None]) -> None:
    """Queue the event ``build(session, submission)`` makes (data, and data with notes or
    None; None when what the event is about is not in the store), logged rather than raised
    when the store refuses."""
    try:
        with db.write() as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                return
            built = build(session, submission)
            if built is None:
                log.warning("%s of submission %s was not queued for webhooks: what it is "
                            "about is not in the store", event_type.value, submission_id)
                return
            _queue(session, event_type, *built)
    except SQLAlchemyError as exc:
        log.warning("%s of submission %s was not queued for webhooks: %s", event_type.value,
                    submission_id, exc)


def submission_received(db: Database, submission_id: int) -> None:
    _emit(db, EventType.SUBMISSION_RECEIVED, submission_id,
          lambda _session, submission: (ReceivedData(submission=_ref(submission)),))


def grading_ended(db: Database, settings: Settings, submission_id: int, report: Report) -> None:
    """A stored report: ``submission.graded``, or ``submission.errored`` on the candidate's
    side when their code failed."""
    url = settings.report_url(submission_id)
    if report.failure is None:
        _emit(db, EventType.SUBMISSION_GRADED, submission_id, lambda _s, submission: (
            GradedData(submission=_ref(submission), total=report.total, report_url=url,
                       provisional=report.anchors is not None and report.anchors.provisional),))
        return
    failure = report.failure
    _emit(db, EventType.SUBMISSION_ERRORED, submission_id, lambda _s, submission: (
        ErroredData(submission=_ref(submission), side="candidate", failure_kind=failure.kind,
                    summary=failure.summary, total=report.total, report_url=url),))


def grading_errored(db: Database, settings: Settings, submission_id: int, attempts: int
                    ) -> None:
    """The grader's own error used up the job's attempts: ``submission.errored``, grader side.
    The reason stays in the store for operators (it may name the grader's paths)."""
    summary = (f"The grader could not grade this submission (its own error, on each of "
               f"{attempts} attempts); it was not the candidate's fault. Re-grade it once the "
               "cause is fixed.")
    _emit(db, EventType.SUBMISSION_ERRORED, submission_id, lambda _s, submission: (
        ErroredData(submission=_ref(submission), side="grader", failure_kind=None,
                    summary=summary, total=None,
                    report_url=settings.report_url(submission_id)),))


def decision_made(db: Database, submission_id: int, decision_id: int) -> None:
    """A reviewer's decision, just recorded: ``decision.made``."""
    def build(session: Session, submission: Submission) -> tuple[EventData, EventData] | None:
        record = session.get(DecisionRecord, decision_id)
        if record is None or record.submission_id != submission.id:
            return None
        notes = [NoteData(author=note.reviewer.email, created_at=note.created_at,
                          body=note.body) for note in review_notes(session, submission.id)]
        decided = DecisionData(submission=_ref(submission), decision=Decision(record.decision),
                               decided_by=record.reviewer.email, decided_at=record.created_at,
                               notes=None)
        return decided, decided.model_copy(update={"notes": notes})
    _emit(db, EventType.DECISION_MADE, submission_id, build)
