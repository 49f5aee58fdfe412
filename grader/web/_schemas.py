"""The JSON API's shapes: inputs (``...Create``, ``LoginRequest``) and public outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from grader.judgement import JudgementPublic, Standing
from grader.report import Report
from grader.signals import FileOverlap
from grader.stability import Stability
from grader.store import Decision
from grader.submissions import Feedback, TimeBox
from grader.text import UNPRINTABLE_PATTERN, printable


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    """One invalid part of a request: where (``body``, ``query`` or ``path``, then the field)
    and why."""

    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """An error, in RFC 9457's shape (``application/problem+json``): ``detail`` is written for
    people; ``rule`` is the intake rule's stable code; ``errors`` lists each invalid field."""

    type: str = Field("about:blank", description="no error types beyond the HTTP status")
    title: str = Field(description="the kind of error, the same for every error of its kind")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what was wrong and what to do")
    rule: str | None = Field(None, description="the intake rule a refused zip broke")
    errors: list[FieldError] | None = Field(None, description="each invalid part of a request")


class Health(BaseModel):
    status: str
    database: str
    queue: dict[str, int]
    workers: int


# --- candidates ---------------------------------------------------------------------------------

class CandidateProgress(BaseModel):
    """How far a pending submission's grading has come; ``message`` and ``timing`` are the
    sentences the status page shows."""

    state: str = Field(description="`queued` or `grading`")
    step: str | None = Field(description="the step the grading is on, such as `build: train()` "
                                         "or `hidden tests: contract`; null while queued")
    elapsed_seconds: float = Field(description="since the grading started, or since the upload "
                                               "while it waits")
    queue_position: int | None = Field(description="1 when it is the next to be graded; null "
                                                   "once grading")
    typical_seconds: float | None = Field(
        description="the median time of this assignment's recent gradings; null before the first")
    remaining_seconds: float | None = Field(
        description="a rough estimate of the time left, from the typical time, the queue ahead "
                    "and the gradings running now; null without a typical time")
    message: str = Field(description="where the grading is, in a sentence")
    timing: str = Field(description="the elapsed time and the estimate, in a sentence")


class CandidateSubmission(BaseModel):
    """A submission as its candidate sees it: the released report fields only."""

    id: int = Field(description="the submission's key in URLs, unique across the grader")
    number: int = Field(ge=1, description="its place among this invite's uploads: 1 for the "
                                          "first")
    status: str
    final: bool = Field(description="true once grading has ended; the status page stops polling")
    created_at: datetime
    graded_at: datetime | None
    progress: CandidateProgress | None = Field(
        None, description="while queued or grading: the step, the queue and an estimate")
    result: dict[str, Any] | None = Field(
        description="the report fields this assignment releases to candidates")
    feedback: Feedback = Field(
        description="released: a graded submission's result holds the released fields; "
                    "after_close: they show once the invite takes no more uploads "
                    "(results_from); withheld: the hiring team shares results themselves")
    results_from: datetime | None = Field(
        None, description="after_close: when results show, as the invite stands now")
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
    time_box: TimeBox = Field(description="when uploads stop, and why: the window, or the "
                                          "working time counted from the first bundle download")
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


def _printable(what: str) -> BeforeValidator:
    """The core's check, run before the schema's pattern so its message is the one given."""
    return BeforeValidator(lambda value: printable(value, what) if isinstance(value, str)
                           else value)


class InviteCreate(BaseModel):
    # The pattern documents the check for clients; the check itself is the core's (Rust's regex,
    # pydantic's, refuses the surrogates the class names).
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["extra_time_percent"],
               "properties": {"extra_time_percent": {"minimum": 1}}},
        "then": {"required": ["time_limit_minutes"],
                 "properties": {"time_limit_minutes": {"type": "integer"}}}})

    cohort: Annotated[str, _printable("cohort")] = Field(
        "default", max_length=100, json_schema_extra={"pattern": UNPRINTABLE_PATTERN})
    label: Annotated[str, _printable("label")] = Field(
        "", max_length=200, json_schema_extra={"pattern": UNPRINTABLE_PATTERN},
        description="who it is for (a name or an email)")
    allowance: int | None = Field(None, ge=1, le=1000,
                                  description="default: the assignment's max_submissions")
    valid_days: float | None = Field(None, gt=0, le=365, description="default: settings")
    time_limit_minutes: int | None = Field(
        None, ge=1, le=60 * 24 * 30, description="working time from the first download of the "
                                                "starter bundle; default: none, only the window")
    extra_time_percent: int = Field(0, ge=0, le=400, description="an accommodation: percent "
                                                                 "added to the time limit")

    @model_validator(mode="after")
    def _extra_time_needs_a_limit(self) -> InviteCreate:
        if self.extra_time_percent and self.time_limit_minutes is None:
            raise ValueError("extra_time_percent lengthens time_limit_minutes; give both")
        return self


