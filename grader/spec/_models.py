"""The spec's models: one frozen pydantic model per section of ``assignment.yaml``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from grader.spec._checks import reference_issues
from grader.spec._environment import EnvironmentSpec
from grader.spec._errors import SpecError, SpecIssue
from grader.spec._limits import LimitOverrides
from sandbox import Limits

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
ReleasedField = Literal["total", "components", "status", "metrics", "hidden_tests", "logs"]
FeedbackRelease = Literal["immediately", "after_close", "never"]


# --- field types --------------------------------------------------------------------------------

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"  # ids and names: assignments, harnesses, rubric items
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
MetricKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
                                 description="harness.metric")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _relative_path(value: Any) -> Any:
    # Paths are joined to the assignment folder; an absolute or escaping one would read elsewhere.
    if isinstance(value, str):
        path = Path(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"{value!r} must be a path relative to the assignment folder, "
                             "without '..'")
    return value


RelPath = Annotated[Path, BeforeValidator(_relative_path),
                    WithJsonSchema({"type": "string", "description":
                                    "a path relative to the assignment folder"})]


def _json_schema_fragment(value: Any) -> Any:
    # A bare type name is shorthand; storing every shape as a schema gives callers one form.
    if value is None:
        return {"type": "null"}
    if isinstance(value, str):
        if value not in JSON_TYPES:
            raise ValueError(f"{value!r} is not a JSON type; use one of {', '.join(JSON_TYPES)} "
                             "or a JSON Schema mapping")
        return {"type": value}
    if isinstance(value, dict):
        declared = value.get("type")
        names = declared if isinstance(declared, list) else [declared]
        unknown = [name for name in names if name is not None and name not in JSON_TYPES]
        if unknown:
            raise ValueError(f"type {unknown[0]!r} is not a JSON type; use one of "
                             f"{', '.join(JSON_TYPES)}")
    return value


JsonSchemaFragment = Annotated[
    dict[str, Any], BeforeValidator(_json_schema_fragment),
    WithJsonSchema({"anyOf": [{"enum": list(JSON_TYPES), "type": "string"}, {"type": "object"},
                              {"type": "null"}],
                    "description": "a JSON type name or a JSON Schema fragment"}),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- the models ---------------------------------------------------------------------------------

class CandidateSpec(_Model):
    """What candidates get and must hand back. Paths are relative to the assignment folder."""

    bundle: RelPath = Field(description="the starter bundle folder shipped to candidates")
    required_files: list[str] = Field(["solution.py"], min_length=1,
                                      description="files every submission's root must hold")
    max_submissions: int = Field(ge=1, description="uploads one candidate may make")
    public_data: RelPath | None = Field(None, description="mounted read-only at /data")

    @field_validator("required_files")
    @classmethod
    def _holds_solution(cls, files: list[str]) -> list[str]:
        if "solution.py" not in files:
            raise ValueError("must include solution.py: the grader calls its entry points")
        for name in files:
            _relative_path(name)
        return files


class EntryPoint(_Model):
    """A function of ``solution.py``. ``params`` and ``returns`` are stored as JSON Schema
    fragments; a bare type name such as ``string`` is read as ``{type: string}``."""

    name: Identifier = Field(description="the function's name in solution.py")
    phase: Literal["build", "serve"]
    params: dict[Identifier, JsonSchemaFragment] = Field(
        default_factory=dict, description="parameter name to JSON type name or schema, in order")
    returns: JsonSchemaFragment


class Phase(_Model):
    """Common to both phases: resource limits as partial overrides of the deployment's."""

    limits: LimitOverrides = Field(default_factory=LimitOverrides)  # type: ignore[valid-type]

    @property
    def limit_overrides(self) -> dict[str, Any]:
        return self.limits.model_dump(exclude_unset=True)

    def limits_within(self, ceiling: Limits) -> Limits:
        """The ceiling lowered by this phase's overrides; ValueError if one would raise it."""
        return ceiling.tightened(**self.limit_overrides)


class BuildPhase(Phase):
    """One call of a build entry point, with these keyword arguments."""

    call: Identifier
    arguments: dict[Identifier, Any] = Field(default_factory=dict)


class ServePhase(Phase):
    """``load(work_dir=...)`` once, then query calls from hidden tests and harnesses."""

    load: Identifier
    call_timeout: float = Field(gt=0, description="seconds allowed for each call")
    shared: bool = Field(False, description=(
        "one serve session (one load()) for every hidden suite and harness, in the order "
        "declared, instead of a fresh session each; only for suites that hold when run after "
        "each other. The grader then checks that a repeated call gets the same answer"))


class Phases(_Model):
    build: BuildPhase
    serve: ServePhase


