"""Scoring: rubric, metric values and hidden-test counts in; points and a reason per component out.

Pure functions, no I/O. A metric is placed on a piecewise linear scale between recorded baselines
(``scale_points``); a tests component earns the share of passed tests. The baselines' values (the
anchors) are an argument: those measured on the deployment's instance (``grader.anchors``), or by
default the ones recorded in ``assignment.yaml`` under the published seeds. Each component carries a
sentence a reviewer can read without opening the rubric, such as
"recall_at_10 0.850 is between bm25 (0.770, 50%) and reference (0.980, 100%)".

The floor holds for the whole total: the quality components (``RubricComponent.resolved_role``)
count in full, and their weighted mean fraction is the submission's quality fraction; every
supporting component (hidden tests, calibration, speed) earns its fraction times the quality
fraction, and its sentence says so. A submission whose quality sits at the floor therefore scores 0
however many tests it passes, and one at the reference's quality keeps every supporting point.

How sure the points are. A metric value that carries a 95% interval (``grader.intervals``) is
placed at both ends of it too: scales are monotone, so the ends' points are the points' interval.
A supporting component is scaled at each end by the quality fraction at that end, and the total's
interval is the sum of the components' points at each end (``total_interval``): as if every metric
sat at the same end at once, which they nearly do when measured on the same items (a little wider
than a joint bootstrap of the total when they do not). A tests component, a metric without a
value and one that cannot be placed score the same at both ends. A metric with a value but no
interval (not computed through ``grader.metrics``) leaves its component without an interval, and
so the total, and any supporting component if it is a quality one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from grader.intervals import Interval, interval_of
from grader.spec import Assignment, RubricComponent

__all__ = ["AnchorValues", "ComponentScore", "ScoreCard", "quality_fraction", "recorded_anchors",
           "rescore", "scale_points", "score", "total_interval"]

AnchorValues: TypeAlias = Mapping[str, Mapping[str, float]]
"""baseline name -> ``harness.metric`` -> the baseline's value: what a metric is placed between."""


def recorded_anchors(assignment: Assignment) -> dict[str, dict[str, float]]:
    """The baselines' scores recorded in ``assignment.yaml`` (measured on the published seeds)."""
    return {baseline.name: dict(baseline.scores) for baseline in assignment.baselines}


class ComponentScore(BaseModel):
    """One rubric component's result: ``points = weight * fraction``, rounded to 2 places."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    weight: float
    points: float = Field(ge=0)
    fraction: float = Field(ge=0, le=1)
    reason: str
    unscaled: float | None = Field(
        None, ge=0, le=1, description="a supporting component's fraction before it was scaled by "
                                      "the quality fraction; none when its points were not scaled")
    interval: tuple[float, float] | None = Field(
        None, description="the points at the two ends of the 95% interval of what it scores: its "
                          "metric's interval placed on the same scale, and for a supporting "
                          "component scaled by the quality fraction at that end; a tests "
                          "component's own points are fixed. None when its metric (or, for a "
                          "supporting component, a quality metric) has a value but no interval")


class ScoreCard(BaseModel):
    """The total out of 100 (rounded to 2 places) and how each component contributed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    total: float = Field(ge=0, le=100)
    components: list[ComponentScore]
    quality: float | None = Field(
        description="the quality fraction the supporting components were scaled by; none when "
                    "the rubric has no quality component")
    interval: tuple[float, float] | None = Field(
        None, description="the total's 95% interval (``total_interval``)")


def total_interval(components: Sequence[ComponentScore], total: float | None
                   ) -> Interval | None:
    """The total's 95% interval: the sum of the components' points at each end, widened by the
    rounding of points to include the total; None when a component has no interval."""
    if total is None or not components or any(c.interval is None for c in components):
        return None
    ends = [c.interval for c in components if c.interval is not None]
    low = round(sum(end[0] for end in ends), 2)
    high = round(sum(end[1] for end in ends), 2)
    return max(0.0, min(low, total)), min(100.0, max(high, total))


