"""Scoring: the piecewise scale, the total, and the reason each component gives."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from grader.scoring import ComponentScore, ScoreCard, quality_fraction, rescore, scale_points, score
from grader.spec import Assignment, SpecError

# recall-like (higher is better) and latency-like (lower is better) scales, as (value, points)
RECALL = [(0.01, 0.0), (0.77, 0.5), (0.98, 1.0)]
LATENCY = [(400.0, 0.0), (100.0, 0.5), (50.0, 1.0)]


@pytest.mark.parametrize(("value", "anchors", "higher", "expected"), [
    pytest.param(0.0, RECALL, True, 0.0, id="below-floor"),
    pytest.param(0.01, RECALL, True, 0.0, id="at-floor"),
    pytest.param(0.77, RECALL, True, 0.5, id="at-middle"),
    pytest.param(0.98, RECALL, True, 1.0, id="at-top"),
    pytest.param(0.39, RECALL, True, 0.25, id="between-floor-and-middle"),
    pytest.param(0.875, RECALL, True, 0.75, id="between-middle-and-top"),
    pytest.param(0.999, RECALL, True, 1.0, id="above-top"),
    pytest.param(math.inf, RECALL, True, 1.0, id="infinite"),
    pytest.param(1000.0, LATENCY, False, 0.0, id="lower-is-better-below-floor"),
    pytest.param(400.0, LATENCY, False, 0.0, id="lower-is-better-at-floor"),
    pytest.param(250.0, LATENCY, False, 0.25, id="lower-is-better-between"),
    pytest.param(75.0, LATENCY, False, 0.75, id="lower-is-better-upper-segment"),
    pytest.param(10.0, LATENCY, False, 1.0, id="lower-is-better-above-top"),
    pytest.param(0.5, [(0.5, 0.0), (0.5, 1.0)], True, 1.0, id="equal-anchors-reached"),
    pytest.param(0.4, [(0.5, 0.0), (0.5, 1.0)], True, 0.0, id="equal-anchors-missed"),
    pytest.param(0.6, [(0.2, 0.0), (0.6, 0.5), (0.6, 0.8), (1.0, 1.0)], True, 0.8,
                 id="equal-anchors-in-the-middle"),
    pytest.param(0.8, [(0.2, 0.0), (0.6, 0.5), (0.6, 0.8), (1.0, 1.0)], True, 0.9,
                 id="after-equal-anchors"),
    pytest.param(math.nan, RECALL, True, 0.0, id="nan"),
    pytest.param(0.0, [(0.5, 0.2), (0.9, 0.9)], True, 0.2, id="floor-with-points"),
    pytest.param(0.77, list(reversed(RECALL)), True, 0.5, id="anchors-in-any-order"),
])
def test_scale_points(value: float, anchors: list[tuple[float, float]], higher: bool,
                      expected: float) -> None:
    assert scale_points(value, anchors, higher) == pytest.approx(expected)


@pytest.mark.parametrize(("anchors", "higher"), [
    pytest.param([], True, id="no-anchors"),
    pytest.param(RECALL, False, id="against-the-direction"),
])
def test_scale_points_refuses_a_broken_scale(anchors: list[tuple[float, float]],
                                             higher: bool) -> None:
    with pytest.raises(ValueError, match="anchor"):
        scale_points(0.5, anchors, higher)


def make_assignment() -> Assignment:
    spec: dict[str, Any] = {
        "id": "rag_pipeline", "title": "Retrieval", "version": "1.0.0", "summary": "Search.",
        "candidate": {"bundle": "candidate", "max_submissions": 3},
        "entry_points": [
            {"name": "index", "phase": "build", "params": {"work_dir": "string"},
             "returns": "null"},
            {"name": "load", "phase": "serve", "params": {"work_dir": "string"},
             "returns": "null"},
        ],
        "phases": {"build": {"call": "index", "arguments": {"work_dir": "/work"}},
                   "serve": {"load": "load", "call_timeout": 10}},
        "hidden_tests": [{"name": "behaviour", "path": "hidden/tests"}],
        "harnesses": [{"name": "retrieval", "path": "hidden/harness.py", "metrics": [
            {"name": "recall_at_10", "higher_is_better": True},
            {"name": "search_p95_ms", "higher_is_better": False},
        ]}],
        "rubric": [
            {"id": "retrieval", "title": "Retrieval quality", "weight": 50,
             "metric": "retrieval.recall_at_10", "scale": {"anchors": [
                 {"baseline": "constant", "points": 0.0}, {"baseline": "bm25", "points": 0.5},
                 {"baseline": "reference", "points": 1.0}]}},
            {"id": "latency", "title": "Search latency", "weight": 20,
             "metric": "retrieval.search_p95_ms", "scale": {"anchors": [
                 {"baseline": "bm25", "points": 0.0}, {"baseline": "reference", "points": 1.0}]}},
            {"id": "behaviour", "title": "Hidden behaviour tests", "weight": 30,
             "tests": "behaviour"},
        ],
        "baselines": [
            {"name": "constant", "path": "reference/constant",
             "scores": {"retrieval.recall_at_10": 0.01}},
            {"name": "bm25", "path": "reference/bm25",
             "scores": {"retrieval.recall_at_10": 0.77, "retrieval.search_p95_ms": 400.0}},
            {"name": "reference", "path": "reference/solution",
             "scores": {"retrieval.recall_at_10": 0.98, "retrieval.search_p95_ms": 50.0}},
        ],
        "reproducibility": {"tolerance": 0.02},
    }
    return Assignment.model_validate(spec)


RECALL_KEY, LATENCY_KEY = "retrieval.recall_at_10", "retrieval.search_p95_ms"


def reasons(card: ScoreCard) -> dict[str, str]:
    return {component.id: component.reason for component in card.components}


def test_a_full_score_card() -> None:
    card = score(make_assignment(), {RECALL_KEY: 0.875, LATENCY_KEY: 225.0},
                 {"behaviour": (7, 9)})

    # Retrieval is the only quality component (0.75); latency (a timing) and the tests support
    # it, so their fractions are scaled by 0.75.
    assert card.quality == 0.75
    points = {c.id: c.points for c in card.components}
    assert points == {"retrieval": 37.5, "latency": 7.5, "behaviour": 17.5}
    assert card.total == 62.5
    scaled = "; scaled by the quality fraction 0.750 (the quality components' weighted mean): "
    assert reasons(card) == {
        "retrieval": "recall_at_10 0.875 is between bm25 (0.770, 50%) and reference (0.980, 100%)",
        "latency": "search_p95_ms 225.000 is between bm25 (400.000, 0%) and reference "
                   "(50.000, 100%)" + scaled + "50.0% of its points become 37.5%",
        "behaviour": "7 of 9 hidden tests passed" + scaled + "77.8% of its points become 58.3%",
    }
    assert [c.weight for c in card.components] == [50, 20, 30]
    assert card.components[2].fraction == pytest.approx(7 / 9 * 0.75)
    assert card.components[2].unscaled == pytest.approx(7 / 9)
    assert card.components[0].unscaled is None


def test_a_total_is_summed_exactly_then_rounded() -> None:
    card = score(make_assignment(), {RECALL_KEY: 0.98, LATENCY_KEY: 50.0},
                 {"behaviour": (7, 9)})
    assert [c.points for c in card.components] == [50.0, 20.0, 23.33]
    assert card.total == 93.33  # 50 + 20 + 30 * 7/9 = 93.333..., rounded once


@pytest.mark.parametrize(("metrics", "tests", "total"), [
    pytest.param({RECALL_KEY: 0.98, LATENCY_KEY: 50.0}, {"behaviour": (9, 9)}, 100.0,
                 id="everything"),
    pytest.param({RECALL_KEY: 1.0, LATENCY_KEY: 1.0}, {"behaviour": (9, 9)}, 100.0,
                 id="beyond-the-reference-is-clamped"),
    pytest.param({RECALL_KEY: 0.0, LATENCY_KEY: 900.0}, {"behaviour": (0, 9)}, 0.0,
                 id="nothing"),
    pytest.param({RECALL_KEY: 0.77}, {"behaviour": (3, 9)}, 30.0, id="baseline-level"),
    pytest.param({RECALL_KEY: 0.0, LATENCY_KEY: 1.0}, {"behaviour": (9, 9)}, 0.0,
                 id="fast-and-passing-but-learned-nothing"),
])
def test_totals(metrics: dict[str, float], tests: dict[str, tuple[int, int]],
                total: float) -> None:
    assert score(make_assignment(), metrics, tests).total == total


@pytest.mark.parametrize(("value", "reason"), [
    (0.005, "recall_at_10 0.005 falls short of constant (0.010, 0%)"),
    (0.77, "recall_at_10 0.770 matches bm25 (0.770, 50%)"),
    (0.99, "recall_at_10 0.990 beats reference (0.980, 100%)"),
    (math.nan, "recall_at_10 is not a number (NaN)"),
])
def test_metric_reasons(value: float, reason: str) -> None:
    card = score(make_assignment(), {RECALL_KEY: value}, {})
    assert reasons(card)["retrieval"] == reason


@pytest.mark.parametrize(("metrics", "failures", "reason"), [
    pytest.param({}, {}, "no value: the retrieval harness reported no recall_at_10",
                 id="absent"),
    pytest.param({RECALL_KEY: None}, {}, "no value: the retrieval harness reported no "
                 "recall_at_10", id="none"),
    pytest.param({RECALL_KEY: None}, {"retrieval": "the build phase timed out"},
                 "no value: the build phase timed out", id="harness-failure"),
    pytest.param({}, {RECALL_KEY: "the harness returned a string"},
                 "no value: the harness returned a string", id="metric-failure"),
])
def test_missing_metrics_score_zero_with_a_reason(metrics: dict[str, float | None],
                                                  failures: dict[str, str], reason: str) -> None:
    card = score(make_assignment(), metrics, {"behaviour": (9, 9)}, failures=failures)

    retrieval = card.components[0]
    assert (retrieval.points, retrieval.fraction, retrieval.reason) == (0.0, 0.0, reason)
    # No quality, so the tests passed earn nothing.
    assert card.total == 0.0
    assert reasons(card)["behaviour"].endswith("100.0% of its points become 0.0%")


@pytest.mark.parametrize(("results", "failures", "reason"), [
    pytest.param({}, {}, "no result: the behaviour tests did not run", id="absent"),
    pytest.param({}, {"behaviour": "the serve phase ran out of memory"},
                 "no result: the serve phase ran out of memory", id="failed"),
    pytest.param({"behaviour": (0, 0)}, {}, "no behaviour tests ran", id="empty"),
    pytest.param({"behaviour": (2, 9)}, {"behaviour": "the serve container exited"},
                 "2 of 9 hidden tests passed (the serve container exited)", id="partial"),
])
def test_test_reasons(results: dict[str, tuple[int, int]], failures: dict[str, str],
                      reason: str) -> None:
    card = score(make_assignment(), {RECALL_KEY: 0.98}, results, failures=failures)
    assert reasons(card)["behaviour"] == reason


def test_impossible_test_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="not a count"):
        score(make_assignment(), {}, {"behaviour": (10, 9)})


def test_a_metric_whose_anchors_are_not_yet_recorded_scores_zero_and_says_so() -> None:
    assignment = make_assignment()
    unrecorded = assignment.model_copy(update={"baselines": [
        b.model_copy(update={"scores": {}}) if b.name == "bm25" else b
        for b in assignment.baselines]})
    card = score(unrecorded, {RECALL_KEY: 0.9, LATENCY_KEY: 60.0}, {"behaviour": (9, 9)})
    points = {c.id: c.points for c in card.components}
    assert points["retrieval"] == 0.0
    assert "bm25 recorded no retrieval.recall_at_10 yet" in reasons(card)["retrieval"]
    assert "grader assignment baseline" in reasons(card)["retrieval"]


def test_anchors_given_replace_the_recorded_ones() -> None:
    measured = {"constant": {RECALL_KEY: 0.1},
                "bm25": {RECALL_KEY: 0.6, LATENCY_KEY: 300.0},
                "reference": {RECALL_KEY: 0.8, LATENCY_KEY: 100.0}}
    card = score(make_assignment(), {RECALL_KEY: 0.7, LATENCY_KEY: 200.0}, {"behaviour": (9, 9)},
                 anchors=measured)
    assert {c.id: c.points for c in card.components} == {
        "retrieval": 37.5, "latency": 7.5, "behaviour": 22.5}
    assert reasons(card)["retrieval"] == ("recall_at_10 0.700 is between bm25 (0.600, 50%) and "
                                          "reference (0.800, 100%)")
    # The default is the recorded scores.
    assert score(make_assignment(), {RECALL_KEY: 0.7}, {}) == score(
        make_assignment(), {RECALL_KEY: 0.7}, {},
        anchors={b.name: b.scores for b in make_assignment().baselines})


def test_measured_anchors_that_do_not_improve_place_nothing_and_say_so() -> None:
    upside_down = {"constant": {RECALL_KEY: 0.9},
                   "bm25": {RECALL_KEY: 0.6, LATENCY_KEY: 300.0},
                   "reference": {RECALL_KEY: 0.8, LATENCY_KEY: 100.0}}
    card = score(make_assignment(), {RECALL_KEY: 0.7}, {}, anchors=upside_down)
    assert card.components[0].points == 0.0
    assert "do not improve as their points rise" in reasons(card)["retrieval"]
    assert "constant 0.900 (0%)" in reasons(card)["retrieval"]


def test_a_middle_anchor_measured_out_of_order_is_set_aside_and_said() -> None:
    # On an instance's data a middle baseline can score below the one beneath it (finetune's
    # frozen encoder below TF-IDF); the floor and the reference still make a scale.
    measured = {"constant": {RECALL_KEY: 0.1},
                "bm25": {RECALL_KEY: 0.05, LATENCY_KEY: 300.0},
                "reference": {RECALL_KEY: 0.9, LATENCY_KEY: 100.0}}
    card = score(make_assignment(), {RECALL_KEY: 0.5}, {}, anchors=measured)
    assert card.components[0].points == 25.0  # halfway between constant (0.1) and reference (0.9)
    assert reasons(card)["retrieval"] == (
        "recall_at_10 0.500 is between constant (0.100, 0%) and reference (0.900, 100%); "
        "bm25 (0.050) set aside: measured out of order between its neighbours")
    above_the_top = {**measured, "bm25": {RECALL_KEY: 0.95, LATENCY_KEY: 300.0}}
    card = score(make_assignment(), {RECALL_KEY: 0.5}, {}, anchors=above_the_top)
    assert card.components[0].points == 25.0 and "bm25 (0.950) set aside" in reasons(card)[
        "retrieval"]


# --- quality and supporting components ---------------------------------------------------------

def with_rubric(assignment: Assignment, **updates: dict[str, Any]) -> Assignment:
    """The assignment with some rubric components' fields changed (by id), unchecked."""
    return assignment.model_copy(update={"rubric": [
        c.model_copy(update=updates.get(c.id, {})) for c in assignment.rubric]})


