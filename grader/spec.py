"""The assignment spec: ``assignments/<id>/assignment.yaml`` parsed into frozen pydantic models.

``load_assignment(folder)`` is the only way the grader reads a spec. It checks, in order:

1. YAML syntax and duplicate keys (``yaml.safe_load`` silently keeps the last of two keys);
2. the shape: every model forbids unknown fields, names and paths have fixed forms;
3. cross-references (``Assignment`` checks these itself, so a model built in code holds them too):
   rubric metrics name a metric some harness declares, rubric tests name a declared suite, scale
   anchors name baselines that recorded that metric, phase calls name entry points of that phase,
   and the rubric's weights sum to 100 with at least one quality component; manual rubric items
   have unique ids (distinct from the automatic rubric's) and levels whose points strictly ascend
   from a non-negative floor;
4. the folder: the id equals the folder's name, every declared path exists inside the folder, the
   candidate bundle holds no hidden file, and phase limits only tighten the deployment's ceiling.

Every problem becomes a ``SpecIssue`` (field path, problem, YAML line when it can be found), and all
of them are raised together as one ``SpecError``, one line each, e.g.
``assignments/rag/assignment.yaml:31: rubric[0].scale.anchors[1].baseline: no baseline named ...``.

Exceptions:

    SpecError           the spec is unreadable, malformed or inconsistent; carries ``issues``

Run ``python -m grader.spec > schemas/assignment.schema.json`` to regenerate the JSON Schema.
"""

from __future__ import annotations

import difflib
import itertools
import math
import types
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from sandbox import Limits, parse_size

__all__ = [
    "SUPPORTING_SUFFIXES",
    "Anchor",
    "Assignment",
    "Baseline",
    "BuildPhase",
    "CandidateSpec",
    "EntryPoint",
    "Harness",
    "HiddenSuite",
    "LimitOverrides",
    "ManualItem",
    "ManualLevel",
    "MetricSpec",
    "Phase",
    "Phases",
    "Release",
    "Reproducibility",
    "Role",
    "RubricComponent",
    "Scale",
    "ServePhase",
    "SpecError",
    "SpecIssue",
    "assignment_json_schema",
    "load_assignment",
]

SPEC_FILE = "assignment.yaml"
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
ReleasedField = Literal["total", "components", "status", "metrics", "hidden_tests", "logs"]
Loc = tuple[str | int, ...]


# --- errors -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpecIssue:
    """One problem: where (``loc``, a pydantic-style path; () for the whole file) and what."""

    loc: Loc
    problem: str
    line: int | None = None

    @property
    def field(self) -> str:
        """The path as written in messages: ``rubric[2].scale.anchors[0].baseline``."""
        return _format_loc(self.loc)


class SpecError(Exception):
    """An assignment spec that cannot be used; the message lists every issue, one per line."""

    def __init__(self, issues: Sequence[SpecIssue], file: Path | None = None) -> None:
        self.issues = tuple(issues)
        self.file = file
        super().__init__("\n".join(self._render(issue) for issue in self.issues))

    def _render(self, issue: SpecIssue) -> str:
        where = "" if self.file is None else str(self.file)
        if where and issue.line is not None:
            where += f":{issue.line}"
        parts = [part for part in (where, issue.field, issue.problem) if part]
        return ": ".join(parts)


# --- field types --------------------------------------------------------------------------------

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
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


def _is_size(limit: str) -> bool:
    return any(getattr(meta, "func", None) is parse_size
               for meta in Limits.model_fields[limit].metadata)


def _override_field(name: str) -> tuple[Any, Any]:
    info = Limits.model_fields[name]
    annotation: Any = (Annotated[(info.annotation, *info.metadata)] if info.metadata
                       else info.annotation)
    if _is_size(name):
        annotation = Annotated[annotation, WithJsonSchema(
            {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]})]
    # Default None without Optional: an explicit `memory: null` is an error, not "no override".
    return annotation, Field(None, description=info.description)


# Generated from Limits so a new limit is overridable the day it exists.
LimitOverrides: type[BaseModel] = create_model(
    "LimitOverrides",
    __config__=ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False),
    __doc__="Limits this phase lowers: any field of ``sandbox.Limits`` (sizes may be '2g'); "
            "``runtime: runsc`` requires the gVisor isolation tier.",
    **{name: _override_field(name) for name in Limits.model_fields},
)


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
    """Report fields a candidate may see; everything else is for reviewers only."""

    candidate_fields: list[ReleasedField] = Field(["status"],
                                                  json_schema_extra={"uniqueItems": True})

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

    @model_validator(mode="after")
    def _references(self) -> Assignment:
        # Raised outside pydantic's ValidationError so each issue keeps its own field path.
        issues = [SpecIssue(loc, problem) for loc, problem in _reference_issues(self)]
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


