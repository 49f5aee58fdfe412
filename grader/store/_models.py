"""The store's tables. Every time is an aware UTC datetime (``utcnow()``, ``UTCDateTime``): the
columns hold naive UTC on SQLite and PostgreSQL alike, and every reader gets the zone back.

    reviewers          accounts that read reports (argon2id hashes)
    reviewer_sessions  one row per login; the cookie carries the token, the row its sha256
    invites            a candidate's link: the token's sha256, assignment, cohort, allowance,
                       expiry, and its time box (working-time limit, accommodation, extensions)
    submissions        an accepted upload, extracted under DATA_DIR/submissions/<files_dir>
    jobs               a grading of a submission: the queue, with leases (see grader.store._queue),
                       and the step a running one is on (grader.store._progress)
    reports            one graded report per job (unique), its JSON document in ``body``, and
                       whether its quality metrics match earlier gradings in ``stability``
    manual_scores      a reviewer's level for one manual rubric item of a submission (unique per
                       submission, reviewer and item), with when it was given and changed
    manual_reveals     when a reviewer began to see other reviewers' manual scores of a submission
    review_notes       reviewers' notes on a submission (kept, never edited)
    decisions          advance / hold / reject, one row per decision made; the latest is current
    api_tokens         a reviewer's tokens for machines: the secret's sha256, scopes, expiry,
                       revocation (grader.tokens)
    ats_links          an applicant tracking system's interview id and the invite made for it,
                       with where to report its result (grader.integrations)
    webhook_endpoints  URLs reviewers (or the settings) registered for events, with their
                       signing secret and whether they receive reviewers' notes (grader.webhooks)
    deliveries         outbound HTTP requests (webhooks, ATS callbacks): a leased queue like
                       ``jobs`` (grader.store._deliveries), its payload kept for replays
    delivery_attempts  each try of a delivery: when, how long, the response code or the error
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grader.report import ReportStatus

# Integer primary keys that autoincrement on SQLite (INTEGER) and are 64-bit on PostgreSQL.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A time stored as naive UTC (``timestamp without time zone``, SQLite's text) and read back
    aware in UTC, so JSON and CSV say their zone and comparisons never mix naive and aware.

    An aware value is converted to UTC before it is stored (PostgreSQL would otherwise cast it
    with the session's time zone); a naive one is taken to be UTC already, as every stored row is.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JobState(StrEnum):
    """A job's lifecycle: queued -> running -> done | errored; running -> queued on a retry."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERRORED = "errored"


class SubmissionStatus(StrEnum):
    """What a submission's list row shows: its latest job's state, or its report's status."""

    QUEUED = "queued"
    GRADING = "grading"
    GRADED = "graded"
    ERRORED = "errored"


# The status a submission takes when a report is stored for it. Only graded reports are: an upload
# the intake rejects is refused at the door and never becomes a submission.
SUBMISSION_STATUS_OF_REPORT: dict[ReportStatus, SubmissionStatus] = {
    ReportStatus.GRADED: SubmissionStatus.GRADED,
}


class Decision(StrEnum):
    """What the hiring team does next with a submission."""

    ADVANCE = "advance"
    HOLD = "hold"
    REJECT = "reject"


class RevealReason(StrEnum):
    """Why a reviewer sees other reviewers' manual scores: they scored every item, or asked."""

    COMPLETED = "completed"
    REQUESTED = "requested"


class Base(DeclarativeBase):
    pass


class LeasedRow:
    """The columns of a leased queue's row (a job, a delivery): the same claim, lease and retry
    rules (``grader.store._queue``) read and write them in both tables."""

    state: Mapped[str] = mapped_column(String(20), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Reviewer(Base):
    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewerSession(Base):
    __tablename__ = "reviewer_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id", ondelete="CASCADE"),
                                             index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    reviewer: Mapped[Reviewer] = relationship(lazy="joined")


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    assignment_id: Mapped[str] = mapped_column(String(100), index=True)
    cohort: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200), default="")
    allowance: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    time_limit_seconds: Mapped[int | None] = mapped_column(
        Integer, nullable=True,
        comment="working time from the first bundle download; NULL: only the window applies")
    extra_time_percent: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        comment="an accommodation: the working-time limit lengthened by this percentage")
    extension_seconds: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        comment="working time reviewers added after the invite was made")
    started_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True,
        comment="the first download of the starter bundle; NULL until then")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_assignment_cohort", "assignment_id", "cohort"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invites.id"), index=True)
    assignment_id: Mapped[str] = mapped_column(String(100))
    cohort: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    files_dir: Mapped[str] = mapped_column(String(100), unique=True,
                                           comment="folder name under DATA_DIR/submissions")
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.QUEUED)
    total: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    invite: Mapped[Invite] = relationship(lazy="joined")


