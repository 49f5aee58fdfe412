"""How sure a score is: intervals over the hidden items (grader.intervals: exact for shares of 0/1
items, else bootstrapped on enough items), attached by run_harness, placed as points by scoring,
carried by reports and re-placed with them, and shown to reviewers (the cohort marks totals that
cannot be told apart; a metric over too few items says so)."""

from __future__ import annotations

import copy
import csv
import io
import math
import pickle
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from grader import authoring, intervals
from grader.anchors import anchors_for, measure_missing, rescored
from grader.authoring import new_assignment
from grader.cli._grade import _summary
from grader.hidden import HiddenContext, run_harness
from grader.intervals import Measured, interval_of
from grader.metrics import answers, classification, retrieval
from grader.metrics._recording import recording
from grader.pipeline import _Grading
from grader.report import (
    MetricResult,
    Report,
    ReportStatus,
    Reproduction,
    TestCaseResult,
    render_html,
)
from grader.scoring import ComponentScore, ScoreCard, rescore, scale_points, score
from grader.settings import BUILT_IN_ASSIGNMENTS, Settings
from grader.spec import Assignment, Baseline, load_assignment
from grader.store import (
    accept_submission,
    claim_job,
    complete_job,
    create_reviewer,
    invite_candidate,
)
from grader.web import create_app
from sandbox import Limits

# --- each metric recomputed on a draw is the metric of the drawn items ---------------------------


