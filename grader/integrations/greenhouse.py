"""Greenhouse's Assessment Partner API, served by the grader as a partner
(https://developers.greenhouse.io/assessment.html): Greenhouse calls

    GET  list_tests       the tests offered: [{partner_test_id, partner_test_name}]
    POST send_test        a test for a candidate: {partner_interview_id}
    GET  test_status      ?partner_interview_id=: {partner_status, partner_profile_url,
                          partner_score, metadata}
    POST response_error   what Greenhouse found malformed in an answer

with HTTP Basic authentication whose username is the partner's key (here an API token holding
``integration:greenhouse``) and whose password is blank. The partner tells Greenhouse that a test
is complete by a ``PATCH`` (no body, the same Basic key) to the ``url`` of the ``send_test``
request; Greenhouse then asks ``test_status``. Greenhouse polls only integrations made before
October 2019, so that PATCH is how a result reaches it.

A test is an assignment (its id and title); an interview is an invite made for the candidate.
Greenhouse expects the partner to email the test to the candidate; the grader sends no email, so
the candidate's link is shown in ``test_status``'s metadata until the first upload.
``partner_status`` is ``complete`` once a report is stored (the latest graded submission's total
is the score, and ``partner_profile_url`` its report for reviewers), else the grader's state
(``sent``, ``started``, ``submitted``, ``expired``, ``grader_error``).
"""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from grader.integrations._core import CandidateText, InterviewState, InterviewStatus, Offer
from grader.settings import Settings
from grader.store import AtsLink

NAME = "greenhouse"
COMPLETE = "complete"

# Greenhouse's ids are strings, but its own examples send numbers too.
_Id = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int)
                                     else value)]
Primitive = str | int | float | bool | None


class PartnerTest(BaseModel):
    partner_test_id: str
    partner_test_name: str


class Candidate(BaseModel):
    # Greenhouse may add properties (its "general considerations"): they are ignored.
    model_config = ConfigDict(extra="ignore")

    first_name: CandidateText = Field(max_length=100)
    last_name: CandidateText = Field(max_length=100)
    email: CandidateText = Field(max_length=320)
    resume_url: str | None = None
    phone_number: str | None = None
    greenhouse_profile_url: str | None = Field(None, max_length=200)


class SendTest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    partner_test_id: _Id = Field(max_length=100)
    candidate: Candidate
    url: str | None = Field(None, max_length=2000,
                            description="where to PATCH when the test is complete")


class SendTestAnswer(BaseModel):
    partner_interview_id: str


class TestStatus(BaseModel):
    partner_status: str = Field(description="complete, or the grader's state: sent, started, "
                                            "submitted, expired, grader_error")
    partner_profile_url: str | None = Field(description="the report, for reviewers (complete "
                                                        "only)")
    partner_score: float | None = Field(description="the latest graded submission's total, "
                                                    "out of 100")
    metadata: dict[str, Primitive]


class ResponseError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    api_call: str = Field(max_length=100)
    errors: list[str] = Field(max_length=100)
    partner_test_id: _Id | None = None
    partner_interview_id: _Id | None = None


def tests(offers: list[Offer]) -> list[PartnerTest]:
    return [PartnerTest(partner_test_id=o.test_id, partner_test_name=o.name) for o in offers]


def label(candidate: Candidate) -> str:
    """The invite's label, as reviewers see it beside the cohort."""
    return f"{candidate.first_name} {candidate.last_name} <{candidate.email}>"[:200]


def basic_authorization(key: str) -> str:
    """The Authorization header Greenhouse's requests carry, and its PATCH expects back."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_status(found: InterviewStatus) -> TestStatus:
    metadata: dict[str, Primitive] = {
        "Assignment": found.assignment_id,
        "Status": found.state.value,
        "Submissions": f"{found.submissions} of {found.allowance}",
        "Started At": found.started_at.isoformat() if found.started_at else None,
        "Graded At": found.graded_at.isoformat() if found.graded_at else None,
        "Invite Expires At": found.expires_at.isoformat(),
    }
    if found.candidate_url is not None:
        metadata["Candidate Link"] = found.candidate_url
    complete = found.state is InterviewState.GRADED
    return TestStatus(partner_status=COMPLETE if complete else found.state.value,
                      partner_profile_url=found.report_url if complete else None,
                      partner_score=round(found.total, 2) if complete and found.total is not None
                      else None,
                      metadata=metadata)


def callback(link: AtsLink, _found: InterviewStatus, _settings: Settings
             ) -> tuple[str, str, bytes, dict[str, str]] | None:
    """Greenhouse's "mark test as completed": a PATCH without a body to the send_test ``url``
    (none without one: Greenhouse then polls)."""
    if link.callback_url is None:
        return None
    headers = ({"Authorization": link.callback_authorization}
               if link.callback_authorization else {})
    return link.callback_url, "PATCH", b"", headers