def _reached(value: float, anchors: Sequence[tuple[float, float]], higher_is_better: bool) -> int:
    """Index of the best anchor whose metric value ``value`` meets or beats; -1 if none."""
    sign = 1.0 if higher_is_better else -1.0
    reached = -1
    for index, (anchor_value, _) in enumerate(anchors):
        if sign * value >= sign * anchor_value:
            reached = index
    return reached


def _checked(anchors: Sequence[tuple[float, float]], higher_is_better: bool
             ) -> list[tuple[float, float]]:
    ordered = sorted(anchors, key=lambda anchor: anchor[1])
    if not ordered:
        raise ValueError("a scale needs at least one anchor")
    sign = 1.0 if higher_is_better else -1.0
    for (low, _), (high, _) in itertools.pairwise(ordered):
        # Otherwise a better metric value could earn fewer points.
        if sign * high < sign * low:
            raise ValueError("anchor values must not get worse as their points rise")
    return ordered


def scale_points(value: float, anchors: Sequence[tuple[float, float]],
                 higher_is_better: bool) -> float:
    """The points fraction of ``value`` on the scale through ``anchors`` (metric value, points).

    Linear between neighbouring anchors, clamped to the first and last anchor's points. When two
    anchors share a metric value, reaching it earns the higher points (so no division by zero).
    NaN earns 0.
    """
    ordered = _checked(anchors, higher_is_better)
    if math.isnan(value):
        return 0.0
    index = _reached(value, ordered, higher_is_better)
    if index < 0:
        return ordered[0][1]
    if index == len(ordered) - 1:
        return ordered[-1][1]
    (low_value, low_points), (high_value, high_points) = ordered[index], ordered[index + 1]
    # _reached picked the last anchor reached, so the next one differs in value: no zero division.
    share = (value - low_value) / (high_value - low_value)
    return low_points + share * (high_points - low_points)


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3g}" if 0 < abs(value) < 0.001 else f"{value:.3f}"


def _with_failure(sentence: str, failure: str | None) -> str:
    return f"{sentence} ({failure})" if failure else sentence


# A placed fraction, its sentence, and its fractions at the ends of the interval (None: unknown).
_Placed: TypeAlias = tuple[float, str, tuple[float, float] | None]
_FIXED = (0.0, 0.0)  # zero for want of a value or a placement: no doubt about it


def _metric(component: RubricComponent, assignment: Assignment,
            metrics: Mapping[str, float | None], failures: Mapping[str, str],
            anchors: AnchorValues) -> _Placed:
    assert component.metric is not None and component.scale is not None  # the spec ensures it
    key = component.metric
    harness, _, name = key.partition(".")
    failure = failures.get(key) or failures.get(harness)
    value = metrics.get(key)
    if value is None:
        return 0.0, f"no value: {failure or f'the {harness} harness reported no {name}'}", _FIXED
    if math.isnan(value):
        return 0.0, _with_failure(f"{name} is not a number (NaN)", failure), _FIXED
    higher = assignment.metric(key).higher_is_better
    unrecorded = [anchor.baseline for anchor in component.scale.anchors
                  if key not in anchors.get(anchor.baseline, {})]
    if unrecorded:
        return 0.0, (f"{name} {_number(value)} is not placed: {', '.join(unrecorded)} recorded no "
                     f"{key} yet (run `grader assignment baseline`)"), _FIXED
    named, set_aside = _in_order(sorted(
        ((anchor.baseline, anchors[anchor.baseline][key], anchor.points)
         for anchor in component.scale.anchors), key=lambda anchor: anchor[2]), higher)
    scale = [(v, p) for _, v, p in named]
    try:
        fraction = scale_points(value, scale, higher)
    except ValueError:
        # The lowest and highest anchors out of order (a floor that beat the reference): no scale.
        shown = ", ".join(f"{b} {_number(v)} ({p:.0%})" for b, v, p in named)
        return 0.0, (f"{name} {_number(value)} is not placed: the anchors ({shown}) do not "
                     "improve as their points rise"), _FIXED
    ends = None
    if (interval := interval_of(value)) is not None:
        placed = sorted(scale_points(end, scale, higher) for end in interval)
        ends = (min(placed[0], fraction), max(placed[1], fraction))

    def at(index: int) -> str:
        baseline, anchor_value, points = named[index]
        return f"{baseline} ({_number(anchor_value)}, {points:.0%})"

    index = _reached(value, [(v, p) for _, v, p in named], higher)
    shown = f"{name} {_number(value)}"
    if index < 0:
        sentence = f"{shown} falls short of {at(0)}"
    elif value == named[index][1]:
        sentence = f"{shown} matches {at(index)}"
    elif index == len(named) - 1:
        sentence = f"{shown} beats {at(index)}"
    else:
        sentence = f"{shown} is between {at(index)} and {at(index + 1)}"
    if set_aside:
        sentence += "; " + ", ".join(
            f"{b} ({_number(v)}) set aside: measured out of order between its neighbours"
            for b, v, _ in set_aside)
    return fraction, _with_failure(sentence, failure), ends