def _draw(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.bincount(rng.integers(0, n, n), minlength=n)


def _repeat(values: Any, counts: np.ndarray) -> list[Any]:
    return [value for value, count in zip(values, counts, strict=True) for _ in range(count)]


def _on_draw(function: Any, arguments: dict[str, Any], per_item: list[str],
             counts: np.ndarray) -> float:
    drawn = {name: (_repeat(value, counts) if name in per_item else value)
             for name, value in arguments.items()}
    return function(**drawn)


def _by_counts(function: Any, arguments: dict[str, Any], counts: np.ndarray) -> float:
    items = intervals._AGGREGATES[function](arguments)
    assert items.n == len(counts)
    return float(items.statistic(counts[None, :].astype(float))[0])


def _bound(function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with recording() as calls:
        function(*args, **kwargs)
    return dict(calls[0].arguments)


@pytest.mark.parametrize("seed", range(25))
def test_classification_metrics_on_counts_equal_the_metric_of_the_drawn_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, classes = int(rng.integers(5, 60)), ["a", "b", "c", "d"][:int(rng.integers(2, 5))]
    y_true = list(rng.choice(classes, n))
    y_pred = [y if rng.random() < 0.6 else str(rng.choice(classes)) for y in y_true]
    probabilities = []
    for y in y_pred:  # tied and exact-edge confidences included
        top = float(rng.choice([1.0, 0.6, 0.4, 2 / 15, rng.random()]))
        probabilities.append({y: top, "z": round(1 - top, 3) if top < 1 else 0.0})
    labels = (rng.random(n) < 0.3).astype(int)
    scores = np.round(rng.random(n) * labels * 0.4 + rng.random(n) * 0.6, 1)  # many ties
    cases = [
        (classification.accuracy, (y_true, y_pred), {}, ["y_true", "y_pred"]),
        (classification.macro_f1, (y_true, y_pred), {}, ["y_true", "y_pred"]),
        (classification.macro_f1, (y_true, y_pred), {"labels": [*classes, "unseen"]},
         ["y_true", "y_pred"]),
        (classification.expected_calibration_error, (y_true, probabilities), {},
         ["y_true", "probabilities"]),
        (classification.expected_calibration_error, (y_true, probabilities), {"n_bins": 4},
         ["y_true", "probabilities"]),
        (classification.brier_score, (labels, scores), {}, ["labels", "probabilities"]),
        (classification.binary_calibration_error, (labels, scores), {},
         ["labels", "probabilities"]),
        (classification.average_precision, (labels, scores), {}, ["labels", "scores"]),
        (classification.recall_at_fpr, (labels, scores, 0.1), {}, ["labels", "scores"]),
        (classification.recall_at_fpr, (labels, scores, 0.0), {}, ["labels", "scores"]),
    ]
    for function, args, kwargs, per_item in cases:
        if function in (classification.average_precision, classification.recall_at_fpr) and (
                labels.sum() in (0, n)):
            continue
        arguments = _bound(function, *args, **kwargs)
        for _ in range(4):
            counts = _draw(rng, n)
            try:
                expected = _on_draw(function, arguments, per_item, counts)
            except ValueError:  # undefined on this draw (no positive): left out as NaN
                assert math.isnan(_by_counts(function, arguments, counts)), function.__name__
                continue
            assert _by_counts(function, arguments, counts) == pytest.approx(
                expected, abs=1e-12), function.__name__


@pytest.mark.parametrize("seed", range(10))
def test_retrieval_metrics_on_counts_equal_the_metric_of_the_drawn_queries(seed: int) -> None:
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(12)]
    qrels = {f"q{i}": {str(d): int(rng.integers(0, 3)) for d in rng.choice(docs, 3)}
             for i in range(int(rng.integers(3, 20)))}
    run = {q: [str(d) for d in rng.choice(docs, 6)] for q in qrels if rng.random() < 0.9}
    for function in (retrieval.recall_at_k, retrieval.mrr_at_k, retrieval.ndcg_at_k):
        for k, min_relevance in ((5, 1), (3, 2)):
            arguments = _bound(function, qrels, run, k, min_relevance=min_relevance)
            counts = _draw(rng, len(qrels))
            # A drawn query twice is two queries: copies renamed in both qrels and run.
            drawn_qrels, drawn_run = {}, {}
            for (query, labels), count in zip(qrels.items(), counts, strict=True):
                for twin in range(count):
                    drawn_qrels[f"{query}#{twin}"] = labels
                    if query in run:
                        drawn_run[f"{query}#{twin}"] = run[query]
            expected = function(drawn_qrels, drawn_run, k, min_relevance=min_relevance)
            assert _by_counts(function, arguments, counts) == pytest.approx(expected, abs=1e-12)


def test_every_recorded_metric_can_be_recomputed_on_draws() -> None:
    recorded = {value for module in (answers, classification, retrieval)
                for value in vars(module).values() if hasattr(value, "__wrapped__")}
    assert recorded == set(intervals._AGGREGATES) | intervals._PER_ITEM


# --- intervals with known answers ----------------------------------------------------------------


def _interval(values: dict[str, float], calls: Any, harness: str = "h") -> dict[str, Any]:
    return intervals.intervals(values, calls, harness=harness)


@pytest.mark.parametrize(("n", "p"), [(400, 0.7), (1000, 0.5), (300, 0.9)])
def test_accuracy_on_bernoulli_items_matches_the_normal_approximation(n: int, p: float) -> None:
    correct = round(n * p)
    truth, predicted = ["y"] * n, ["y"] * correct + ["n"] * (n - correct)
    with recording() as calls:
        value = classification.accuracy(truth, predicted)
    low, high = _interval({"accuracy": value}, calls)["accuracy"]
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    # 1000 draws put a percentile within about a tenth of the half-width of its true value.
    assert low == pytest.approx(p - half, abs=0.2 * half)
    assert high == pytest.approx(p + half, abs=0.2 * half)


def test_a_mean_of_per_answer_scores_matches_the_normal_approximation() -> None:
    rng = np.random.default_rng(3)
    golds = ["the answer"] * 300
    predictions = ["the answer" if rng.random() < 0.6 else "else" for _ in golds]
    with recording() as calls:
        em = sum(answers.exact_match(p, g) for p, g in zip(predictions, golds, strict=True))
    value = em / len(golds)
    low, high = _interval({"exact_match": value}, calls)["exact_match"]
    half = 1.96 * math.sqrt(value * (1 - value) / len(golds))
    assert low == pytest.approx(value - half, abs=0.2 * half)
    assert high == pytest.approx(value + half, abs=0.2 * half)


def test_a_constant_metric_over_enough_items_has_a_zero_width_interval() -> None:
    n = intervals.MIN_ITEMS
    qrels = {f"q{i}": {"d": 1} for i in range(n)}
    run = {q: ["x", "d"] for q in qrels}
    with recording() as calls:
        values = {"mrr": retrieval.mrr_at_k(qrels, run, 10),
                  "f1": sum(answers.token_f1("x y", "x z") for _ in range(n)) / n}
    assert _interval(values, calls) == {"mrr": (0.5, 0.5), "f1": (0.5, 0.5)}


def test_a_perfect_share_is_never_certain() -> None:
    # Every item right: the exact interval's low end is where n of n has probability 2.5%.
    for n in (5, 80, 300):
        with recording() as calls:
            value = classification.accuracy(["a"] * n, ["a"] * n)
        low, high = _interval({"accuracy": value}, calls)["accuracy"]
        assert high == 1.0 and low == pytest.approx(0.025 ** (1 / n), abs=1e-9)


def test_a_bootstrapped_metric_over_too_few_items_has_no_interval_and_says_why() -> None:
    n = intervals.MIN_ITEMS - 1
    labels = [0, 1] * (n // 2) + [1] * (n % 2)
    scores = [0.95] + [0.9 if y else 0.1 for y in labels[1:]]  # one negative ranked first
    with recording() as calls:
        ap = classification.average_precision(labels, scores)
        f1 = sum(answers.token_f1("x y", "x z") for _ in range(n)) / n
    found = intervals.measured({"ap": ap, "f1": f1, "flag": 1.0}, calls, harness="h")
    assert {name: (v.interval, v.items) for name, v in found.items()} == {
        "ap": (None, n), "f1": (None, n), "flag": (None, None)}
    assert intervals.unbounded(n) == f"too few hidden items to bound: {n}"
    assert intervals.unbounded(None) is None


def test_the_same_inputs_give_the_same_interval_and_other_draws_another() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(2000) < 0.05).astype(int)
    scores = rng.random(2000) + labels * 0.3

    def once(harness: str) -> Any:
        with recording() as calls:
            value = classification.average_precision(labels, scores)
        return _interval({"pr_auc": value}, calls, harness)["pr_auc"]

    first = once("quality")
    assert once("quality") == first
    assert once("other") != first  # seeded by the harness: a fixed, not a shared, sequence
    low, high = first
    value = classification.average_precision(labels, scores)
    assert low < value < high


def test_a_biased_statistic_keeps_its_value_inside_the_interval() -> None:
    # A constant at the base rate is perfectly calibrated (ECE 0); every draw's rate differs.
    labels = [1] * 20 + [0] * 380
    with recording() as calls:
        value = classification.binary_calibration_error(labels, [0.05] * 400)
    assert value == pytest.approx(0.0, abs=1e-15)
    low, high = _interval({"ece": value}, calls)["ece"]
    assert low == value and high > 0.005


# --- the "95%" holds on small hidden sets -------------------------------------------------------
# Measured on the code, not assumed: the old percentile bootstrap of an accuracy over 10 items at a
# true rate of 0.97 covered it 0.27 of the time, and every perfect score got [1, 1].


def _accuracy_interval(n: int, right: int) -> tuple[float, float] | None:
    with recording() as calls:
        value = classification.accuracy(["a"] * n, ["a"] * right + ["b"] * (n - right))
    return _interval({"accuracy": value}, calls)["accuracy"]


@pytest.mark.parametrize("n", [5, 10, 20, 50])
def test_an_accuracy_interval_covers_the_true_rate_95_percent_of_the_time(n: int) -> None:
    """Exact coverage: every count of right answers a hidden set of n items can hold, weighted by
    its binomial probability at each true rate."""
    found = [_accuracy_interval(n, right) for right in range(n + 1)]
    assert all(each is not None and each[0] < each[1] for each in found)  # never certain
    for rate in (0.5, 0.9, 0.97):
        covered = sum(math.comb(n, right) * rate ** right * (1 - rate) ** (n - right)
                      for right, each in enumerate(found)
                      if each is not None and each[0] <= rate <= each[1])
        assert covered >= intervals.LEVEL, (n, rate, covered)


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP of continuous (untied) scores: precision at each positive's rank, averaged."""
    ranked = labels[np.argsort(-scores)]
    hits = np.cumsum(ranked)
    return float((hits / np.arange(1, len(ranked) + 1))[ranked == 1].mean())


def test_a_ranking_metric_is_bounded_only_on_enough_items_to_cover_its_true_value() -> None:
    """Average precision of a ranker that scores positives 1.5 standard deviations higher, 30%
    positives: on few rows the bootstrap covered its true value far less than 95% of the time
    (0.70 on 10 rows), so no interval is shown; from MIN_ITEMS on, about 0.9 or more is."""
    rng = np.random.default_rng(7)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (rng.random(n) < 0.3).astype(int)
        return labels, rng.normal(size=n) + 1.5 * labels

    truth = _average_precision(*sample(400_000))
    for n, trials in ((10, 100), (intervals.MIN_ITEMS, 150)):
        shown = covered = 0
        for _ in range(trials):
            labels, scores = sample(n)
            if not 0 < labels.sum() < n:
                continue
            with recording() as calls:
                value = classification.average_precision(labels, scores)
            found = _interval({"ap": value}, calls)["ap"]
            if found is not None:
                shown += 1
                covered += found[0] <= truth <= found[1]
        if n < intervals.MIN_ITEMS:
            assert shown == 0, covered / shown
        else:
            assert shown >= 0.95 * trials and covered / shown >= 0.88, (shown, covered)


# --- which call a returned value came from ------------------------------------------------------


def test_each_value_finds_its_own_call_even_when_values_coincide() -> None:
    small = (["a", "b"] * 10, ["a", "a"] * 10)           # 0.5 on 20 rows
    large = (["a", "b"] * 500, ["a", "a"] * 500)         # 0.5 on 1000 rows
    with recording() as calls:
        first = classification.accuracy(*small)
        second = classification.accuracy(*large)
    found = _interval({"small": first, "large": second}, calls)
    (low_s, high_s), (low_l, high_l) = found["small"], found["large"]
    assert high_s - low_s > 3 * (high_l - low_l)  # the 20-row call is far less sure


def test_rounded_values_match_and_their_interval_is_rounded_alike() -> None:
    truth, predicted = ["a", "b", "c"] * 100, ["a", "b", "b"] * 100
    with recording() as calls:
        f1 = classification.macro_f1(truth, predicted)
    rounded = round(f1, 4)
    assert rounded != f1
    low, high = _interval({"macro_f1": rounded}, calls)["macro_f1"]
    assert low == round(low, 4) and high == round(high, 4) and low < rounded < high


def test_values_no_call_produced_get_no_interval() -> None:
    truth, predicted = ["a", "b"] * 50 + ["a"] * 4, ["a", "a"] * 50 + ["a"] * 4
    with recording() as calls:
        accuracy = classification.accuracy(truth, predicted)
    assert accuracy == pytest.approx(0.5192307692)
    found = _interval({"by_hand": 1 - accuracy, "flag": 1.0, "zero": 0.0,
                       "rounded_to_one_decimal": round(accuracy, 1)}, calls)
    assert found == {"by_hand": None, "flag": None, "zero": None,
                     "rounded_to_one_decimal": None}


def test_a_mean_over_only_some_calls_is_not_matched() -> None:
    half = intervals.MIN_ITEMS // 2
    with recording() as calls:
        first = [answers.token_f1("x y", "x z") for _ in range(half)]   # 0.5 each
        second = [answers.token_f1("x", "y") for _ in range(half)]      # 0 each
    found = _interval({"first_half": sum(first) / half,
                       "all": sum(first + second) / (2 * half)}, calls)
    assert found["first_half"] is None
    low, high = found["all"]
    assert 0.0 <= low < 0.25 < high <= 0.5


def test_draws_undefined_too_often_give_no_interval() -> None:
    labels, scores = [1] + [0] * 199, [0.9] + [0.1] * 199
    with recording() as calls:
        value = classification.average_precision(labels, scores)
    # A single positive is left out of about a third of the draws: still defined in most.
    assert _interval({"ap": value}, calls)["ap"] is not None
    n = intervals.MIN_ITEMS
    never = intervals._Items(n, lambda w: np.full(len(w), np.nan))
    assert intervals.bounds({"none": never}, seed="s") == {"none": None}
    assert intervals.unbounded(n) == f"undefined on most resamples of its {n} hidden items"


def test_measured_is_a_float_that_carries_its_interval() -> None:
    value = Measured(0.25, (0.2, 0.3), 400)
    assert value == 0.25 and value + 1 == 1.25 and isinstance(value, float)
    assert interval_of(value) == (0.2, 0.3)
    assert interval_of(0.25) is None and interval_of(None) is None
    for again in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
        assert (interval_of(again), again.items) == ((0.2, 0.3), 400)


# --- run_harness attaches them -------------------------------------------------------------------


def test_run_harness_attaches_an_interval_to_each_value_computed_through_grader_metrics(
        tmp_path: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text(textwrap.dedent('''
        from grader.metrics.classification import accuracy, macro_f1

        def evaluate(candidate, context):
            truth = ["a", "b", "c", "a"] * 50
            predicted = candidate.predict(truth)
            right = sum(t == p for t, p in zip(truth, predicted))
            return {"macro_f1": round(macro_f1(truth, predicted), 4),
                    "accuracy": accuracy(truth, predicted),
                    "by_hand": right / len(truth),
                    "calls": 1.0}
    '''))

    class Candidate:
        def predict(self, texts: list[str]) -> list[str]:
            return [t if i % 3 else "a" for i, t in enumerate(texts)]

    context = HiddenContext(hidden_dir=tmp_path, seeds={})
    values = run_harness("quality", harness, candidate=Candidate(),  # type: ignore[arg-type]
                         context=context, metrics=["macro_f1", "accuracy", "by_hand", "calls"])
    assert all(isinstance(v, Measured) for v in values.values())
    assert values["accuracy"] == values["by_hand"]  # same number, but only one was recorded
    low, high = interval_of(values["accuracy"])  # type: ignore[misc]
    assert low < values["accuracy"] < high
    assert interval_of(values["macro_f1"]) is not None
    # by_hand equals accuracy exactly, so it may take that call's interval; the flag never does.
    assert interval_of(values["calls"]) is None
    again = run_harness("quality", harness, candidate=Candidate(),  # type: ignore[arg-type]
                        context=context, metrics=["macro_f1", "accuracy", "by_hand", "calls"])
    assert {k: interval_of(v) for k, v in again.items()} == {
        k: interval_of(v) for k, v in values.items()}


# --- points at the interval's ends ---------------------------------------------------------------


def _assignment(*, calibration_role: str = "supporting") -> Assignment:
    spec: dict[str, Any] = {
        "id": "fraud", "title": "Fraud", "version": "1.0.0", "summary": "Rank payments.",
        "candidate": {"bundle": "candidate", "max_submissions": 3},
        "entry_points": [
            {"name": "train", "phase": "build", "params": {"work_dir": "string"},
             "returns": "null"},
            {"name": "load", "phase": "serve", "params": {"work_dir": "string"},
             "returns": "null"},
        ],
        "phases": {"build": {"call": "train", "arguments": {"work_dir": "/work"}},
                   "serve": {"load": "load", "call_timeout": 10}},
        "hidden_tests": [{"name": "behaviour", "path": "hidden/tests"}],
        "harnesses": [{"name": "quality", "path": "hidden/harness.py", "metrics": [
            {"name": "pr_auc", "higher_is_better": True},
            {"name": "ece", "higher_is_better": False},
        ]}],
        "rubric": [
            {"id": "ranking", "title": "Ranking", "weight": 60, "metric": "quality.pr_auc",
             "scale": {"anchors": [{"baseline": "constant", "points": 0.0},
                                   {"baseline": "logreg", "points": 0.5},
                                   {"baseline": "reference", "points": 1.0}]}},
            {"id": "calibration", "title": "Calibration", "weight": 20, "metric": "quality.ece",
             "role": calibration_role,
             "scale": {"anchors": [{"baseline": "constant", "points": 0.0},
                                   {"baseline": "reference", "points": 1.0}]}},
            {"id": "behaviour", "title": "Behaviour", "weight": 20, "tests": "behaviour"},
        ],
        "baselines": [
            {"name": "constant", "path": "reference/constant",
             "scores": {"quality.pr_auc": 0.02, "quality.ece": 0.2}},
            {"name": "logreg", "path": "reference/logreg", "scores": {"quality.pr_auc": 0.42}},
            {"name": "reference", "path": "reference/solution",
             "scores": {"quality.pr_auc": 0.82, "quality.ece": 0.01}},
        ],
        "reproducibility": {"tolerance": 0.02},
    }
    return Assignment.model_validate(spec)


PR_AUC, ECE = "quality.pr_auc", "quality.ece"


def test_each_component_shows_its_points_at_the_interval_ends_on_the_same_scale() -> None:
    card = score(_assignment(), {PR_AUC: Measured(0.62, (0.52, 0.70)),
                                 ECE: Measured(0.05, (0.03, 0.08))}, {"behaviour": (3, 4)})
    ranking, calibration, behaviour = card.components
    pr = [(0.02, 0.0), (0.42, 0.5), (0.82, 1.0)]
    low_q, q, high_q = (scale_points(v, pr, True) for v in (0.52, 0.62, 0.70))
    assert card.quality == pytest.approx(q)
    assert ranking.interval == (round(60 * low_q, 2), round(60 * high_q, 2))
    assert ranking.interval[0] < ranking.points < ranking.interval[1]  # type: ignore[index]
    # Lower is better: the high ECE is the low end. Supporting: scaled by quality at that end.
    ece = [(0.2, 0.0), (0.01, 1.0)]
    calibration_ends = (scale_points(0.08, ece, False) * low_q,
                        scale_points(0.03, ece, False) * high_q)
    assert calibration.interval == (round(20 * calibration_ends[0], 2),
                                    round(20 * calibration_ends[1], 2))
    # The tests are not resampled, but their points scale with quality at each end.
    assert behaviour.interval == (round(20 * 0.75 * low_q, 2), round(20 * 0.75 * high_q, 2))
    low = sum(c.interval[0] for c in card.components)  # type: ignore[index]
    high = sum(c.interval[1] for c in card.components)  # type: ignore[index]
    assert card.interval == (round(low, 2), round(high, 2))
    assert card.interval[0] < card.total < card.interval[1]  # type: ignore[index]


def test_a_value_without_an_interval_leaves_its_component_and_the_total_without_one() -> None:
    card = score(_assignment(), {PR_AUC: Measured(0.62, (0.52, 0.70)), ECE: 0.05},
                 {"behaviour": (3, 4)})
    assert [c.interval is None for c in card.components] == [False, True, False]
    assert card.interval is None
    # A quality metric without one: every supporting component's scale is unknown too.
    card = score(_assignment(), {PR_AUC: 0.62, ECE: Measured(0.05, (0.03, 0.08))},
                 {"behaviour": (3, 4)})
    assert [c.interval for c in card.components] == [None, None, None]
    # As a quality component, calibration stands on its own.
    card = score(_assignment(calibration_role="quality"),
                 {PR_AUC: 0.62, ECE: Measured(0.05, (0.03, 0.08))}, {"behaviour": (3, 4)})
    assert [c.interval is None for c in card.components] == [True, False, True]


def test_no_value_scores_zero_at_both_ends() -> None:
    card = score(_assignment(), {PR_AUC: Measured(0.62, (0.52, 0.70)), ECE: None},
                 {}, failures={"quality": "the evaluation stopped"})
    assert card.components[1].interval == (0.0, 0.0)
    assert card.components[2].interval == (0.0, 0.0)  # the suite did not run
    assert card.interval == (card.components[0].interval)


def test_a_zero_width_interval_gives_zero_width_points() -> None:
    card = score(_assignment(), {PR_AUC: Measured(0.62, (0.62, 0.62)),
                                 ECE: Measured(0.05, (0.05, 0.05))}, {"behaviour": (3, 4)})
    assert all(c.interval == (c.points, c.points) for c in card.components)
    assert card.interval == (card.total, card.total)


def test_rescoring_places_the_ends_on_the_new_anchors() -> None:
    assignment = _assignment()
    metrics = {PR_AUC: Measured(0.62, (0.52, 0.70)), ECE: Measured(0.05, (0.03, 0.08))}
    graded = score(assignment, metrics, {"behaviour": (3, 4)})
    other = {"constant": {PR_AUC: 0.1, ECE: 0.3}, "logreg": {PR_AUC: 0.6},
             "reference": {PR_AUC: 0.9, ECE: 0.02}}
    again = rescore(assignment, graded.components, metrics, anchors=other)
    fresh = score(assignment, metrics, {"behaviour": (3, 4)}, anchors=other)
    assert [c.interval for c in again.components] == [c.interval for c in fresh.components]
    assert again.interval == fresh.interval != graded.interval


# --- reports carry them ------------------------------------------------------------------------


def _report(card: ScoreCard, metrics: list[MetricResult]) -> Report:
    return Report(
        status=ReportStatus.GRADED, message=f"Graded: {card.total:.1f} / 100.",
        assignment_title="Fraud", total=card.total, components=card.components, metrics=metrics,
        hidden_tests=[], phases=[],
        reproduction=Reproduction(
            runner_image="runner:test", runner_image_digest=None, assignment_id="fraud",
            assignment_version="1.0.0", assignment_sha256="0" * 64, submission_sha256=None,
            instance_id="demo", demo=True, public_data_sha256=None, seeds={}, limits={}))


def test_a_report_carries_metric_component_and_total_intervals_through_json() -> None:
    values = {PR_AUC: Measured(0.62, (0.52, 0.70)), ECE: Measured(0.05, (0.03, 0.08))}
    card = score(_assignment(), values, {"behaviour": (3, 4)})
    metrics = [MetricResult(name=name, value=value, higher_is_better=True, baselines={})
               for name, value in values.items()]
    assert [m.interval for m in metrics] == [(0.52, 0.70), (0.03, 0.08)]
    report = _report(card, metrics)
    assert report.total_interval == card.interval
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report
    assert again.total_interval == card.interval
    assert [interval_of(m.value) for m in again.metrics] == [(0.52, 0.70), (0.03, 0.08)]
    # The total's interval always follows the components, whatever a document says.
    body = report.model_dump(mode="json")
    body["total_interval"] = [0.0, 100.0]
    assert Report.model_validate(body).total_interval == card.interval
    plain = MetricResult(name=PR_AUC, value=0.62, higher_is_better=True, baselines={})
    assert plain.interval is None and type(plain.value) is float


def test_a_report_without_intervals_reads_as_before() -> None:
    card = score(_assignment(), {PR_AUC: 0.62, ECE: 0.05}, {"behaviour": (3, 4)})
    body = _report(card, []).model_dump(mode="json")
    del body["total_interval"]
    for component in body["components"]:
        del component["interval"]
    report = Report.model_validate(body)
    assert report.total_interval is None
    assert all(c.interval is None for c in report.components)


def test_the_pipelines_report_and_its_re_scoring_keep_the_intervals(tmp_path: Path) -> None:
    """The pipeline's report step on a finished grading (no containers), then the report
    re-scored on the instance's anchors once they land (grader.anchors.rescored)."""
    scaffold = new_assignment(tmp_path / "assignments", "starter")
    assignment = load_assignment(scaffold, ceiling=Limits())
    settings = Settings(data_dir=tmp_path / "data", assignments_dir=scaffold.parent,
                        instance_secret="0123456789abcdef" * 4)
    digest = "sha256:" + "ab" * 32
    key = next(c.metric for c in assignment.rubric if c.metric is not None)
    recorded = [b.scores[key] for b in assignment.baselines if key in b.scores]
    low, high = min(recorded), max(recorded)
    value = Measured(low + 0.6 * (high - low), (low + 0.45 * (high - low),
                                                low + 0.75 * (high - low)))
    tests = {suite.name: (2, 2) for suite in assignment.hidden_tests}

    grading = _Grading(assignment, scaffold, settings.assignment_instance(assignment, scaffold),
                       scaffold, "runner", Limits(), lambda _m: None,
                       anchors_for(settings, assignment, scaffold, digest))
    grading.ledger.metrics = {key: value}
    grading.ledger.tests = [TestCaseResult(suite=suite, name=f"t{i}", outcome="passed",
                                    duration_seconds=0.0, message="")
                     for suite in tests for i in range(2)]
    early = Report.model_validate_json(grading.report(digest, "f" * 64).model_dump_json())
    assert early.anchors is not None and early.anchors.provisional
    assert next(m.interval for m in early.metrics if m.name == key) == value.interval
    metric_component = next(c.id for c in assignment.rubric if c.metric == key)
    component = next(c for c in early.components if c.id == metric_component)
    assert component.interval is not None
    assert component.interval[0] < component.points < component.interval[1]
    assert early.total_interval is not None
    assert early.total_interval[0] < early.total < early.total_interval[1]  # type: ignore[operator]

    def grade(baseline: Baseline) -> dict[str, float]:  # the instance's anchors: all lower
        return {name: score - 0.1 * (high - low) for name, score in baseline.scores.items()}

    anchors = measure_missing(settings, assignment, scaffold, grade=grade, image_digest=digest)
    late = rescored(early, assignment, anchors)
    assert late is not None and late.total_interval is not None
    fresh = score(assignment, {key: value}, tests, anchors=anchors.scores)
    assert late.components == fresh.components
    assert late.total_interval == fresh.interval != early.total_interval
    assert Report.model_validate_json(late.model_dump_json()) == late


DASH = "\N{EN DASH}"


def test_the_html_report_shows_the_intervals() -> None:
    values = {PR_AUC: Measured(0.62, (0.52, 0.70)), ECE: 0.05}
    card = score(_assignment(calibration_role="quality"), values, {"behaviour": (3, 4)})
    metrics = [MetricResult(name=name, value=value, higher_is_better=True, baselines={})
               for name, value in values.items()]
    html = render_html(_report(card, metrics))
    assert f"0.52{DASH}0.7" in html  # the metric's
    ranking = card.components[0].interval
    assert ranking is not None and f"{ranking[0]:.2f}{DASH}{ranking[1]:.2f}" in html
    assert card.interval is None and 'id="total-interval"' not in html  # ECE has none
    card = score(_assignment(), {PR_AUC: values[PR_AUC], ECE: Measured(0.05, (0.03, 0.08))},
                 {"behaviour": (3, 4)})
    html = render_html(_report(card, metrics))
    low, high = card.interval  # type: ignore[misc]
    assert f"(95% interval {low:.1f}{DASH}{high:.1f})" in html


def test_a_metric_over_too_few_items_says_so_on_the_report_rather_than_showing_a_band(
        capsys: pytest.CaptureFixture[str]) -> None:
    values = {PR_AUC: Measured(0.62, None, 40), ECE: Measured(0.05, (0.03, 0.08), 400)}
    card = score(_assignment(), values, {"behaviour": (3, 4)})
    metrics = [MetricResult(name=name, value=value, higher_is_better=True, baselines={})
               for name, value in values.items()]
    assert [(m.interval, m.items) for m in metrics] == [(None, 40), ((0.03, 0.08), 400)]
    report = _report(card, metrics)
    assert report.total_interval is None
    assert report.unbounded == [f"{PR_AUC}: too few hidden items to bound: 40"]
    html = render_html(report)
    assert '<span class="unbounded">too few hidden items to bound: 40</span>' in html
    assert (f'id="total-unbounded">(no 95% interval: {PR_AUC}: too few hidden items to bound: '
            '40)</span>') in html
    assert f"at least {intervals.MIN_ITEMS} items" in html
    _summary(report)  # `grader grade` says so too
    printed = " ".join(capsys.readouterr().out.split())  # as wrapped to the terminal's width
    assert (f"no 95% interval of the total: {PR_AUC}: too few hidden items to bound: 40"
            in printed)
    # Stored and read again, it still says so; a report stored before items were recorded reads
    # as before: no interval and no reason.
    again = Report.model_validate_json(report.model_dump_json())
    assert again.unbounded == report.unbounded and again.metrics[0].value.items == 40  # type: ignore[union-attr]
    body = report.model_dump(mode="json")
    for metric in body["metrics"]:
        del metric["items"]
    old = Report.model_validate(body)
    assert [m.items for m in old.metrics] == [None, None] and old.unbounded == []
    assert "too few hidden items to bound:" not in render_html(old)


def test_validate_warns_an_author_whose_metrics_are_over_too_few_items() -> None:
    def graded(pr_auc: Measured) -> Report:
        values = {PR_AUC: pr_auc, ECE: Measured(0.05, (0.03, 0.08), 400)}
        card = score(_assignment(), values, {"behaviour": (3, 4)})
        return _report(card, [MetricResult(name=name, value=value, higher_is_better=True,
                                           baselines={}) for name, value in values.items()])

    few = {"reference": graded(Measured(0.8, None, 40)),
           "constant": graded(Measured(0.1, None, 40))}
    check = authoring._metrics_bounded(few)
    assert (check.ok, check.severity) == (False, "warning")
    assert check.detail.startswith(
        f"reports will carry no 95% interval for {PR_AUC}: too few hidden items to bound: 40, "
        "nor for the total")
    assert f"over {intervals.MIN_ITEMS} hidden items or more" in check.detail
    enough = authoring._metrics_bounded({"reference": graded(Measured(0.8, (0.7, 0.9), 400))})
    assert enough.ok


# --- reviewers see them; the cohort marks totals that cannot be told apart ---------------------

EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"


def _stored_report(total: float, interval: tuple[float, float] | None,
                   items: int = 400) -> Report:
    component = ComponentScore(id="quality", title="Quality", weight=100.0, points=total,
                               fraction=total / 100, reason="placed", interval=interval)
    metric = MetricResult(name="retrieval.recall_at_10", value=total / 100,
                          higher_is_better=True, baselines={},
                          interval=None if interval is None else (interval[0] / 100,
                                                                  interval[1] / 100),
                          items=items)
    card = ScoreCard(total=total, components=[component], quality=total / 100)
    return _report(card, [metric])


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data, assignments_dir=BUILT_IN_ASSIGNMENTS, demo=True,
                        database_url=f"sqlite:///{data / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        db = app.state.service.db
        with db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
        ids = {}
        for label, graded in [("Ada", [(50.0, (44.0, 56.0)), (80.0, (75.0, 85.0))]),
                              ("Grace", [(78.0, (72.0, 83.0))]),
                              ("Alan", [(60.0, (55.0, 64.0))]),
                              ("Edsger", [(59.0, None)])]:
            invite, _ = invite_candidate(db, assignment_id="rag_pipeline", max_submissions=3,
                                         cohort="spring", label=label, allowance=None,
                                         valid_days=1, created_by=EMAIL)
            for number, (total, interval) in enumerate(graded):
                submission = accept_submission(db, invite_id=invite.id, sha256="0" * 64,
                                               size_bytes=100, files_dir=f"{label}{number}")
                claim = claim_job(db, worker="test", lease_seconds=60,
                                  max_attempts=settings.max_attempts)
                assert claim is not None and claim.submission_id == submission.id
                # Edsger's metric was computed over too few hidden items to bound.
                items = 40 if interval is None else 400
                assert complete_job(db, claim, _stored_report(total, interval, items))
                ids[label if number == len(graded) - 1 else f"{label} (earlier)"] = submission.id
        response = client.post("/api/review/login", json={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 200
        yield client, ids


def test_the_cohort_json_ranks_candidates_and_marks_those_that_cannot_be_told_apart(
        cohort: Any) -> None:
    client, ids = cohort
    rows = client.get("/api/review/assignments/rag_pipeline/submissions",
                      params={"cohort": "spring"}).json()
    standing = {row["id"]: row["standing"] for row in rows}
    assert standing[ids["Ada"]] == {"rank": 1, "ranked": 4, "total_interval": [75.0, 85.0],
                                    "indistinct_from": [2]}
    assert standing[ids["Grace"]]["rank"] == 2 and standing[ids["Grace"]]["indistinct_from"] == [1]
    assert standing[ids["Alan"]]["rank"] == 3 and standing[ids["Alan"]]["indistinct_from"] == []
    # Without an interval it is ranked but nothing can be said about telling it apart.
    assert standing[ids["Edsger"]] == {"rank": 4, "ranked": 4, "total_interval": None,
                                       "indistinct_from": []}
    # Only a candidate's latest graded submission is ranked.
    assert standing[ids["Ada (earlier)"]]["rank"] is None


def test_the_cohort_page_and_csv_show_it(cohort: Any) -> None:
    client, ids = cohort
    page = client.get("/review/assignments/rag_pipeline?cohort=spring").text
    assert 'id="standing-legend"' in page
    table = page[page.index('<table id="submissions">'):].split("</table>")[0]
    rows = {int(chunk.split('"', 1)[0]): chunk for chunk in
            table.split('<tr class=""><td><a href="/review/submissions/')[1:]}
    assert "#1 <span class=\"flag indistinct\">cannot be told apart from #2</span>" in rows[
        ids["Ada"]]
    assert "cannot be told apart from #1" in rows[ids["Grace"]]
    assert "#3" in rows[ids["Alan"]] and "cannot be told apart" not in rows[ids["Alan"]]
    assert f"75.0{DASH}85.0" in rows[ids["Ada"]]
    exported = client.get("/api/review/assignments/rag_pipeline/export.csv",
                          params={"cohort": "spring"}).text
    table = {int(r["submission_id"]): r for r in csv.DictReader(io.StringIO(exported))}
    assert (table[ids["Ada"]]["total_low"], table[ids["Ada"]]["total_high"]) == ("75", "85")
    assert table[ids["Ada"]]["rank"] == "1" and table[ids["Ada"]]["indistinct_from"] == "2"
    assert table[ids["Edsger"]]["total_low"] == "" and table[ids["Edsger"]]["rank"] == "4"
    # A ranked total without an interval says so rather than looking told apart from the rest.
    assert '<span class="muted small">no interval</span>' in rows[ids["Edsger"]]
    assert "no interval" not in rows[ids["Ada"]] + rows[ids["Ada (earlier)"]]
    assert table[ids["Ada (earlier)"]]["rank"] == ""


def test_the_report_page_shows_the_intervals(cohort: Any) -> None:
    client, ids = cohort
    page = client.get(f"/review/submissions/{ids['Ada']}").text
    assert f"(95% interval 75.0{DASH}85.0)" in page
    assert f"75.00{DASH}85.00" in page  # the component's points at the ends
    assert f"0.75{DASH}0.85" in page    # the metric's interval
    page = client.get(f"/review/submissions/{ids['Edsger']}").text
    assert "(95% interval" not in page
    assert ("(no 95% interval: retrieval.recall_at_10: too few hidden items to bound: 40)"
            in page)
    assert '<span class="unbounded">too few hidden items to bound: 40</span>' in page