# --- cross-references ---------------------------------------------------------------------------

def _choices(names: Iterable[str]) -> str:
    listed = ", ".join(names)
    return f"declared: {listed}" if listed else "none are declared"


def _duplicates(items: Sequence[Any], attribute: str, at: Loc) -> Iterator[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = getattr(item, attribute)
        if name in seen:
            yield ((*at, index, attribute),
                   f"{name!r} is already used by {_format_loc((*at, seen[name]))}")
        seen.setdefault(name, index)


def _json_type_matches(value: Any, schema: dict[str, Any]) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    names = expected if isinstance(expected, list) else [expected]
    checks = {"string": lambda v: isinstance(v, str),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "boolean": lambda v: isinstance(v, bool), "array": lambda v: isinstance(v, list),
              "object": lambda v: isinstance(v, dict), "null": lambda v: v is None}
    return any(checks[name](value) for name in names if name in checks)


def _phase_call(a: Assignment, at: Loc, name: str, phase: str
                ) -> Iterator[tuple[Loc, str]]:
    points = {ep.name: ep for ep in a.entry_points}
    entry = points.get(name)
    if entry is None:
        yield at, f"no entry point named {name!r}; {_choices(points)}"
    elif entry.phase != phase:
        yield at, f"{name!r} is an entry point of the {entry.phase} phase, not {phase}"


def _phase_issues(a: Assignment) -> Iterator[tuple[Loc, str]]:
    build, serve = a.phases.build, a.phases.serve
    call_issues = list(_phase_call(a, ("phases", "build", "call"), build.call, "build"))
    load_issues = list(_phase_call(a, ("phases", "serve", "load"), serve.load, "serve"))
    yield from call_issues
    yield from load_issues
    # Checks against a call that does not resolve would only repeat the same mistake.
    if not call_issues:
        params = a.entry_point(build.call).params
        for missing in [name for name in params if name not in build.arguments]:
            yield (("phases", "build", "arguments"),
                   f"missing argument {missing!r} of {build.call}()")
        for name, value in build.arguments.items():
            if name not in params:
                yield (("phases", "build", "arguments", name),
                       f"{build.call}() has no parameter {name!r}; it takes {', '.join(params)}")
            elif not _json_type_matches(value, params[name]):
                yield (("phases", "build", "arguments", name),
                       f"{value!r} does not match the declared type {params[name].get('type')}")
        for index, ep in enumerate(a.entry_points):
            if ep.phase == "build" and ep.name != build.call:
                yield (("entry_points", index, "phase"),
                       f"{ep.name!r} is a build entry point, but the build phase calls only "
                       f"{build.call!r}")
    if not load_issues and list(a.entry_point(serve.load).params) != ["work_dir"]:
        yield (("phases", "serve", "load"),
               f"{serve.load}() must take exactly one parameter, work_dir; the grader calls it "
               "once with the build's work dir")


def _rubric_issues(a: Assignment) -> Iterator[tuple[Loc, str]]:
    total = sum(component.weight for component in a.rubric)
    if not math.isclose(total, 100.0, abs_tol=1e-9):
        yield ("rubric",), f"weights sum to {total:g}, not 100"
    if all(component.resolved_role == "supporting" for component in a.rubric):
        # Supporting points are scaled by the quality fraction: with no quality component there
        # is nothing to scale them by, and nothing keeps a submission that learned nothing at 0.
        yield ("rubric",), ("no quality component: mark the component that measures what the "
                            "assignment is about `role: quality`")
    suites = [suite.name for suite in a.hidden_tests]
    baselines = {baseline.name: baseline for baseline in a.baselines}
    for index, component in enumerate(a.rubric):
        at: Loc = ("rubric", index)
        if component.tests is not None and component.tests not in suites:
            yield ((*at, "tests"),
                   f"no hidden test suite named {component.tests!r}; {_choices(suites)}")
        if component.metric is None or component.scale is None:
            continue
        harness_name, _, metric_name = component.metric.partition(".")
        harness = next((h for h in a.harnesses if h.name == harness_name), None)
        if harness is None:
            yield ((*at, "metric"), f"no harness named {harness_name!r}; "
                   f"{_choices(h.name for h in a.harnesses)}")
            continue
        metric = next((m for m in harness.metrics if m.name == metric_name), None)
        if metric is None:
            yield ((*at, "metric"), f"harness {harness_name!r} declares no metric "
                   f"{metric_name!r}; {_choices(m.name for m in harness.metrics)}")
            continue
        yield from _anchor_issues(component, metric, baselines, (*at, "scale", "anchors"))


def _anchor_issues(component: RubricComponent, metric: MetricSpec, baselines: dict[str, Baseline],
                   at: Loc) -> Iterator[tuple[Loc, str]]:
    assert component.scale is not None and component.metric is not None
    placed: list[tuple[int, str, float]] = []
    for index, anchor in enumerate(component.scale.anchors):
        baseline = baselines.get(anchor.baseline)
        if baseline is None:
            yield ((*at, index, "baseline"), f"no baseline named {anchor.baseline!r}; "
                   f"{_choices(baselines)}")
        elif component.metric in baseline.scores:
            # A score not yet recorded is fine here, so `grader assignment baseline` and `try` can
            # run on a new assignment; validate requires every anchor's score.
            placed.append((index, anchor.baseline, baseline.scores[component.metric]))
    # More points for a worse score would make the scale reward getting worse.
    for (_, low_name, low), (index, high_name, high) in itertools.pairwise(placed):
        if (high < low) if metric.higher_is_better else (high > low):
            direction = "higher" if metric.higher_is_better else "lower"
            yield ((*at, index), f"{high_name} ({high:g}) earns more points than {low_name} "
                   f"({low:g}), but {metric.name} is better when {direction}")


def _reference_issues(a: Assignment) -> list[tuple[Loc, str]]:
    issues: list[tuple[Loc, str]] = []
    for field, attribute in (("entry_points", "name"), ("hidden_tests", "name"),
                             ("harnesses", "name"), ("rubric", "id"), ("baselines", "name"),
                             ("manual_rubric", "id")):
        issues.extend(_duplicates(getattr(a, field), attribute, (field,)))
    if a.instance is not None and a.candidate.public_data is None:
        issues.append((("instance", "generator"), "an instance generator makes public data: "
                                                  "declare candidate.public_data"))
    automatic = {component.id for component in a.rubric}
    for index, item in enumerate(a.manual_rubric):
        if item.id in automatic:
            issues.append((("manual_rubric", index, "id"),
                           f"{item.id!r} is already the id of an automatic rubric component"))
    for index, harness in enumerate(a.harnesses):
        issues.extend(_duplicates(harness.metrics, "name", ("harnesses", index, "metrics")))
    issues.extend(_phase_issues(a))
    issues.extend(_rubric_issues(a))
    declared = {f"{h.name}.{m.name}" for h in a.harnesses for m in h.metrics}
    for index, baseline in enumerate(a.baselines):
        for key in baseline.scores:
            if key not in declared:
                issues.append((("baselines", index, "scores", key),
                               f"no harness declares the metric {key!r}"))
    return issues


# --- the folder ---------------------------------------------------------------------------------

def _folder_issues(a: Assignment, folder: Path, ceiling: Limits) -> Iterator[tuple[Loc, str]]:
    if a.id != folder.name:
        yield ("id",), f"{a.id!r} must equal the assignment's folder name {folder.name!r}"
    root = folder.resolve()
    declared: list[tuple[Loc, Path, str]] = [(("candidate", "bundle"), a.candidate.bundle, "dir")]
    if a.candidate.public_data is not None:
        declared.append((("candidate", "public_data"), a.candidate.public_data, "any"))
    hidden: list[tuple[Loc, Path, str]] = [
        *([(("instance", "generator"), a.instance.generator, "file")] if a.instance else []),
        *((("hidden_tests", i, "path"), s.path, "any") for i, s in enumerate(a.hidden_tests)),
        *((("harnesses", i, "path"), h.path, "file") for i, h in enumerate(a.harnesses)),
        *((("baselines", i, "path"), b.path, "dir") for i, b in enumerate(a.baselines)),
    ]
    for at, relative, kind in (*declared, *hidden):
        path = (folder / relative).resolve()
        if not path.is_relative_to(root):
            yield at, f"{relative} leads outside the assignment folder"
        elif not path.exists():
            yield at, f"{folder / relative} does not exist"
        elif kind == "dir" and not path.is_dir():
            yield at, f"{folder / relative} is not a folder"
        elif kind == "file" and not path.is_file():
            yield at, f"{folder / relative} is not a file"
    # What candidates receive must never hold hidden tests, harnesses or reference solutions.
    for at, shipped, _ in declared:
        leaked = [f"{_format_loc(hidden_at)} ({secret})" for hidden_at, secret, _ in hidden
                  if (folder / secret).resolve().is_relative_to((folder / shipped).resolve())]
        if leaked:
            yield at, (f"{shipped} contains {', '.join(leaked)}, which must never reach "
                       "candidates")
    for name in ("build", "serve"):
        phase: Phase = getattr(a.phases, name)
        for field, value in phase.limit_overrides.items():
            try:
                ceiling.tightened(**{field: value})
            except ValueError:
                yield (("phases", name, "limits", field),
                       f"{_shown(field, value)} exceeds the deployment's limit of "
                       f"{_shown(field, getattr(ceiling, field))}; an assignment may only lower "
                       "limits")
    try:
        serve_timeout = a.phases.serve.limits_within(ceiling).timeout
    except ValueError:
        return  # already reported per field
    if a.phases.serve.call_timeout > serve_timeout:
        yield (("phases", "serve", "call_timeout"),
               f"{a.phases.serve.call_timeout:g}s exceeds the serve phase's timeout of "
               f"{serve_timeout:g}s")


def _shown(field: str, value: float) -> str:
    if _is_size(field) and value >= 1024:
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if value >= size:
                return f"{value / size:g} {unit}"
    return f"{value:g}"


# --- reading the file ---------------------------------------------------------------------------

def _format_loc(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for an invalid mapping key
            text += f".{part}" if text else str(part)
    return text


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The line of the deepest node of ``loc`` the YAML tree holds (1-based), or None."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((key, value) for key, value in node.value
                          if isinstance(key, yaml.ScalarNode) and key.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> Iterator[SpecIssue]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen and name != "<<":
                yield SpecIssue((*loc, name), "duplicate key; YAML would keep only "
                                "the last one", key.start_mark.line + 1)
            seen.add(name)
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` in an Assignment, for did-you-mean hints."""
    annotation: Any = Assignment
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return []
            annotation = annotation.model_fields[str(part)].annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _problem(error: Any) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; expected one of: {', '.join(allowed)}" if allowed else "")
        return f"unknown field {loc[-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match the pattern {error['ctx']['pattern']}"
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{error['msg']} (got {value!r})"
    return str(error["msg"])


def load_assignment(folder: Path, *, ceiling: Limits | None = None) -> Assignment:
    """Read, validate and cross-check ``folder/assignment.yaml``; SpecError lists every problem.

    ``ceiling`` is the deployment's container limits (default: ``get_settings().limits``); the
    assignment's phase limits may only lower them.
    """
    file = folder / SPEC_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecIssue((), f"cannot read the spec: {exc.strerror or exc}")],
                        file) from exc
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc)
        raise SpecError([SpecIssue((), f"not valid YAML: {problem}",
                                   mark.line + 1 if mark else None)], file) from exc
    duplicates = list(_duplicate_keys(tree))
    if duplicates:
        raise SpecError(duplicates, file)
    if not isinstance(data, dict):
        raise SpecError([SpecIssue((), "the document must be a mapping of fields", 1)], file)

    try:
        assignment = Assignment.model_validate(data)
    except ValidationError as exc:
        issues = [SpecIssue(e["loc"], _problem(e), _line_of(tree, e["loc"]))
                  for e in exc.errors()]
        raise SpecError(issues, file) from exc
    except SpecError as exc:
        located = [SpecIssue(i.loc, i.problem, _line_of(tree, i.loc))
                   for i in exc.issues]
        raise SpecError(located, file) from exc

    if ceiling is None:
        from grader.settings import get_settings  # settings are read on use, never on import

        ceiling = get_settings().limits
    issues = [SpecIssue(loc, problem, _line_of(tree, loc))
              for loc, problem in _folder_issues(assignment, folder, ceiling)]
    if issues:
        raise SpecError(issues, file)
    return assignment


def assignment_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``assignment.yaml``, for editors and for ``schemas/``."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Assignment.model_json_schema()}

