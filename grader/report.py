"""The graded report: one versioned JSON document (schemas/report.schema.json) and its HTML.

Everything needed to reproduce a score is in ``reproduction``. Measurements that differ from run to
run (durations, memory, timestamps) live only in fields whose names end in ``_seconds``, ``_bytes``,
``_ms`` or ``_at``, so two gradings of one submission compare equal once those are set aside.

How sure a score is (``grader.intervals``): a metric's ``interval`` and ``items``, each
component's points at its ends and the total's ``total_interval``. A ``MetricResult`` made from a
``Measured`` value takes its interval and items, and its ``value`` carries them again, so code that
maps names to values (re-scoring a stored report) places the interval along with the value. A
metric over too few items has no interval, and ``MetricResult.unbounded`` says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.__about__ import __version__
from grader.environment_fit import EnvironmentFit
from grader.integrity import Integrity
from grader.intervals import Measured, unbounded
from grader.outcomes import CodeFailure
from grader.scoring import ComponentScore, total_interval
from grader.signals import Signals
from grader.templating import environment
from sandbox import Outcome

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "MetricResult",
    "PhaseResult",
    "Report",
    "ReportAnchors",
    "ReportStatus",
    "Reproduction",
    "TestCaseResult",
    "report_json_schema",
    "write_report",
]

REPORT_SCHEMA_VERSION: Final = "1.0"
LOG_CHARS = 20_000
# The only phase whose log a candidate may see (``release: logs``): the build, given only the public
# data. Serve sessions are handed hidden inputs (queries, texts, a probe build's data), and a
# submission that prints what it receives would carry them out in its log.
CANDIDATE_LOG_PHASE = "build"
# The candidate's view of a graded report whose code failed (``Report.failure``).
CANDIDATE_FAILED = "failed"


class ReportStatus(StrEnum):
    GRADED = "graded"
    REJECTED = "rejected"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


PHASE_FINISHED = "finished"  # the sandbox's message for a container that ran to its end


class PhaseResult(_Model):
    """How one container phase (build, or a serve session) went, measured on the trusted side."""

    name: str
    outcome: str
    message: str
    wall_seconds: float
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    work_bytes: int | None = Field(None, description="a build's saved work dir (its model), "
                                   "in bytes; none for serve sessions")
    log: str = Field("", description="the candidate's own output (reviewers only), capped")

    @property
    def failed(self) -> bool:
        """Whether the phase stopped short. Its ``outcome`` is the container's alone, "ok" when
        the candidate's code raised and the agent reported it cleanly; then only ``message`` (the
        failure described, instead of the container's "finished") tells."""
        return self.outcome != Outcome.OK or self.message != PHASE_FINISHED

    @property
    def verdict(self) -> str:
        """The outcome as a reader should see it: "failed" for code that raised in a container
        that ended "ok"."""
        if self.failed and self.outcome == Outcome.OK:
            return "failed"
        return self.outcome.replace("_", " ")


class TestCaseResult(BaseModel):
    """One hidden test's outcome (``grader.hidden.run_suite`` makes them from pytest's reports)."""

    __test__ = False  # not a pytest test class, despite the name

    suite: str
    name: str
    outcome: Literal["passed", "failed", "error", "skipped"]
    duration_seconds: float
    message: str


class MetricResult(_Model):
    name: str = Field(description="harness.metric")
    value: float | None
    higher_is_better: bool
    baselines: dict[str, float] = Field(description="each baseline's value in the anchors used "
                                                    "(see Report.anchors)")
    reason: str = ""
    interval: tuple[float, float] | None = Field(
        None, description="the 95% interval of the value over the hidden items (questions, rows) "
                          "it was computed on: [low, high] (grader.intervals: exact for a share "
                          "of items scoring 0 or 1, else bootstrapped). None when the harness did "
                          "not compute the value through a grader.metrics function over its "
                          "items (a timing, a flag, a figure computed by hand), when a "
                          "bootstrapped metric has too few items (see items), or there is no "
                          "value")
    items: int | None = Field(
        None, ge=0, description="how many hidden items the value was computed over; none when "
                                "the harness did not compute it through a grader.metrics "
                                "function (and in reports made before items were recorded)")

    @model_validator(mode="before")
    @classmethod
    def _interval_from_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(value := data.get("value"), Measured):
            data = {"interval": value.interval, "items": value.items, **data}
        return data

    @model_validator(mode="after")
    def _value_carries_interval(self) -> MetricResult:
        if self.value is not None and (self.interval is not None or self.items is not None):
            # Frozen, and validated just now: the same number, carrying its interval.
            object.__setattr__(self, "value", Measured(self.value, self.interval, self.items))
        return self

    @property
    def unbounded(self) -> str | None:
        """Why a value computed over hidden items has no interval (``grader.intervals``)."""
        if self.value is None or self.interval is not None:
            return None
        return unbounded(self.items)


