"""Applicant tracking systems: the grader as an assessment partner of Greenhouse.

``_core`` holds what every ATS shares (the tests offered, an invite for an ATS's interview and
its link row, an interview's status, the callback when a result is ready); one module per ATS
translates its documented calls (``greenhouse``). The web door is ``grader.web._integrations``:
each ATS authenticates with an API token holding its scope (``integration:<name>``,
``grader.tokens``). docs/integrations.md describes the setup.

``report_stored`` is called by the worker once a report is stored: each linked interview whose
ATS gave a callback URL gets its callback queued through ``grader.deliveries`` (retried with
backoff, recorded, replayable by reviewers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from grader import deliveries
from grader.integrations import greenhouse
from grader.integrations._core import (
    InterviewState,
    InterviewStatus,
    Offer,
    Sent,
    UnknownInterview,
    link_status,
    send,
    status,
)
from grader.settings import Settings
from grader.store import AtsLink, Database, ats_links_for_invite, get_submission, utcnow

__all__ = ["CALLBACKS", "InterviewState", "InterviewStatus", "Offer", "Sent",
           "UnknownInterview", "greenhouse", "report_stored", "send", "status"]

log = logging.getLogger("grader.integrations")

# Each ATS's callback request for a link: (method, body, headers).
CALLBACKS: dict[str, Callable[[AtsLink], tuple[str, bytes, dict[str, str]]]] = {
    greenhouse.NAME: greenhouse.callback,
}


def report_stored(db: Database, settings: Settings, submission_id: int) -> None:
    """Queue the callback of every ATS interview linked to the submission's invite. A failure
    to queue is logged, never raised: the grading it follows is stored and stands."""
    try:
        with db.write() as session:
            submission = get_submission(session, submission_id)
            if submission is None:
                return
            for link in ats_links_for_invite(session, submission.invite_id):
                if link.callback_url is None:
                    continue
                method, body, headers = CALLBACKS[link.integration](link)
                deliveries.enqueue(session, purpose=f"{link.integration} callback",
                                   url=link.callback_url, method=method, body=body,
                                   headers=headers)
                link.last_status = link_status(session, settings, link).state.value
                link.last_reported_at = utcnow()
    except (SQLAlchemyError, deliveries.DeliveryRefused) as exc:
        log.warning("submission %s: ATS callbacks were not queued: %s", submission_id, exc)