class Job(LeasedRow, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "run_after"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    progress: Mapped[str | None] = mapped_column(
        String(200), nullable=True,
        comment="the running attempt's latest step (grader.pipeline's progress messages); "
                "NULL before its first")


class StoredReport(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("job_id", name="uq_reports_job"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[float | None] = mapped_column(Float, nullable=True)
    metrics: Mapped[str] = mapped_column(Text, comment="JSON {metric: value}, for cohort charts")
    body: Mapped[str] = mapped_column(Text, comment="the report's JSON document")
    stability: Mapped[str | None] = mapped_column(
        Text, nullable=True,
        comment="JSON: the report set beside the submission's earlier gradings of the same "
                "content, instance and runner image (grader.stability); NULL when none shares it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualScore(Base):
    __tablename__ = "manual_scores"
    __table_args__ = (UniqueConstraint("submission_id", "reviewer_id", "item_id",
                                       name="uq_manual_scores_item"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    item_id: Mapped[str] = mapped_column(String(100), comment="the manual rubric item's id")
    points: Mapped[float] = mapped_column(Float)
    blind_points: Mapped[float | None] = mapped_column(
        Float, nullable=True,
        comment="the points last given before this reviewer saw others' scores; NULL when "
                "first given after")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[Reviewer] = relationship(lazy="joined")


class ManualReveal(Base):
    __tablename__ = "manual_reveals"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    revealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewNote(Base):
    __tablename__ = "review_notes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[Reviewer] = relationship(lazy="joined")


class DecisionRecord(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    decision: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[Reviewer] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("secret_sha256", name="uq_api_tokens_secret"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(
        String(20), comment="the token's first characters, not secret, to tell tokens apart")
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(
        String(500), comment="space-separated scopes (grader.tokens.Scope)")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, comment="NULL: never expires")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    reviewer: Mapped[Reviewer] = relationship(lazy="joined")


class AtsLink(Base):
    __tablename__ = "ats_links"
    __table_args__ = (UniqueConstraint("integration", "interview_id",
                                       name="uq_ats_links_interview"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    integration: Mapped[str] = mapped_column(
        String(40), comment="which applicant tracking system (grader.integrations)")
    interview_id: Mapped[str] = mapped_column(
        String(64), comment="the id the ATS knows this invite by (Greenhouse's "
                            "partner_interview_id); made by the grader")
    invite_id: Mapped[int] = mapped_column(ForeignKey("invites.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL"), nullable=True,
        comment="the API token the ATS sent the request with")
    candidate_ref: Mapped[str] = mapped_column(
        String(200), default="", server_default="",
        comment="the ATS's own reference to the candidate (a profile URL or id)")
    callback_url: Mapped[str | None] = mapped_column(
        Text, nullable=True, comment="where the ATS asked to be told of a result; NULL: it polls")
    callback_authorization: Mapped[str | None] = mapped_column(
        Text, nullable=True,
        comment="the Authorization header the callback carries, as the ATS asks "
                "(Greenhouse: Basic with the key it sent us); NULL: none")
    candidate_url: Mapped[str | None] = mapped_column(
        Text, nullable=True,
        comment="the candidate's link, shown in the ATS until the first upload (the "
                "grader sends no email); NULL after it")
    last_status: Mapped[str | None] = mapped_column(
        String(20), nullable=True, comment="the status last reported to the ATS; NULL before any")
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invite: Mapped[Invite] = relationship(lazy="joined")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(
        String(500), comment="space-separated event types it receives (grader.webhooks)")
    secret: Mapped[str] = mapped_column(
        String(200), comment="signs each delivery (HMAC-SHA256); kept as is, since signing needs "
                             "it")
    include_notes: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="its payloads carry reviewers' notes")
    source: Mapped[str] = mapped_column(
        String(20), comment="reviewer: registered on the API or pages; settings: "
                            "GRADER_DELIVERIES__WEBHOOK_URL")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(LeasedRow, Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_claim", "state", "run_after"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purpose: Mapped[str] = mapped_column(
        String(100), comment="what it is for: a webhook's event type, an ATS callback")
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="SET NULL"), nullable=True, index=True)
    event_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, comment="the webhook event's id, the same on every replay")
    replay_of: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(10))
    headers: Mapped[str] = mapped_column(Text, comment="JSON {name: value}, sent as they are")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    signing_secret: Mapped[str | None] = mapped_column(
        String(200), nullable=True, comment="signs each attempt (Grader-Signature); NULL: unsigned")
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(
        Integer, nullable=True, comment="NULL: no response (the error says why)")
    error: Mapped[str] = mapped_column(Text, default="")
    response_excerpt: Mapped[str] = mapped_column(
        Text, default="", comment="the start of the response's body, capped")
