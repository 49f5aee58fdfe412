"""What every applicant tracking system's door shares: the assignments offered, an invite made
for an ATS's interview (with its link row), an interview's status as the grader knows it, and the
callbacks queued when a report for a linked invite is stored.

An ATS module (``greenhouse``) only translates: its request into ``send``'s arguments, an
``InterviewStatus`` into its answer, and its callback into a request for ``grader.deliveries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo
from sqlalchemy.orm import Session

from grader.deliveries import DeliveryRefused, check_url
from grader.settings import Settings
from grader.store import (
    AtsLink,
    Database,
    SubmissionStatus,
    ats_link,
    create_ats_link,
    create_invite,
    is_expired,
    open_ats_link,
    submissions_for_invite,
    utcnow,
)
from grader.text import printable


def _printable(value: str, info: ValidationInfo) -> str:
    return printable(value, info.field_name or "value")


# A candidate's name and email as an ATS sends them: they become the invite's label, shown in
# pages, CSV cells and terminals, so a control or invisible character is refused (422) naming
# the field, rather than by the label's own check with a name the ATS never sent.
CandidateText = Annotated[str, AfterValidator(_printable)]


class InterviewState(StrEnum):
    """Where a candidate's invite stands, as an ATS is told it."""

    SENT = "sent"                  # no download of the starter bundle, no upload yet
    STARTED = "started"            # the starter bundle was downloaded (a time box runs from then)
    SUBMITTED = "submitted"        # an upload is queued or being graded
    GRADED = "graded"              # a report is stored: the latest graded submission's total
    EXPIRED = "expired"            # the invite closed without an upload
    GRADER_ERROR = "grader_error"  # the grader failed to grade the upload: reviewers re-grade it


class UnknownInterview(LookupError):
    """No interview of this ATS has this id."""


@dataclass(frozen=True)
class Offer:
    test_id: str
    name: str


@dataclass(frozen=True)
class Sent:
    interview_id: str
    invite_id: int
    candidate_url: str | None  # None once the candidate uploaded (a reused interview)
    reused: bool               # the candidate's open interview, answered again


@dataclass(frozen=True)
class InterviewStatus:
    interview_id: str
    state: InterviewState
    assignment_id: str
    submissions: int
    allowance: int
    expires_at: datetime
    started_at: datetime | None
    total: float | None            # the latest graded submission's, out of 100
    graded_at: datetime | None
    report_url: str | None         # that submission's report, for reviewers (a login is asked)
    candidate_url: str | None      # until the candidate's first upload


def send(db: Database, settings: Settings, *, integration: str, assignment_id: str,
         max_submissions: int, label: str, candidate_ref: str, callback_url: str | None,
         callback_authorization: str | None, token_id: int | None, reviewer_id: int,
         created_by: str) -> Sent:
    """An invite to the assignment for the ATS's candidate and its link row, in one
    transaction; the candidate's link is returned (and kept until the first upload, for the
    ATS to show: the grader sends no email). A callback URL the grader could not deliver to is
    refused now (``DeliveryRefused``), not when the result is ready.

    When the candidate already has an open interview of this ATS on the assignment, made by a
    key of the same reviewer, that interview is answered (``Sent.reused``) and nothing is made:
    an ATS retries a call it got no answer to, and each retry must not mint another invite (and
    allowance). The lookup and the creation share one write transaction, so two retries racing
    each other make one invite."""
    if callback_url is not None:
        try:
            callback_url = check_url(callback_url)
        except DeliveryRefused as exc:
            raise DeliveryRefused(f"the callback url: {exc}") from exc
    with db.write() as session:
        existing = open_ats_link(session, integration, candidate_ref, assignment_id,
                                 reviewer_id=reviewer_id)
        if existing is not None:
            return Sent(interview_id=existing.interview_id, invite_id=existing.invite_id,
                        candidate_url=existing.candidate_url, reused=True)
        # Candidates sent by an ATS are compared as one cohort per ATS.
        invite, token = create_invite(
            session, assignment_id=assignment_id, cohort=integration, label=label,
            allowance=max_submissions, valid_for=timedelta(days=settings.invite_days),
            created_by=created_by)
        url = settings.invite_url(token)
        link = create_ats_link(session, integration=integration, invite=invite,
                               token_id=token_id, candidate_ref=candidate_ref,
                               callback_url=callback_url,
                               callback_authorization=callback_authorization,
                               candidate_url=url)
        return Sent(interview_id=link.interview_id, invite_id=invite.id, candidate_url=url,
                    reused=False)


def status(db: Database, settings: Settings, *, integration: str, interview_id: str,
           reviewer_id: int) -> InterviewStatus:
    """The interview's status now, for a key acting for the reviewer whose key made it (another
    reviewer's is told there is no such interview); recorded on the link as the last reported
    one."""
    with db.write() as session:
        link = ats_link(session, integration, interview_id, reviewer_id=reviewer_id)
        if link is None:
            raise UnknownInterview(f"no {integration} interview has the id {interview_id!r}: "
                                   "use the partner_interview_id send_test answered with")
        found = link_status(session, settings, link)
        link.last_status = found.state.value
        link.last_reported_at = utcnow()
        if found.submissions:
            link.candidate_url = None  # the candidate has it; no need to keep it any longer
        return found


def cancel(db: Database, *, integration: str, interview_id: str, reviewer_id: int) -> None:
    """The ATS withdrew the interview: its invite takes no more uploads from now (what was
    submitted stays, and is still graded)."""
    with db.write() as session:
        link = ats_link(session, integration, interview_id, reviewer_id=reviewer_id)
        if link is None:
            raise UnknownInterview(f"no {integration} interview has the id {interview_id!r}")
        now = utcnow()
        link.invite.expires_at = min(link.invite.expires_at, now)
        link.candidate_url = None
        link.last_status = InterviewState.EXPIRED.value
        link.last_reported_at = now


def link_status(session: Session, settings: Settings, link: AtsLink) -> InterviewStatus:
    invite = link.invite
    submissions = submissions_for_invite(session, invite.id)  # newest first
    graded = [s for s in submissions if s.status == SubmissionStatus.GRADED]
    latest = max(graded, key=lambda s: (s.graded_at or s.created_at, s.id)) if graded else None
    if latest is not None:
        state = InterviewState.GRADED
    elif any(s.status in (SubmissionStatus.QUEUED, SubmissionStatus.GRADING)
             for s in submissions):
        state = InterviewState.SUBMITTED
    elif submissions:
        state = InterviewState.GRADER_ERROR
    elif is_expired(invite):
        state = InterviewState.EXPIRED
    elif invite.started_at is not None:
        state = InterviewState.STARTED
    else:
        state = InterviewState.SENT
    return InterviewStatus(
        interview_id=link.interview_id, state=state, assignment_id=invite.assignment_id,
        submissions=len(submissions), allowance=invite.allowance, expires_at=invite.expires_at,
        started_at=invite.started_at, total=latest.total if latest else None,
        graded_at=latest.graded_at if latest else None,
        report_url=settings.report_url(latest.id) if latest else None,
        candidate_url=None if submissions else link.candidate_url)
