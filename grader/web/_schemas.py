"""The JSON API's shapes: inputs (``...Create``, ``LoginRequest``) and public outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from grader.report import Report


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """An error: ``detail`` is written for people; ``rule`` is the intake rule's stable code."""

    detail: str
    rule: str | None = None


class Health(BaseModel):
    status: str
    database: str
    queue: dict[str, int]
    workers: int


# --- candidates ---------------------------------------------------------------------------------

class CandidateSubmission(BaseModel):
    """A submission as its candidate sees it: the released report fields only."""

    id: int
    status: str
    final: bool = Field(description="true once grading has ended; the status page stops polling")
    created_at: datetime
    graded_at: datetime | None
    result: dict[str, Any] | None = Field(
        description="the report fields this assignment releases to candidates")
    url: str


class CandidateInvite(BaseModel):
    assignment_id: str
    assignment_title: str
    summary: str
    label: str
    allowance: int
    used: int
    remaining: int
    expires_at: datetime
    expired: bool
    starter_url: str
    upload_url: str
    submissions: list[CandidateSubmission]


# --- reviewers ----------------------------------------------------------------------------------

class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class LoginResult(BaseModel):
    email: str
    csrf_token: str = Field(description=f"send as the {'X-CSRF-Token'} header on every "
                                        "state-changing call")


class CohortPublic(BaseModel):
    cohort: str
    submissions: int
    graded: int
    pending: int
    mean_total: float | None


class AssignmentPublic(BaseModel):
    id: str
    title: str | None
    version: str | None
    summary: str | None
    max_submissions: int | None
    error: str | None = Field(description="why the spec cannot be used, if it cannot")
    cohorts: list[CohortPublic]


class InviteCreate(BaseModel):
    cohort: str = Field("default", max_length=100)
    label: str = Field("", max_length=200, description="who it is for (a name or an email)")
    allowance: int | None = Field(None, ge=1, le=1000,
                                  description="default: the assignment's max_submissions")
    valid_days: float | None = Field(None, gt=0, le=365, description="default: settings")


class InviteCreated(_Out):
    id: int
    token: str = Field(description="shown only now; only its hash is stored")
    url: str
    assignment_id: str
    cohort: str
    label: str
    allowance: int
    expires_at: datetime


class InvitePublic(_Out):
    id: int
    assignment_id: str
    cohort: str
    label: str
    allowance: int
    used: int
    expires_at: datetime
    created_at: datetime
    created_by: str


class SubmissionRow(_Out):
    id: int
    assignment_id: str
    cohort: str
    label: str
    status: str
    total: float | None
    sha256: str
    size_bytes: int
    created_at: datetime
    graded_at: datetime | None


class JobPublic(_Out):
    id: int
    state: str
    attempts: int
    last_error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class FilePublic(BaseModel):
    path: str
    size: int
    url: str


class CohortDistribution(BaseModel):
    """The latest graded total and metrics of every submission in the same cohort."""

    totals: list[float]
    metrics: dict[str, list[float]]


class SubmissionDetail(BaseModel):
    submission: SubmissionRow
    report: Report | None
    jobs: list[JobPublic]
    cohort: CohortDistribution
    files: list[FilePublic]


class Regraded(BaseModel):
    submission_id: int
    job_id: int