def rubric_spec(**roles: str) -> dict[str, Any]:
    spec = make_assignment().model_dump(mode="json", exclude_none=True)
    for component in spec["rubric"]:
        if component["id"] in roles:
            component["role"] = roles[component["id"]]
    return spec


def test_roles_default_to_quality_for_metrics_and_supporting_for_tests_times_and_sizes() -> None:
    roles = {c.id: c.resolved_role for c in make_assignment().rubric}
    assert roles == {"retrieval": "quality", "latency": "supporting", "behaviour": "supporting"}
    explicit = Assignment.model_validate(rubric_spec(retrieval="quality", latency="quality",
                                                     behaviour="quality"))
    assert {c.resolved_role for c in explicit.rubric} == {"quality"}
    for name in ("p95_ms", "train_seconds", "model_mib", "peak_bytes", "fit_s"):
        component = make_assignment().rubric[0].model_copy(update={"metric": f"quality.{name}"})
        assert component.resolved_role == "supporting", name


def test_a_rubric_without_a_quality_component_is_refused() -> None:
    with pytest.raises(SpecError, match="no quality component: mark the component that measures "
                                         "what the assignment is about `role: quality`"):
        Assignment.model_validate(rubric_spec(retrieval="supporting"))
    with pytest.raises(ValueError, match="role"):
        Assignment.model_validate(rubric_spec(behaviour="bonus"))