_Named: TypeAlias = tuple[str, float, float]  # baseline, its metric value, its points


def _in_order(named: Sequence[_Named], higher_is_better: bool
              ) -> tuple[list[_Named], list[_Named]]:
    """The anchors (by rising points) that keep the scale rising, and those set aside.

    Anchors measured on an instance can come out of order: a middle baseline (a frozen encoder
    between TF-IDF and a fine-tuned model) may score below the one beneath it on that instance's
    data. Placing nothing would score every candidate zero; the lowest and highest anchors keep
    the scale, and a middle one that does not lie between its kept neighbours is set aside.
    """
    if len(named) <= 2:
        return list(named), []
    sign = 1.0 if higher_is_better else -1.0
    top = named[-1]
    kept, aside = [named[0]], []
    for anchor in named[1:-1]:
        if sign * kept[-1][1] <= sign * anchor[1] <= sign * top[1]:
            kept.append(anchor)
        else:
            aside.append(anchor)
    return [*kept, top], aside


def _tests(suite: str, test_results: Mapping[str, tuple[int, int]],
           failures: Mapping[str, str]) -> _Placed:
    failure = failures.get(suite)
    if suite not in test_results:
        return 0.0, f"no result: {failure or f'the {suite} tests did not run'}", _FIXED
    passed, total = test_results[suite]
    if not 0 <= passed <= total:
        raise ValueError(f"suite {suite}: {passed} passed of {total} is not a count")
    if total == 0:
        return 0.0, _with_failure(f"no {suite} tests ran", failure), _FIXED
    fraction = passed / total
    return (fraction, _with_failure(f"{passed} of {total} hidden tests passed", failure),
            (fraction, fraction))


def quality_fraction(assignment: Assignment, fractions: Mapping[str, float]) -> float | None:
    """The weighted mean of the quality components' fractions (by component id); None when the
    rubric has none (``Assignment`` refuses such a rubric, so only a model built without checks)."""
    quality = [c for c in assignment.rubric if c.resolved_role == "quality"]
    if not quality:
        return None
    return (sum(c.weight * fractions.get(c.id, 0.0) for c in quality)
            / sum(c.weight for c in quality))


# What a scaled component's sentence ends with; ``rescore`` cuts it off to scale again.
_SCALED = "; scaled by the quality fraction"


def _quality_ends(assignment: Assignment, placed: Mapping[str, _Placed]
                  ) -> tuple[float, float] | None:
    """The quality fraction at each end of the quality components' intervals."""
    ends = {cid: e for cid, (_, _, e) in placed.items()}
    if any(ends[c.id] is None for c in assignment.rubric if c.resolved_role == "quality"):
        return None
    low = quality_fraction(assignment, {cid: e[0] for cid, e in ends.items() if e is not None})
    high = quality_fraction(assignment, {cid: e[1] for cid, e in ends.items() if e is not None})
    return None if low is None or high is None else (low, high)


