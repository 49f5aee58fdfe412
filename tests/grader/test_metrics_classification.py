"""Classification metrics: hand-computed values, scikit-learn where it has the metric, crafted
probabilities for expected calibration error."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import accuracy_score, f1_score

from grader.metrics import classification
from grader.metrics.classification import (
    accuracy,
    confidences,
    expected_calibration_error,
    macro_f1,
    one_hot,
)

TRUE = ["a", "a", "b", "b", "c"]
PRED = ["a", "b", "b", "b", "a"]


def test_public_names() -> None:
    assert sorted(classification.__all__) == [
        "accuracy", "confidences", "expected_calibration_error", "macro_f1", "one_hot"]


def test_macro_f1_by_hand() -> None:
    # a: P 1/2 R 1/2 F1 1/2; b: P 2/3 R 1 F1 4/5; c: never predicted, F1 0.
    assert macro_f1(TRUE, PRED) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_macro_f1_counts_a_label_only_ever_predicted() -> None:
    # "z" has no true rows; predicting it wrongly adds a class with F1 0 (scikit-learn's rule).
    assert macro_f1(["a", "a"], ["a", "z"]) == pytest.approx((2 / 3 + 0.0) / 2)


def test_macro_f1_over_given_labels() -> None:
    # An unseen, unpredicted label scores 0 when the caller names it.
    assert macro_f1(TRUE, PRED, labels=["a", "b", "c", "d"]) == pytest.approx(1.3 / 4)


def test_accuracy_by_hand() -> None:
    assert accuracy(TRUE, PRED) == pytest.approx(3 / 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = [f"intent_{i}" for i in range(7)]
    truth = [rng.choice(labels) for _ in range(300)]
    guess = [t if rng.random() < 0.6 else rng.choice(labels) for t in truth]
    assert macro_f1(truth, guess) == pytest.approx(f1_score(truth, guess, average="macro"))
    assert accuracy(truth, guess) == pytest.approx(accuracy_score(truth, guess))


@pytest.mark.parametrize("function", [macro_f1, accuracy, expected_calibration_error])
def test_rejects_empty_and_mismatched_inputs(function) -> None:
    with pytest.raises(ValueError, match="no labels"):
        function([], [])
    with pytest.raises(ValueError, match="2 true labels but 1"):
        function(["a", "b"], [{"a": 1.0}] if function is expected_calibration_error else ["a"])


def test_ece_on_crafted_probabilities() -> None:
    truth = ["a", "b", "a", "b"]
    maps = [
        {"a": 0.9, "b": 0.1},      # confident, right
        {"a": 0.9, "b": 0.1},      # confident, wrong
        {"a": 0.6, "b": 0.4},      # right
        {"b": 0.6, "a": 0.4},      # right
    ]
    # Two bins in use: 0.9 (accuracy 1/2) and 0.6 (accuracy 1): 2/4 * 0.4 + 2/4 * 0.4.
    assert expected_calibration_error(truth, maps) == pytest.approx(0.4)


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    truth = ["a", "a", "a", "a", "b"]
    maps = [{"a": 0.8, "b": 0.2}] * 5
    assert expected_calibration_error(truth, maps) == pytest.approx(0.0, abs=1e-12)


def test_ece_bins_are_closed_on_the_right() -> None:
    # 0.6 is exactly the upper edge of bin (8/15, 9/15]; 0.6000001 starts the next bin, so the
    # two rows are scored apart: |1 - 0.6| / 2 + |0 - 0.6000001| / 2.
    truth = ["a", "b"]
    maps = [{"a": 0.6, "b": 0.4}, {"a": 0.6000001, "b": 0.3999999}]
    assert expected_calibration_error(truth, maps) == pytest.approx((0.4 + 0.6000001) / 2)
    # With a single bin both rows share it: |1/2 - 0.60000005|.
    assert expected_calibration_error(truth, maps, n_bins=1) == pytest.approx(0.10000005)


def test_ece_of_one_hot_labels_is_one_minus_accuracy() -> None:
    assert expected_calibration_error(TRUE, one_hot(PRED)) == pytest.approx(1 - 3 / 5)
    assert one_hot(["x", "y"]) == [{"x": 1.0}, {"y": 1.0}]


def test_confidence_ties_go_to_the_label_that_sorts_first() -> None:
    labels, values = confidences([{"b": 0.5, "a": 0.5}, {"c": 0.2, "d": 0.7, "e": 0.1}])
    assert labels == ["a", "d"]
    assert values.tolist() == [0.5, 0.7]


@pytest.mark.parametrize(("maps", "message"), [
    ([{}], "is empty"),
    ([{"a": 1.5}], "not in \\[0, 1\\]"),
    ([{"a": -0.1, "b": -0.2}], "not in \\[0, 1\\]"),
])
def test_rejects_bad_probabilities(maps, message) -> None:
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(["a"], maps)