def test_supporting_points_alone_never_lift_a_submission_at_the_quality_floor() -> None:
    # Everything a trivial submission can have: instant answers, every test passed.
    card = score(make_assignment(), {RECALL_KEY: 0.01, LATENCY_KEY: 0.0}, {"behaviour": (9, 9)})
    assert card.quality == 0.0 and card.total == 0.0
    for component in card.components[1:]:
        assert (component.points, component.fraction, component.unscaled) == (0.0, 0.0, 1.0)
        assert component.reason.endswith("; scaled by the quality fraction 0.000 (the quality "
                                          "components' weighted mean): 100.0% of its points "
                                          "become 0.0%")


def test_at_the_references_quality_nothing_is_scaled() -> None:
    card = score(make_assignment(), {RECALL_KEY: 0.99, LATENCY_KEY: 225.0}, {"behaviour": (5, 9)})
    assert card.quality == 1.0
    assert [c.unscaled for c in card.components] == [None, None, None]
    assert reasons(card)["behaviour"] == "5 of 9 hidden tests passed"
    assert card.total == pytest.approx(50 + 10 + 30 * 5 / 9, abs=0.005)


def test_the_quality_fraction_is_the_weighted_mean_of_the_quality_components() -> None:
    # Latency made a quality component (weight 20): (50 * 0.5 + 20 * 1.0) / 70.
    assignment = with_rubric(make_assignment(), latency={"role": "quality"})
    card = score(assignment, {RECALL_KEY: 0.77, LATENCY_KEY: 50.0}, {"behaviour": (9, 9)})
    assert card.quality == pytest.approx(45 / 70)
    assert quality_fraction(assignment, {"retrieval": 0.5, "latency": 1.0}) == pytest.approx(
        45 / 70)
    assert {c.id: c.points for c in card.components} == {
        "retrieval": 25.0, "latency": 20.0, "behaviour": round(30 * 45 / 70, 2)}
    assert "scaled by the quality fraction 0.643" in reasons(card)["behaviour"]


