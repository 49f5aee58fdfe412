"""Every built-in assignment's rubric placed on its recorded baselines (the demo instance's anchors,
read from assignment.yaml at test time, so a re-recording is checked as it lands): a submission
that learns nothing scores at most 5 even when it passes every hidden test, the plain baseline
stands at least 20 above it even when it fails every test, supporting components (tests,
calibration) add nothing to a submission at the floor's quality, and no rubric scores a wall time.
The authoring templates hold the same floor."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from grader.authoring import TEMPLATES, new_assignment
from grader.scoring import ScoreCard, recorded_anchors, score
from grader.spec import Assignment, load_assignment
from sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"
BUILTIN = sorted(p.name for p in ASSIGNMENTS.iterdir() if (p / "assignment.yaml").is_file())
# The submission that learns nothing, and the honest plain baseline, of each assignment.
FLOOR = {"rag_pipeline": "floor", "finetune_small": "chance", "fraud_detection": "prior"}
PLAIN = {"rag_pipeline": "bm25", "finetune_small": "tfidf_lr", "fraud_detection": "logreg"}
TIMINGS = ("_ms", "_s", "_sec", "_seconds")


@pytest.fixture(scope="module", params=BUILTIN)
def assignment(request: pytest.FixtureRequest) -> Assignment:
    return load_assignment(ASSIGNMENTS / request.param, ceiling=Limits())


def graded(assignment: Assignment, metrics: Mapping[str, float], *, passed: bool) -> ScoreCard:
    """Scored on the recorded anchors, with every hidden test passed or every one failed."""
    tests = {suite.name: (10 if passed else 0, 10) for suite in assignment.hidden_tests}
    return score(assignment, metrics, tests, anchors=recorded_anchors(assignment))


def recorded(assignment: Assignment, baseline: str) -> dict[str, float]:
    return dict(assignment.baseline(baseline).scores)


def test_every_builtin_assignment_is_covered() -> None:
    assert BUILTIN == sorted(FLOOR) == sorted(PLAIN)


def test_a_submission_that_learns_nothing_scores_at_most_5_passing_every_test(
        assignment: Assignment) -> None:
    card = graded(assignment, recorded(assignment, FLOOR[assignment.id]), passed=True)
    assert card.total <= 5, card.components


def test_the_plain_baseline_stands_20_above_the_floor_failing_every_test(
        assignment: Assignment) -> None:
    floor = graded(assignment, recorded(assignment, FLOOR[assignment.id]), passed=True)
    plain = graded(assignment, recorded(assignment, PLAIN[assignment.id]), passed=False)
    assert plain.total - floor.total >= 20, (plain.components, floor.components)


def test_the_baselines_at_the_top_of_the_scales_score_100(assignment: Assignment) -> None:
    tops = {max(c.scale.anchors, key=lambda a: a.points).baseline
            for c in assignment.rubric if c.scale is not None}
    for top in tops:
        assert graded(assignment, recorded(assignment, top), passed=True).total == 100.0, top


def test_finetune_the_frozen_encoder_stays_15_below_the_fine_tuned_reference() -> None:
    assignment = load_assignment(ASSIGNMENTS / "finetune_small", ceiling=Limits())
    frozen = graded(assignment, recorded(assignment, "minilm_lr"), passed=True)
    tuned = graded(assignment, recorded(assignment, "reference"), passed=True)
    assert tuned.total - frozen.total >= 15, frozen.components
    # ... and well above the plain bag of words, failing every test.
    plain = graded(assignment, recorded(assignment, "tfidf_lr"), passed=True)
    assert graded(assignment, recorded(assignment, "minilm_lr"), passed=False).total > plain.total


def best_values(assignment: Assignment) -> dict[str, float]:
    """For every metric a rubric component scores, the best value any baseline recorded."""
    best: dict[str, float] = {}
    for component in assignment.rubric:
        if component.metric is None:
            continue
        values = [b.scores[component.metric] for b in assignment.baselines
                  if component.metric in b.scores]
        higher = assignment.metric(component.metric).higher_is_better
        best[component.metric] = max(values) if higher else min(values)
    return best


def test_supporting_components_add_nothing_at_the_floors_quality(assignment: Assignment) -> None:
    """The floor's quality metrics, with the best recorded value of every supporting metric
    (a constant base rate is perfectly calibrated, doing nothing is fast) and every test passed."""
    supporting = [c for c in assignment.rubric if c.resolved_role == "supporting"]
    assert supporting, "every built-in rubric has tests or calibration beside its quality"
    metrics = recorded(assignment, FLOOR[assignment.id])
    best = best_values(assignment)
    metrics.update({c.metric: best[c.metric] for c in supporting if c.metric is not None})
    card = graded(assignment, metrics, passed=True)
    assert card.quality == 0.0
    by_id = {c.id: c for c in card.components}
    for component in supporting:
        assert by_id[component.id].points == 0.0, by_id[component.id]
    assert card.total == graded(assignment, recorded(assignment, FLOOR[assignment.id]),
                                passed=False).total <= 5


def test_each_supporting_component_alone_lifts_nothing(assignment: Assignment) -> None:
    best = best_values(assignment)
    floor = recorded(assignment, FLOOR[assignment.id])
    for component in assignment.rubric:
        if component.resolved_role != "supporting":
            continue
        metrics = dict(floor)
        if component.metric is not None:
            metrics[component.metric] = best[component.metric]
        tests = {s.name: (10 if s.name == component.tests else 0, 10)
                 for s in assignment.hidden_tests}
        card = score(assignment, metrics, tests)
        assert {c.id: c.points for c in card.components}[component.id] == 0.0, component.id


def test_latency_is_reported_never_scored(assignment: Assignment) -> None:
    scored = [c.metric for c in assignment.rubric if c.metric is not None]
    assert not [m for m in scored if m.endswith(TIMINGS)]
    declared = [f"{h.name}.{m.name}" for h in assignment.harnesses for m in h.metrics]
    assert [m for m in declared if m.endswith(TIMINGS)], "each harness set reports a latency"


# --- the templates ------------------------------------------------------------------------------

TEMPLATE_NAMES = sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assignment]:
    root = tmp_path_factory.mktemp("assignments")
    return {name: load_assignment(new_assignment(root, name, template=name), ceiling=Limits())
            for name in TEMPLATE_NAMES}


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_a_templates_floors_score_0_passing_every_test(templates, template: str) -> None:
    """Each metric's floor (one per metric when no single answer that learns nothing is the
    strongest on every metric, as in classification) scores 0 on the whole rubric."""
    assignment = templates[template]
    floors = {min(c.scale.anchors, key=lambda a: a.points).baseline
              for c in assignment.rubric if c.scale is not None}
    assert [graded(assignment, recorded(assignment, floor), passed=True).total
            for floor in sorted(floors)] == [0.0] * len(floors)
    tops = {max(c.scale.anchors, key=lambda a: a.points).baseline
            for c in assignment.rubric if c.scale is not None}
    assert [graded(assignment, recorded(assignment, top), passed=True).total
            for top in tops] == [100.0] * len(tops)