def _card(assignment: Assignment, placed: Mapping[str, _Placed]) -> ScoreCard:
    """Each component's (fraction, sentence, ends) before scaling in; the supporting ones
    scaled, at their ends by the quality fraction at that end."""
    quality = quality_fraction(assignment, {cid: f for cid, (f, _, _) in placed.items()})
    quality_ends = _quality_ends(assignment, placed)
    components = []
    exact_total = 0.0
    for component in assignment.rubric:
        fraction, reason, ends = placed[component.id]
        unscaled = None
        if component.resolved_role == "supporting" and quality is not None:
            if quality < 1 and fraction > 0:
                unscaled, fraction = fraction, fraction * quality
                reason = (f"{reason}{_SCALED} {quality:.3f} (the quality components' weighted "
                          f"mean): {unscaled:.1%} of its points become {fraction:.1%}")
            if ends is not None:
                ends = (None if quality_ends is None
                        else (ends[0] * quality_ends[0], ends[1] * quality_ends[1]))
        exact_total += component.weight * fraction
        components.append(ComponentScore(
            id=component.id, title=component.title, weight=component.weight,
            points=round(component.weight * fraction, 2), fraction=fraction, reason=reason,
            unscaled=unscaled,
            interval=None if ends is None else (round(component.weight * ends[0], 2),
                                                round(component.weight * ends[1], 2))))
    # Summed before rounding, so the total can differ from the sum of rounded points by 0.01.
    total = min(100.0, max(0.0, round(exact_total, 2)))
    return ScoreCard(total=total, components=components, quality=quality,
                     interval=total_interval(components, total))


def score(assignment: Assignment, metrics: Mapping[str, float | None],
          test_results: Mapping[str, tuple[int, int]],
          failures: Mapping[str, str] | None = None,
          anchors: AnchorValues | None = None) -> ScoreCard:
    """Score every rubric component, then scale the supporting ones by the quality fraction.

    ``metrics`` maps ``harness.metric`` to a value (None or absent scores 0; a
    ``grader.intervals.Measured`` value is placed at its interval's ends too); ``test_results``
    maps a suite to (passed, total); ``failures`` maps a harness, metric key or suite to why it
    produced nothing, and that reason is given in the component's sentence. ``anchors`` are the
    baselines' values the metrics are placed between; default: ``recorded_anchors(assignment)``.
    """
    failures = failures or {}
    anchors = recorded_anchors(assignment) if anchors is None else anchors
    placed = {}
    for component in assignment.rubric:
        if component.tests is not None:
            placed[component.id] = _tests(component.tests, test_results, failures)
        else:
            placed[component.id] = _metric(component, assignment, metrics, failures, anchors)
    return _card(assignment, placed)


def rescore(assignment: Assignment, graded: Sequence[ComponentScore],
            metrics: Mapping[str, float | None], failures: Mapping[str, str] | None = None,
            anchors: AnchorValues | None = None) -> ScoreCard:
    """A graded card placed again on other anchors (``grader.anchors.rescored``).

    Metric components are placed again (``metrics`` and ``failures`` as for ``score``); a tests
    component does not depend on anchors and keeps its graded fraction and sentence (with the
    reason its suite failed, which only the graded card still holds). Then the supporting
    components are scaled again by the new quality fraction.
    """
    failures = failures or {}
    anchors = recorded_anchors(assignment) if anchors is None else anchors
    before = {c.id: c for c in graded}
    placed = {}
    for component in assignment.rubric:
        if component.tests is None:
            placed[component.id] = _metric(component, assignment, metrics, failures, anchors)
        elif (old := before.get(component.id)) is None:
            placed[component.id] = (0.0, f"no result: the {component.tests} tests did not run",
                                    _FIXED)
        else:
            fraction = old.fraction if old.unscaled is None else old.unscaled
            placed[component.id] = (fraction, old.reason.split(_SCALED, 1)[0],
                                    (fraction, fraction))
    return _card(assignment, placed)