def test_a_supporting_metric_is_scaled_like_the_tests() -> None:
    # e.g. calibration: a constant base rate is perfectly calibrated, so it only supports.
    assignment = with_rubric(make_assignment(), retrieval={"role": "supporting"},
                             latency={"role": "quality"})
    card = score(assignment, {RECALL_KEY: 0.98, LATENCY_KEY: 400.0}, {"behaviour": (9, 9)})
    assert card.quality == 0.0 and card.total == 0.0
    assert card.components[0].unscaled == 1.0
    assert reasons(card)["retrieval"].startswith("recall_at_10 0.980 matches reference (0.980, "
                                                 "100%); scaled by the quality fraction 0.000")


def test_without_a_quality_component_nothing_is_scaled() -> None:
    # Only a model built without its checks can have such a rubric (see the refusal above).
    assignment = with_rubric(make_assignment(), retrieval={"role": "supporting"})
    assert quality_fraction(assignment, {"retrieval": 1.0}) is None
    card = score(assignment, {RECALL_KEY: 0.77, LATENCY_KEY: 225.0}, {"behaviour": (3, 9)})
    assert card.quality is None
    assert [c.unscaled for c in card.components] == [None, None, None]
    assert card.total == 25.0 + 10.0 + 10.0
    assert "scaled" not in " ".join(reasons(card).values())


