"""Deployment settings: environment variables (GRADER_*) or a .env file; read once, passed down."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.instance import AssignmentInstance, Instance, open_instance
from grader.intake import IntakeRules
from grader.spec import Assignment
from sandbox import DEFAULT_BASE_IMAGE, DEFAULT_DEBIAN_MIRROR, RUNNER_MODULES, Limits

BUILT_IN_ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"


class PreflightRules(BaseModel):
    """The candidates' free pre-flight check (``grader.preflight``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_hour: int = Field(5, ge=0, description="checks one invite may start per hour")
    budget_seconds: float = Field(30.0, gt=0, description="the time of one check, all its "
                                                          "steps together")
    concurrency: int = Field(1, ge=1, description="checks running at once in one web process "
                                                  "(beside the gradings)")


class DeliverySettings(BaseModel):
    """Outbound HTTP deliveries (``grader.deliveries``: webhooks, ATS callbacks), and one webhook
    endpoint given by the deployment beside those reviewers register (``grader.webhooks``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_seconds: float = Field(10.0, gt=0, le=30,
                                   description="bounds a whole attempt")
    max_attempts: int = Field(8, ge=1, description="tries of a delivery before it is failed")
    backoff_seconds: float = Field(30.0, ge=0, description="first retry delay; doubles")
    backoff_max_seconds: float = Field(3600.0, ge=0, description="cap on the retry delay")
    webhook_url: str | None = Field(None, description="an endpoint that receives every event")
    webhook_secret: SecretStr | None = Field(
        None, description="signs the deliveries to webhook_url (at least 32 characters)")
    webhook_notes: bool = Field(False, description="webhook_url receives reviewers' notes")
    private_networks: bool = Field(
        False, description="deliveries may go to loopback, private and link-local addresses "
                           "(a receiver inside your network); off, whoever registers a URL "
                           "cannot reach the grader itself or services beside it")

    @model_validator(mode="after")
    def _signed(self) -> DeliverySettings:
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if self.webhook_url and len(secret) < 32:
            raise ValueError("GRADER_DELIVERIES__WEBHOOK_URL needs "
                             "GRADER_DELIVERIES__WEBHOOK_SECRET of at least 32 random "
                             "characters, which its receiver verifies "
                             "signatures with (e.g. python -c 'import secrets; "
                             "print(secrets.token_hex(32))')")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADER_", env_file=".env",
                                      env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("data"), description="submissions, reports and the SQLite store")
    assignments_dir: Path = Field(BUILT_IN_ASSIGNMENTS, description="one folder per assignment")
    runner_image: str = Field("ml-grader-runner:latest", description="tag of the runner image")
    base_image: str = Field(DEFAULT_BASE_IMAGE, description="base of the runner image")
    debian_mirror: str = Field(DEFAULT_DEBIAN_MIRROR, description="for the bootstrapped base")
    limits: Limits = Field(default_factory=Limits,
                           description="ceilings for every candidate container")
    warm_sessions: bool = Field(
        True, description="candidate containers import the ML stack their code names before "
                          "its phase begins (and, started ahead, while the previous phase "
                          "runs); off: each phase imports it itself, cold")
    intake: IntakeRules = Field(default_factory=IntakeRules, description="caps on uploaded zips")
    instance_secret: SecretStr | None = Field(
        None, description="the deployment's instance secret (at least 32 random characters): "
                          "every assignment's hidden split and public data derive from it; "
                          "default: a random one made once and kept in DATA_DIR/instance_secret. "
                          "Changing it changes every hidden split: back it up with the data")
    demo: bool = Field(
        False, description="grade on the assignments' published seeds (the demo instance) "
                           "instead of this deployment's private instance: for trying the grader "
                           "and its own tests only; every report and page then says so")

    # --- the service (`grader serve`, `grader worker`) -------------------------------------------
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite at DATA_DIR/grader.db. "
                          "Standalone workers on other hosts use PostgreSQL, e.g. "
                          "postgresql+psycopg://grader:secret@db/grader")
    host: str = Field("127.0.0.1", description="address `grader serve` listens on")
    port: int = Field(8000, ge=0, le=65535, description="port `grader serve` listens on")
    public_url: str = Field("http://127.0.0.1:8000",
                            description="base of the links in invites, as candidates reach it")
    workers: int | None = Field(
        None, ge=0, description="grading slots per process; default and ceiling: as many as "
                                "the host's CPUs hold of the smallest assignment's CPUs. How "
                                "many run at once is the CPU budget's: each grading takes its "
                                "assignment's CPUs from the host's")
    lease_seconds: float = Field(60.0, gt=0, description="a claimed job's lease; renewed by "
                                                         "heartbeats every third of it")
    max_attempts: int = Field(3, ge=1, description="tries of a job before it is marked errored")
    retry_backoff_seconds: float = Field(15.0, ge=0, description="first retry delay; doubles")
    retry_backoff_max_seconds: float = Field(600.0, ge=0, description="cap on the retry delay")
    poll_seconds: float = Field(1.0, gt=0, description="how often an idle worker looks for jobs")
    job_timeout_seconds: float = Field(
        7200.0, gt=0, description="a whole grading's deadline (the phases have their own)")
    session_secret: SecretStr | None = Field(
        None, description="signs cookies; default: a random secret kept in DATA_DIR")
    session_hours: float = Field(12.0, gt=0, description="reviewer sessions expire after this")
    cookie_secure: bool = Field(False, description="mark cookies Secure (serve over HTTPS)")
    invite_days: float = Field(14.0, gt=0, description="default validity of an invite")
    preflight: PreflightRules = Field(default_factory=PreflightRules,
                                      description="the candidates' free pre-flight check")
    deliveries: DeliverySettings = Field(default_factory=DeliverySettings,
                                         description="webhooks and other outbound requests")
    ashby_api_key: SecretStr | None = Field(
        None, description="the customer's Ashby API key (candidatesWrite): graded results are "
                          "sent to Ashby's assessment.update with it; unset: none are sent")
    ashby_api_url: str = Field("https://api.ashbyhq.com", description="where Ashby's API is")

    def session_preload(self, extra: Sequence[str] = ()) -> tuple[str, ...]:
        """What a sandbox session may import ahead (its ``preload``): the runner image's
        packages and ``extra`` (an assignment's environment's), or nothing with warm sessions
        off. The one place the switch is read."""
        return (*RUNNER_MODULES, *extra) if self.warm_sessions else ()

    def instance(self) -> Instance:
        """The instance this deployment grades on: its private one, or the demo."""
        if self.demo:
            return Instance.demo()
        secret = self.instance_secret.get_secret_value() if self.instance_secret else None
        return open_instance(self.data_dir, secret)

    def assignment_instance(self, assignment: Assignment, folder: Path) -> AssignmentInstance:
        """One assignment's instance, its public data made once under DATA_DIR/instances."""
        # Absolute: the public data is bind-mounted, and the engine takes no relative paths.
        return self.instance().prepare(assignment, folder,
                                       self.data_dir.resolve() / "instances")

    def resolved_database_url(self) -> str:
        """The store's URL: the configured one, or SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'grader.db').resolve()}"

    def invite_url(self, token: str) -> str:
        """The link a candidate opens: the invite page of this token on the public URL."""
        return f"{self.public_url.rstrip('/')}/i/{token}"

    def report_url(self, submission_id: int) -> str:
        """A submission's report page on the public URL, for reviewers (a login is asked)."""
        return f"{self.public_url.rstrip('/')}/review/submissions/{submission_id}"


@functools.cache
def get_settings() -> Settings:
    return Settings()
