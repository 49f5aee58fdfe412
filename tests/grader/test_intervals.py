"""How sure a score is: bootstrap intervals over the hidden items (grader.intervals), attached by
run_harness, placed as points by scoring, carried by reports and re-placed with them, and shown to
reviewers (the cohort marks totals that cannot be told apart)."""

from __future__ import annotations

import copy
import math
import pickle
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import intervals
from grader.hidden import HiddenContext, run_harness
from grader.intervals import Measured, interval_of
from grader.metrics import answers, classification, retrieval
from grader.metrics._recording import recording

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


def test_a_constant_metric_has_a_zero_width_interval() -> None:
    qrels = {f"q{i}": {"d": 1} for i in range(50)}
    run = {q: ["x", "d"] for q in qrels}
    with recording() as calls:
        values = {"accuracy": classification.accuracy(["a"] * 80, ["a"] * 80),
                  "mrr": retrieval.mrr_at_k(qrels, run, 10),
                  "f1": sum(answers.token_f1("x y", "x z") for _ in range(20)) / 20}
    found = _interval(values, calls)
    assert found == {"accuracy": (1.0, 1.0), "mrr": (0.5, 0.5), "f1": (0.5, 0.5)}


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
    with recording() as calls:
        first = [answers.token_f1("x y", "x z") for _ in range(5)]   # 0.5 each
        second = [answers.token_f1("x", "y") for _ in range(5)]      # 0 each
    found = _interval({"first_half": sum(first) / 5, "all": sum(first + second) / 10}, calls)
    assert found["first_half"] is None
    low, high = found["all"]
    assert 0.0 <= low < 0.25 < high <= 0.5


def test_draws_undefined_too_often_give_no_interval() -> None:
    labels, scores = [1] + [0] * 199, [0.9] + [0.1] * 199
    with recording() as calls:
        value = classification.average_precision(labels, scores)
    # A single positive is left out of about a third of the draws: still defined in most.
    assert _interval({"ap": value}, calls)["ap"] is not None
    with recording() as calls:
        value = classification.recall_at_fpr([1] + [0] * 2, [0.9, 0.1, 0.2], 0.5)
    assert _interval({"r": value}, calls)["r"] is not None  # 3 items: undefined in a third
    assert intervals.bootstrap({"none": intervals._Items(4, lambda w: np.full(len(w), np.nan))},
                               seed="s") == {"none": None}


def test_measured_is_a_float_that_carries_its_interval() -> None:
    value = Measured(0.25, (0.2, 0.3))
    assert value == 0.25 and value + 1 == 1.25 and isinstance(value, float)
    assert interval_of(value) == (0.2, 0.3)
    assert interval_of(0.25) is None and interval_of(None) is None
    assert interval_of(pickle.loads(pickle.dumps(value))) == (0.2, 0.3)
    assert interval_of(copy.deepcopy(value)) == (0.2, 0.3)


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