def test_when_everything_failed_the_reasons_say_why_and_nothing_is_scaled() -> None:
    failures = {"retrieval": "the build phase timed out", "behaviour": "the build phase timed out"}
    card = score(make_assignment(), {RECALL_KEY: None, LATENCY_KEY: None}, {}, failures=failures)
    assert card.total == 0.0 and card.quality == 0.0
    assert reasons(card) == {"retrieval": "no value: the build phase timed out",
                             "latency": "no value: the build phase timed out",
                             "behaviour": "no result: the build phase timed out"}
    assert [c.unscaled for c in card.components] == [None, None, None]


@pytest.mark.parametrize("seed", range(20))
def test_supporting_points_never_exceed_their_weight_times_the_quality(seed: int) -> None:
    rng = random.Random(seed)
    recall, latency = rng.uniform(0, 1), rng.uniform(0, 500)
    passed = rng.randint(0, 9)
    card = score(make_assignment(), {RECALL_KEY: recall, LATENCY_KEY: latency},
                 {"behaviour": (passed, 9)})
    quality = scale_points(recall, RECALL, True)
    assert card.quality == pytest.approx(quality)
    by_id = {c.id: c for c in card.components}
    speed = scale_points(latency, [(400.0, 0.0), (50.0, 1.0)], False)  # bm25 .. reference
    assert by_id["latency"].fraction == pytest.approx(speed * quality)
    assert by_id["behaviour"].fraction == pytest.approx(passed / 9 * quality)
    assert card.total <= 50 * quality + 50 * quality + 0.01


