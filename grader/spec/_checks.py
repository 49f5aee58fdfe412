"""Checks a spec's shape cannot express: cross-references between its sections, and its folder.

``reference_issues`` runs inside ``Assignment``'s validator, so a model built in code holds the
cross-references too; ``folder_issues`` needs the folder and the deployment's ceiling, so only
``load_assignment`` runs it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.spec._environment import lock_issues
from grader.spec._errors import Loc, format_loc
from grader.spec._limits import shown
from sandbox import Limits

if TYPE_CHECKING:  # the models import these checks to run them
    from grader.spec._models import Assignment, Baseline, MetricSpec, Phase, RubricComponent


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
                   f"{name!r} is already used by {format_loc((*at, seen[name]))}")
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


def reference_issues(a: Assignment) -> list[tuple[Loc, str]]:
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

def folder_issues(a: Assignment, folder: Path, ceiling: Limits) -> Iterator[tuple[Loc, str]]:
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
        leaked = [f"{format_loc(hidden_at)} ({secret})" for hidden_at, secret, _ in hidden
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
                       f"{shown(field, value)} exceeds the deployment's limit of "
                       f"{shown(field, getattr(ceiling, field))}; an assignment may only lower "
                       "limits")
    yield from lock_issues(a.environment, folder, a.id)
    try:
        serve_timeout = a.phases.serve.limits_within(ceiling).timeout
    except ValueError:
        return  # already reported per field
    if a.phases.serve.call_timeout > serve_timeout:
        yield (("phases", "serve", "call_timeout"),
               f"{a.phases.serve.call_timeout:g}s exceeds the serve phase's timeout of "
               f"{serve_timeout:g}s")