class HiddenSuite(_Model):
    """Pytest tests (a file or folder) using the ``candidate`` and ``context`` fixtures; they run
    on the trusted side and are never sent to candidates."""

    name: Name
    path: RelPath


class MetricSpec(_Model):
    name: Name
    higher_is_better: bool


class Harness(_Model):
    """A module defining ``evaluate(candidate, context) -> dict[str, float]``, run on the trusted
    side; ``context.hidden_dir`` is the hidden folder and ``context.seed(name)`` a seed in force."""

    name: Name
    path: RelPath
    metrics: list[MetricSpec] = Field(min_length=1)


class Anchor(_Model):
    """A recorded baseline and the fraction of the component's points its score earns."""

    baseline: Name
    points: Fraction


_Pointed = TypeVar("_Pointed", bound="Anchor | ManualLevel")


def _strictly_rising(items: list[_Pointed], field: str, verb: str) -> list[_Pointed]:
    """Scale anchors and manual levels alike are listed by strictly rising points."""
    for index in range(1, len(items)):
        if items[index].points <= items[index - 1].points:
            raise ValueError(f"points must strictly {verb}: {field}[{index}] has "
                             f"{items[index].points:g} after {items[index - 1].points:g}")
    return items


class Scale(_Model):
    """Piecewise linear between anchors, listed by strictly increasing points."""

    anchors: list[Anchor] = Field(min_length=2)

    @field_validator("anchors")
    @classmethod
    def _increasing(cls, anchors: list[Anchor]) -> list[Anchor]:
        return _strictly_rising(anchors, "anchors", "increase")


Role = Literal["quality", "supporting"]
# Metrics that measure time or size: a submission that does nothing is fast and small, so by
# default they only support quality, never stand for it.
SUPPORTING_SUFFIXES = ("_ms", "_s", "_sec", "_seconds", "_bytes", "_kib", "_mib", "_gib")


class RubricComponent(_Model):
    """Scores exactly one thing: a metric (``harness.metric``, placed on ``scale``) or the share of
    passed tests in one hidden suite (``tests``). A ``quality`` component counts in full; a
    ``supporting`` one (tests, calibration, speed) has its points scaled by the submission's
    quality fraction (the weighted mean fraction of the quality components), so it never lifts a
    submission that learned nothing."""

    id: Name
    title: str = Field(min_length=1, description="shown to reviewers and, if released, candidates")
    weight: float = Field(gt=0, le=100)
    metric: MetricKey | None = None
    tests: Name | None = None
    scale: Scale | None = None
    role: Role | None = Field(
        None, description="quality: measures the skill the assignment is about, counted in full; "
                          "supporting: its points are scaled by the quality fraction. Default: "
                          "supporting for tests and for metrics named like a time or a size "
                          f"({', '.join(SUPPORTING_SUFFIXES)}), quality for other metrics")

    @property
    def resolved_role(self) -> Role:
        """``role``, or its default when unset."""
        if self.role is not None:
            return self.role
        if self.tests is not None or (self.metric or "").endswith(SUPPORTING_SUFFIXES):
            return "supporting"
        return "quality"

    @model_validator(mode="after")
    def _one_source(self) -> RubricComponent:
        if (self.metric is None) == (self.tests is None):
            raise ValueError("set exactly one of metric or tests, not both"
                             if self.metric else "set exactly one of metric or tests")
        if self.metric is not None and self.scale is None:
            raise ValueError("a metric component needs a scale")
        if self.tests is not None and self.scale is not None:
            raise ValueError("a tests component scores the share of passed tests; drop its scale")
        return self


class ManualLevel(_Model):
    """One level a reviewer may give a manual item: its points and what earns them."""

    points: float = Field(ge=0, description="points this level is worth (0 or more)")
    description: str = Field(min_length=1, description="what a submission at this level shows")


class ManualItem(_Model):
    """A rubric item scored by reviewers on the report page, never by the grader (for example
    "README explains trade-offs"). Its levels are listed by strictly ascending points, the first
    at 0 or more; the last level's points are the item's maximum. Manual points are kept apart
    from the automatic total (which is out of 100): the report page shows both and their sum,
    out of 100 plus the manual items' maxima."""

    id: Name = Field(description="unique among manual items and distinct from the automatic "
                                 "rubric's ids")
    title: str = Field(min_length=1, description="shown to reviewers, never to candidates")
    levels: list[ManualLevel] = Field(min_length=2, description="by strictly ascending points")

    @field_validator("levels")
    @classmethod
    def _ascending(cls, levels: list[ManualLevel]) -> list[ManualLevel]:
        return _strictly_rising(levels, "levels", "ascend")

    @property
    def max_points(self) -> float:
        return self.levels[-1].points

    def level(self, points: float) -> ManualLevel | None:
        """The level worth ``points``, or None when the item offers no such level."""
        return next((level for level in self.levels
                     if math.isclose(level.points, points, abs_tol=1e-9)), None)