# --- re-scoring on other anchors ---------------------------------------------------------------

MEASURED = {"constant": {RECALL_KEY: 0.1},
            "bm25": {RECALL_KEY: 0.6, LATENCY_KEY: 300.0},
            "reference": {RECALL_KEY: 0.8, LATENCY_KEY: 100.0}}


def test_rescoring_places_metrics_again_and_scales_the_graded_tests_by_the_new_quality() -> None:
    metrics = {RECALL_KEY: 0.7, LATENCY_KEY: 200.0}
    failures = {"behaviour": "the serve container exited"}
    graded = score(make_assignment(), metrics, {"behaviour": (6, 9)}, failures=failures)
    assert graded.quality == pytest.approx(0.5 * (0.7 - 0.01) / (0.77 - 0.01))
    again = rescore(make_assignment(), graded.components, metrics, anchors=MEASURED)
    assert again.quality == pytest.approx(0.75)
    # The same as grading afresh on these anchors, failure reason included.
    assert again == score(make_assignment(), metrics, {"behaviour": (6, 9)}, failures=failures,
                          anchors=MEASURED)
    assert reasons(again)["behaviour"] == (
        "6 of 9 hidden tests passed (the serve container exited); scaled by the quality fraction "
        "0.750 (the quality components' weighted mean): 66.7% of its points become 50.0%")
    # Back on the recorded anchors: what was graded.
    assert rescore(make_assignment(), again.components, metrics) == graded


def test_rescoring_a_card_graded_before_scaling_existed_scales_its_tests() -> None:
    old = [ComponentScore(id="retrieval", title="Retrieval quality", weight=50, points=0,
                          fraction=0, reason="no value"),
           ComponentScore(id="latency", title="Search latency", weight=20, points=0,
                          fraction=0, reason="no value"),
           ComponentScore(id="behaviour", title="Hidden behaviour tests", weight=30, points=30,
                          fraction=1.0, reason="9 of 9 hidden tests passed")]
    card = rescore(make_assignment(), old, {RECALL_KEY: 0.7}, anchors=MEASURED)
    assert {c.id: c.points for c in card.components} == {
        "retrieval": 37.5, "latency": 0.0, "behaviour": 22.5}
    assert reasons(card)["behaviour"].startswith("9 of 9 hidden tests passed; scaled by the "
                                                 "quality fraction 0.750")
    missing = rescore(make_assignment(), old[:2], {RECALL_KEY: 0.7}, anchors=MEASURED)
    assert reasons(missing)["behaviour"] == "no result: the behaviour tests did not run"