class Reproduction(_Model):
    runner_image: str
    runner_image_digest: str | None
    assignment_id: str
    assignment_version: str
    assignment_sha256: str
    submission_sha256: str | None
    instance_id: str = Field(description='the deployment instance graded on; "demo": the '
                                         "published seeds, which every candidate can know")
    demo: bool = Field(description="graded on the published seeds, not a private instance")
    public_data_sha256: str | None = Field(description="the instance's public data (/data)")
    seeds: dict[str, int] = Field(description="the seeds in force; recorded for the demo only "
                                              "(a private instance's derive from its secret)")
    exposure: list[str] = Field(
        default_factory=list,
        description="what the assignment's public code still reads of this private instance's "
                    "hidden split (for example questions worded by a public grammar a parser "
                    "answers): the deployment's private content would close it")
    limits: dict[str, dict[str, Any]]
    grader_version: str = __version__


class ReportAnchors(_Model):
    """Which baselines' values placed the metrics: measured on the instance, or recorded."""

    source: Literal["instance", "recorded"] = Field(
        description='"instance": the baselines graded on the instance this report was graded '
                    "on, with the same assignment content and runner image (cited below); "
                    '"recorded": the scores in assignment.yaml, measured on the published seeds')
    provisional: bool = Field(
        description="placed on the recorded scores because this private instance's own were "
                    "not measured yet; re-scored when they are")
    instance_id: str
    assignment_sha256: str
    image_digest: str | None


class Report(_Model):
    schema_version: Literal["1.0"] = REPORT_SCHEMA_VERSION
    status: ReportStatus
    message: str = Field(description="one sentence for the candidate: what happened")
    assignment_title: str
    total: float | None = Field(description="points out of 100")
    total_interval: tuple[float, float] | None = Field(
        None, description="the total's 95% interval: the sum of the components' points at each "
                          "end of theirs (grader.scoring.total_interval); derived from the "
                          "components whenever a report is made or read. None when a component "
                          "has no interval")
    components: list[ComponentScore]
    metrics: list[MetricResult]
    hidden_tests: list[TestCaseResult]
    phases: list[PhaseResult]
    reproduction: Reproduction
    signals: Signals | None = Field(
        None, description="engineering signals for reviewers only (never released to "
                          "candidates, not scored unless the rubric says so)")
    integrity: Integrity | None = Field(
        None, description="integrity evidence for reviewers only (never released to candidates, "
                          "never scored): copies of hidden or reference files, hidden module "
                          "names, hidden items, implausible metrics")
    failure: CodeFailure | None = Field(
        None, description="set when the candidate's code failed (raised, timed out, ran out of "
                          "memory, ended, answered what cannot be used): the first such phase, "
                          "explained to the candidate and scrubbed of anything hidden; none for "
                          "code that ran, however weak its results")
    environment: EnvironmentFit | None = Field(
        None, description="the submission's imports the environment lacks and its "
                          "requirements.txt compared with it, from its files and the image's "
                          "package list only (always released to the candidate)")
    anchors: ReportAnchors | None = Field(
        None, description="the baselines' values the metrics were placed between (none in a "
                          "report made before anchors were measured per instance)")
    graded_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _derive_total_interval(self) -> Report:
        # Frozen, and validated just now: the one value the components give.
        object.__setattr__(self, "total_interval", total_interval(self.components, self.total))
        return self

    @property
    def unbounded(self) -> list[str]:
        """Each metric that has no interval for want of hidden items, as "name: why": a reason
        the total has none, shown beside it rather than nothing."""
        return [f"{m.name}: {why}" for m in self.metrics if (why := m.unbounded) is not None]

    def for_candidate(self, fields: list[str]) -> dict[str, Any]:
        """Only what the assignment releases to candidates (never logs unless released, and
        then only the build phase's: see ``CANDIDATE_LOG_PHASE``). When their code failed,
        ``status`` is "failed" (not "graded", which reads as a weak result) and ``failure`` is
        always theirs to read: it is made for them (``grader.outcomes.CodeFailure``), as is
        ``environment`` (their imports and requirements.txt against the environment)."""
        released: dict[str, Any] = {"status": self.status.value, "message": self.message}
        if self.failure is not None:
            released.update(status=CANDIDATE_FAILED, failure=self.failure.model_dump(mode="json"))
        if self.environment is not None:
            released["environment"] = self.environment.model_dump(mode="json")
        available = {
            "total": self.total,
            "components": [{"id": c.id, "title": c.title, "points": c.points, "weight": c.weight}
                           for c in self.components],
            "metrics": [{"name": m.name, "value": m.value} for m in self.metrics],
            "hidden_tests": {"passed": sum(t.outcome == "passed" for t in self.hidden_tests),
                             "total": len(self.hidden_tests)},
            "logs": [{"phase": p.name, "log": p.log} for p in self.phases
                     if p.name == CANDIDATE_LOG_PHASE],
        }
        released.update({name: available[name] for name in fields if name in available})
        return released


def report_json_schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Report.model_json_schema()}


def render_html(report: Report) -> str:
    return environment().get_template("report.html.j2").render(report=report)


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(report.model_dump_json(indent=2) + "\n")
    html_path.write_text(render_html(report))
    return json_path, html_path
