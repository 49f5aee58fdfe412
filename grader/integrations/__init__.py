"""Applicant tracking systems: the grader as an assessment partner of Greenhouse and Ashby.

``_core`` holds what every ATS shares (the tests offered, an invite for an ATS's interview and
its link row, an interview's status, the callback when a result is ready); one module per ATS
translates its documented calls (``greenhouse``, ``ashby``). The web door is
``grader.web._integrations``: each ATS authenticates with an API token holding its scope
(``integration:<name>``, ``grader.tokens``). docs/integrations.md describes the setup.

``report_stored`` is called by the worker once a report is stored: each linked interview's ATS
is told through ``grader.deliveries`` (retried with backoff, recorded, replayable by reviewers)
where it gave somewhere to tell it (Greenhouse: the send_test ``url``; Ashby: its
``assessment.update`` with the configured key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grader import deliveries
from grader.integrations import ashby, greenhouse
from grader.integrations._core import (
    InterviewState,
    InterviewStatus,
    Offer,
    Sent,
    UnknownInterview,
    cancel,
    link_status,
    send,
    status,
)
from grader.settings import Settings
from grader.store import (
    ApiToken,
    AtsLink,
    Database,
    ats_links_for_invite,
    get_submission,
    utcnow,
)

__all__ = ["CALLBACKS", "InterviewState", "InterviewStatus", "Offer", "Sent",
           "UnknownInterview", "ashby", "cancel", "greenhouse", "report_stored",
           "send", "status"]

log = logging.getLogger("grader.integrations")

# Each ATS's callback for a link in its present state: (url, method, body, headers), or None
# when there is nowhere to send it.
Callback = Callable[[AtsLink, InterviewStatus, Settings],
                    tuple[str, str, bytes, dict[str, str]] | None]
CALLBACKS: dict[str, Callback] = {greenhouse.NAME: greenhouse.callback, ashby.NAME: ashby.callback}


def _revoked(session: Session, link: AtsLink) -> bool:
    token = session.get(ApiToken, link.token_id) if link.token_id is not None else None
    return token is None or token.revoked_at is not None


def report_stored(db: Database, settings: Settings, submission_id: int) -> None:
    """Queue the callback of every ATS interview linked to the submission's invite. A failure
    to queue is logged, never raised: the grading it follows is stored and stands; a callback
    refused (its URL or method) is skipped on its own, the others still queued."""
    try:
        with db.write() as session:
            submission = get_submission(session, submission_id)
            if submission is None:
                return
            for link in ats_links_for_invite(session, submission.invite_id):
                if link.callback_authorization is not None and _revoked(session, link):
                    # The callback would send back a key its reviewer stopped trusting, to a
                    # URL the account it was given to chose.
                    continue
                found = link_status(session, settings, link)
                request = CALLBACKS[link.integration](link, found, settings)
                if request is None:
                    continue
                url, method, body, headers = request
                try:
                    # Refused before anything is written, so the other links' callbacks
                    # still go out in this transaction.
                    deliveries.enqueue(session, purpose=f"{link.integration} callback",
                                       url=url, method=method, body=body, headers=headers)
                except deliveries.DeliveryRefused as exc:
                    log.warning("submission %s: the %s callback of interview %s was not "
                                "queued: %s", submission_id, link.integration,
                                link.interview_id, exc)
                    continue
                link.last_status = found.state.value
                link.last_reported_at = utcnow()
    except SQLAlchemyError as exc:
        log.warning("submission %s: ATS callbacks were not queued: %s", submission_id, exc)
