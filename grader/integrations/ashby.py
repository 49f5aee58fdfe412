"""Ashby's Assessments Partner API, served by the grader as a partner
(https://developers.ashbyhq.com/docs/creating-an-assessments-integration): Ashby calls

    POST assessment.list     the assessments offered: {success, results: [{assessment_type_id,
                             name, description}]}
    POST assessment.start    one for a candidate: {success, results: {assessment_id,
                             update_request}}; 409 when the candidate is already being assessed,
                             422 {message} (shown to the Ashby user) when it cannot start
    POST assessment.cancel   {assessment_id}: the invite closes now

with HTTP Basic whose username is the partner's key (an API token holding ``integration:ashby``).
Progress goes the other way: the partner calls Ashby's own ``assessment.update`` with the
customer's Ashby API key (``Settings.ashby_api_key``; without it no update is sent). The grader
sends one when a report is stored: the total as ``assessment_result`` (a ``numeric_score``) and
the report as ``assessment_profile_url``, which marks the assessment complete in Ashby. Every
value Ashby shows is a "data value": an identifier, a label, a type and the value.

An assessment type is an assignment; an assessment is an invite made for the candidate. Ashby
sends no email for the partner and neither does the grader: the candidate's link goes to Ashby
in ``assessment.start``'s ``update_request`` (metadata ``candidate_link``), for the hiring team
to send on.
"""

from __future__ import annotations

import base64
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.integrations._core import CandidateText, InterviewState, InterviewStatus, Offer
from grader.settings import Settings
from grader.store import AtsLink

NAME = "ashby"
Kind = Literal["numeric_score", "numeric_duration_minutes", "url", "string", "boolean_success"]


class DataValue(BaseModel):
    identifier: str
    label: str
    type: Kind
    value: str | float | bool
    description: str | None = None


class AssessmentType(BaseModel):
    assessment_type_id: str
    name: str
    description: str


class AssessmentList(BaseModel):
    success: bool = True
    results: list[AssessmentType]


class _AshbyRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ashby_id: str = Field(max_length=200)


class Candidate(_AshbyRef):
    first_name: CandidateText = Field(max_length=100)
    last_name: CandidateText = Field(max_length=100)
    email: CandidateText = Field(max_length=320)
    ashby_profile_url: str | None = Field(None, max_length=2000)


class StartAssessment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    assessment_type_id: str = Field(max_length=100)
    candidate: Candidate
    application: _AshbyRef
    job: _AshbyRef


class Update(BaseModel):
    """The body of Ashby's ``assessment.update``."""

    assessment_id: str
    timestamp: int = Field(description="milliseconds since the Unix epoch")
    assessment_status: DataValue
    assessment_profile_url: DataValue | None = None
    assessment_result: DataValue | None = None
    metadata: list[DataValue] = []


class Started(BaseModel):
    assessment_id: str
    update_request: Update


class StartAnswer(BaseModel):
    success: bool = True
    results: Started


class CancelAssessment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    assessment_id: str = Field(max_length=64)


class CancelAnswer(BaseModel):
    success: bool = True


class Refusal(BaseModel):
    """Ashby shows ``message`` to its user (its documented 422)."""

    message: str


def assessment_types(offers: list[Offer]) -> AssessmentList:
    return AssessmentList(results=[
        AssessmentType(assessment_type_id=o.test_id, name=o.name,
                       description=f"take-home assignment {o.test_id}") for o in offers])


def label(candidate: Candidate) -> str:
    return f"{candidate.first_name} {candidate.last_name} <{candidate.email}>"[:200]


def update(found: InterviewStatus) -> Update:
    """What Ashby is told of the interview now: complete with the result once graded."""
    graded = found.state is InterviewState.GRADED and found.report_url is not None
    metadata = [DataValue(identifier="submissions", label="Submissions", type="string",
                          value=f"{found.submissions} of {found.allowance}")]
    if found.candidate_url is not None:
        metadata.append(DataValue(identifier="candidate_link", label="Candidate link",
                                  type="url", value=found.candidate_url,
                                  description="send it to the candidate: the grader sends no "
                                              "email"))
    return Update(
        assessment_id=found.interview_id, timestamp=int(time.time() * 1000),
        assessment_status=DataValue(identifier="status", label="Status", type="string",
                                    value="Completed" if graded else found.state.value),
        assessment_result=DataValue(identifier="total", label="Total (out of 100)",
                                    type="numeric_score", value=round(found.total or 0.0, 2))
        if graded else None,
        assessment_profile_url=DataValue(identifier="report", label="Report", type="url",
                                         value=found.report_url) if graded and found.report_url
        else None,
        metadata=metadata)


def callback(link: AtsLink, found: InterviewStatus, settings: Settings
             ) -> tuple[str, str, bytes, dict[str, str]] | None:
    """``assessment.update`` with the customer's Ashby key; None without one."""
    if settings.ashby_api_key is None:
        return None
    key = settings.ashby_api_key.get_secret_value()
    body = update(found).model_dump_json(exclude_none=True).encode()
    return (f"{settings.ashby_api_url.rstrip('/')}/assessment.update", "POST", body,
            {"Content-Type": "application/json",
             "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()})