MINUTE_IN_DAYS = 1 / (24 * 60)


class InviteExtend(BaseModel):
    """More time for one invite: each end moves later, counted from now if it has passed."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["working_minutes"], "properties": {"working_minutes": {"minimum": 1}}},
        {"required": ["window_days"],
         "properties": {"window_days": {"minimum": MINUTE_IN_DAYS}}}]})

    working_minutes: int = Field(0, ge=0, le=60 * 24 * 30,
                                 description="working time to add (time-boxed invites)")
    window_days: float = Field(
        0, ge=0, le=365, description="how much later the invite expires: 0, or a minute or more",
        json_schema_extra={"anyOf": [{"maximum": 0}, {"minimum": MINUTE_IN_DAYS}]})

    @model_validator(mode="after")
    def _something_to_extend(self) -> InviteExtend:
        if 0 < self.window_days < MINUTE_IN_DAYS:
            raise ValueError("window_days is 0 or at least a minute (0.000695 days)")
        if not (self.working_minutes or self.window_days):
            raise ValueError("give working_minutes or window_days, more than zero")
        return self


class InviteCreated(_Out):
    id: int
    token: str = Field(description="shown only now; only its hash is stored")
    url: str
    assignment_id: str
    cohort: str
    label: str
    allowance: int
    expires_at: datetime
    time_limit_seconds: int | None
    extra_time_percent: int


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
    time_limit_seconds: int | None = Field(description="as made; null: only the window")
    extra_time_percent: int
    extension_seconds: int = Field(description="working time reviewers have added")
    time_box: TimeBox


class IntegrityFlag(BaseModel):
    """A listing's summary of the latest report's integrity section (reviewers only)."""

    checked: bool = Field(description="false when the check could not run (the grader's "
                                      "problem); see message")
    flagged: bool = Field(description="the section holds at least one finding")
    findings: int
    message: str


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
    decision: Decision | None = Field(None, description="the current reviewer decision, in "
                                                        "listings")
    integrity: IntegrityFlag | None = Field(
        None, description="the latest report's integrity findings, in listings (None: no report "
                          "yet, or one made without the section)")
    stability: Stability | None = Field(
        None, description="the latest report set beside the submission's earlier gradings of "
                          "the same assignment content, instance and runner image: "
                          "nondeterministic when a quality metric moved, with each metric's old "
                          "and new value (None: no report yet, or no earlier grading shares its "
                          "key)")
    standing: Standing | None = Field(
        None, description="in listings: its rank by total and the ranks it cannot be told apart "
                          "from (None: no graded report)")
    failure: str | None = Field(
        None, description="in listings: how the candidate's code failed in its graded report "
                          "(Report.failure's summary: it raised, timed out, ran out of memory), "
                          "telling it from code that ran and scored low; None when it ran, or "
                          "there is no graded report")


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


class Regraded(BaseModel):
    submission_id: int
    job_id: int


# --- reviewer judgement -------------------------------------------------------------------------

class ManualScoreSet(BaseModel):
    points: float = Field(description="the points of one of the item's levels", allow_inf_nan=False)


# One character Python's str.strip() keeps (what the core strips a note with), for the schema.
_NOT_BLANK = ("[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028"
              "\\u2029\\u202f\\u205f\\u3000]")


class NoteCreate(BaseModel):
    body: str = Field(min_length=1, max_length=5000, json_schema_extra={"pattern": _NOT_BLANK})

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        if not body.strip():
            raise ValueError("the note is empty: write something besides spaces")
        return body


class DecisionSet(BaseModel):
    decision: Decision


class SimilarPair(BaseModel):
    a: int = Field(description="a submission id")
    b: int
    label_a: str
    label_b: str
    score: float = Field(description="Jaccard index of the two shingle sets, starter excluded")
    containment: float = Field(description="share of the smaller set found in the other")
    shared: int
    flagged: bool
    files: list[FileOverlap] = Field(description="the file pairs sharing the most, with line "
                                                 "ranges")


class CohortSimilarity(BaseModel):
    """Token similarity between each candidate's latest submission (starter code ignored)."""

    assignment_id: str
    cohort: str | None
    submissions: int = Field(description="submissions compared")
    threshold: float = Field(description="a pair is flagged at this Jaccard index or above")
    containment_threshold: float = Field(description="or at this containment (for larger "
                                                     "submissions)")
    flagged: int
    pairs: list[SimilarPair] = Field(description="every flagged pair, then the most similar "
                                                 "others, up to the limit")
    note: str = ""


class SubmissionDetail(BaseModel):
    submission: SubmissionRow
    report: Report | None = Field(description="the latest report; its ``signals`` are for "
                                              "reviewers only")
    jobs: list[JobPublic]
    cohort: CohortDistribution
    files: list[FilePublic]
    judgement: JudgementPublic = Field(description="manual scores, agreement, points, decision, "
                                                   "notes, as this reviewer may see them")