class Baseline(_Model):
    """A recorded solution (a folder with its own solution.py) and the metrics it scored."""

    name: Name
    path: RelPath
    scores: dict[MetricKey, float] = Field(default_factory=dict)


class InstanceSpec(_Model):
    """How the assignment makes its data per deployment instance (grader.instance)."""

    generator: RelPath = Field(
        description="a module under hidden/ defining public_files(seeds) -> {relative path: "
                    "bytes} (the public data of an instance, written in place of "
                    "candidate.public_data; under the published seeds it equals the committed "
                    "files) and hidden_items(seeds) -> [JSON rows] (the hidden split as graded)")


class Reproducibility(_Model):
    tolerance: float = Field(ge=0, description="absolute, for baseline re-runs on another machine")
    seeds: dict[Identifier, int] = Field(default_factory=dict)


class Release(_Model):
    """Report fields a candidate may see, and when; everything else is for reviewers only."""

    candidate_fields: list[ReleasedField] = Field(["status"],
                                                  json_schema_extra={"uniqueItems": True})
    feedback: FeedbackRelease = Field(
        "immediately",
        description="when a candidate sees those fields of a graded submission: immediately; "
                    "after_close, once their invite takes no more uploads (its window or working "
                    "time has ended); or never, when reviewers share results themselves")

    @field_validator("candidate_fields")
    @classmethod
    def _unique(cls, fields: list[str]) -> list[str]:
        repeated = [name for name, count in Counter(fields).items() if count > 1]
        if repeated:
            raise ValueError(f"{repeated[0]!r} is listed twice")
        return fields


class Assignment(_Model):
    """One take-home assessment, as ``assignment.yaml`` declares it.

    ``model_validate`` raises ValidationError for a wrong shape and, once the shape is right,
    SpecError (without a file) for broken cross-references. Paths stay relative to the folder.
    """

    id: Name = Field(description="equals the assignment's folder name")
    title: str = Field(min_length=1, description="the assignment's name, as candidates see it")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$",
                         description='semantic version, quoted in YAML: "1.0.0"')
    summary: str = Field(min_length=1, description="one paragraph for reviewers and listings")
    candidate: CandidateSpec
    entry_points: list[EntryPoint] = Field(min_length=1)
    phases: Phases
    hidden_tests: list[HiddenSuite] = Field(default_factory=list)
    harnesses: list[Harness] = Field(default_factory=list)
    rubric: list[RubricComponent] = Field(min_length=1)
    manual_rubric: list[ManualItem] = Field(
        default_factory=list, description="items reviewers score by hand, beside the automatic "
                                          "rubric's 100 points (see ManualItem)")
    baselines: list[Baseline] = Field(default_factory=list)
    reproducibility: Reproducibility
    instance: InstanceSpec | None = Field(
        None, description="the generator that makes public data per deployment instance; "
                          "without it the committed public data serves every instance")
    release: Release = Field(default_factory=Release)
    environment: EnvironmentSpec | None = Field(
        None, description="extra packages on top of the runner image, pinned in environment.lock "
                          "(see EnvironmentSpec); without it candidates get the runner image")

    @model_validator(mode="after")
    def _references(self) -> Assignment:
        # Raised outside pydantic's ValidationError so each issue keeps its own field path.
        issues = [SpecIssue(loc, problem) for loc, problem in reference_issues(self)]
        if issues:
            raise SpecError(issues)
        return self

    def entry_point(self, name: str) -> EntryPoint:
        return _named(self.entry_points, name, "entry point")

    def baseline(self, name: str) -> Baseline:
        return _named(self.baselines, name, "baseline")

    def harness(self, name: str) -> Harness:
        return _named(self.harnesses, name, "harness")

    def suite(self, name: str) -> HiddenSuite:
        return _named(self.hidden_tests, name, "hidden test suite")

    def metric(self, key: str) -> MetricSpec:
        """The metric a ``harness.metric`` key names."""
        harness, _, metric = key.partition(".")
        return _named(self.harness(harness).metrics, metric, f"metric of harness {harness!r}")

    def manual_item(self, item_id: str) -> ManualItem | None:
        return next((item for item in self.manual_rubric if item.id == item_id), None)

    @property
    def manual_max_points(self) -> float:
        """The most points the manual rubric can add to the automatic 100."""
        return sum(item.max_points for item in self.manual_rubric)


def _named(items: Iterable[Any], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {kind} named {name!r}")
