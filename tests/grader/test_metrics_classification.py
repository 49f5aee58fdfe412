"""grader.metrics.classification: hand-computed values, then scikit-learn as the independent
implementation on seeded random inputs full of ties (F1, accuracy, average precision, the ROC curve
with every point kept, Brier), and a written-out oracle for calibration error."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    roc_curve,
)

from grader.metrics import classification
from grader.metrics.classification import (
    ECE_BINS,
    accuracy,
    average_precision,
    binary_calibration_error,
    brier_score,
    confidences,
    expected_calibration_error,
    macro_f1,
    one_hot,
    recall_at_fpr,
)

TRUE = ["a", "a", "b", "b", "c"]
PRED = ["a", "b", "b", "b", "a"]
SEEDS = range(40)


def raises(message: str):
    """pytest.raises for a ValueError saying exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_public_names() -> None:
    assert sorted(classification.__all__) == [
        "ECE_BINS", "accuracy", "average_precision", "binary_calibration_error", "brier_score",
        "confidences", "expected_calibration_error", "macro_f1", "one_hot", "recall_at_fpr"]


# --- hard labels ----------------------------------------------------------------------------

def test_macro_f1_by_hand() -> None:
    # a: P 1/2 R 1/2 F1 1/2; b: P 2/3 R 1 F1 4/5; c: never predicted, F1 0.
    assert macro_f1(TRUE, PRED) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_macro_f1_counts_a_label_only_ever_predicted() -> None:
    # "z" has no true rows; predicting it wrongly adds a class with F1 0 (scikit-learn's rule).
    assert macro_f1(["a", "a"], ["a", "z"]) == pytest.approx((2 / 3 + 0.0) / 2)


def test_macro_f1_over_given_labels() -> None:
    # An unseen, unpredicted label scores 0 when the caller names it.
    assert macro_f1(TRUE, PRED, labels=["a", "b", "c", "d"]) == pytest.approx(1.3 / 4)
    # Only the named labels are averaged; a label named twice counts once.
    assert macro_f1(TRUE, PRED, labels=["b", "a", "b"]) == pytest.approx(1.3 / 2)
    with raises("labels is empty"):
        macro_f1(TRUE, PRED, labels=[])


def test_accuracy_by_hand() -> None:
    assert accuracy(TRUE, PRED) == pytest.approx(3 / 5)
    assert accuracy(["a"], ["a"]) == 1.0


def _hard_labels(seed: int) -> tuple[list[str], list[str], list[str] | None]:
    rng = random.Random(seed)
    classes = [f"intent_{i}" for i in range(rng.randint(1, 9))]
    n = rng.randint(1, 80)
    truth = [rng.choice(classes) for _ in range(n)]
    skill = rng.random()
    guess = [t if rng.random() < skill else rng.choice([*classes, "unseen"]) for t in truth]
    labels = None
    if seed % 3 == 1:  # a subset of the labels, in a shuffled order, plus one never seen
        labels = [*rng.sample(classes, rng.randint(1, len(classes))), "never"]
    return truth, guess, labels


@pytest.mark.parametrize("seed", SEEDS)
def test_hard_labels_agree_with_scikit_learn(seed: int) -> None:
    truth, guess, labels = _hard_labels(seed)
    expected = f1_score(truth, guess, labels=labels, average="macro", zero_division=0)
    assert macro_f1(truth, guess, labels=labels) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert accuracy(truth, guess) == pytest.approx(accuracy_score(truth, guess), rel=1e-12)


@pytest.mark.parametrize("function", [macro_f1, accuracy, expected_calibration_error])
def test_rejects_empty_and_mismatched_inputs(function) -> None:
    with raises("no labels to score"):
        function([], [])
    with raises("2 true labels but 1 predictions"):
        function(["a", "b"], [{"a": 1.0}] if function is expected_calibration_error else ["a"])


# --- top-label calibration ----------------------------------------------------------------------

def _ece_oracle(confidence: list[float], outcome: list[float], n_bins: int) -> float:
    """Guo et al.'s sum over bins of |B| / n * |acc(B) - conf(B)|, bins (b/n, (b+1)/n]."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i, c in enumerate(confidence) if lo < c <= hi or (b == 0 and c == 0)]
        if members:
            acc = sum(outcome[i] for i in members) / len(members)
            conf = sum(confidence[i] for i in members) / len(members)
            total += len(members) / len(confidence) * abs(acc - conf)
    return total


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


def test_ece_weighs_each_bin_by_its_inputs() -> None:
    # Three inputs at 0.9, all right (gap 0.1), one at 0.5, wrong (gap 0.5): 3/4*0.1 + 1/4*0.5,
    # not the unweighted mean over bins (0.1 + 0.5) / 2.
    truth = ["a", "a", "a", "a"]
    maps = [{"a": 0.9, "b": 0.1}] * 3 + [{"b": 0.5, "c": 0.5}]
    assert expected_calibration_error(truth, maps) == pytest.approx(0.75 * 0.1 + 0.25 * 0.5)
    assert binary_calibration_error([1, 1, 1, 0], [0.9, 0.9, 0.9, 0.5]) == pytest.approx(
        0.75 * 0.1 + 0.25 * 0.5)


def test_ece_defaults_to_15_bins() -> None:
    # The bin (0.6, 0.7] of 10 bins holds 0.64 and 0.69; 15 bins split it at 2/3.
    assert ECE_BINS == 15
    truth = ["a", "b"]
    maps = [{"a": 0.64, "b": 0.36}, {"a": 0.69, "b": 0.31}]
    # 15 bins: 0.64 in (0.6, 0.667], 0.69 in (0.667, 0.733]: (0.36 + 0.69) / 2.
    assert expected_calibration_error(truth, maps) == pytest.approx((0.36 + 0.69) / 2)
    # 10 bins would put both in (0.6, 0.7]: |1/2 - 0.665|.
    assert expected_calibration_error(truth, maps, n_bins=10) == pytest.approx(0.165)
    assert binary_calibration_error([1, 0], [0.64, 0.69]) == pytest.approx((0.36 + 0.69) / 2)
    assert binary_calibration_error([1, 0], [0.64, 0.69], n_bins=10) == pytest.approx(0.165)


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
    # 0.2 = 3/15 closes bin (2/15, 3/15]; 0.19 is in it too, 0.21 is not.
    assert binary_calibration_error([1, 0], [0.2, 0.19]) == pytest.approx(abs(0.5 - 0.195))
    assert binary_calibration_error([1, 0], [0.2, 0.21]) == pytest.approx((0.8 + 0.21) / 2)
    # 0 joins the first bin, 1 the last.
    assert binary_calibration_error([1, 0], [0.0, 0.05]) == pytest.approx(abs(0.5 - 0.025))
    assert binary_calibration_error([0, 1], [1.0, 0.95]) == pytest.approx(abs(0.5 - 0.975))


def test_ece_of_one_hot_labels_is_one_minus_accuracy() -> None:
    assert expected_calibration_error(TRUE, one_hot(PRED)) == pytest.approx(1 - 3 / 5)
    assert one_hot(["x", "y"]) == [{"x": 1.0}, {"y": 1.0}]


@pytest.mark.parametrize("seed", SEEDS)
def test_ece_matches_the_written_out_definition(seed: int) -> None:
    rng = random.Random(seed)
    n_bins = rng.choice([1, 2, 3, 7, 10, 15, 20])
    n = rng.randint(1, 60)
    grid = [b / n_bins for b in range(n_bins + 1)]  # edges on purpose: the bins are (lo, hi]
    values = [rng.choice(grid) if rng.random() < 0.4 else round(rng.random(), 2)
              for _ in range(n)]
    truth = [rng.choice("ab") for _ in range(n)]
    maps = [{"a": v, "b": round(1 - v, 12)} if v >= 0.5 else {"b": 1 - v, "a": v} for v in values]
    predicted, confidence = confidences(maps)
    correct = [float(p == t) for p, t in zip(predicted, truth, strict=True)]
    assert expected_calibration_error(truth, maps, n_bins=n_bins) == pytest.approx(
        _ece_oracle(confidence.tolist(), correct, n_bins), abs=1e-12)
    labels = [int(rng.random() < v) for v in values]
    assert binary_calibration_error(labels, values, n_bins=n_bins) == pytest.approx(
        _ece_oracle(values, [float(y) for y in labels], n_bins), abs=1e-12)


def test_confidence_ties_go_to_the_label_that_sorts_first() -> None:
    labels, values = confidences([{"b": 0.5, "a": 0.5}, {"c": 0.2, "d": 0.7, "e": 0.1}])
    assert labels == ["a", "d"]
    assert values.tolist() == [0.5, 0.7]


@pytest.mark.parametrize(("maps", "message"), [
    ([{}], "probabilities[0] is empty"),
    ([{"a": 1.5}], "probabilities[0]['a'] = 1.5 is not in [0, 1]"),
    ([{"a": -0.1, "b": -0.2}], "probabilities[0]['a'] = -0.1 is not in [0, 1]"),
])
def test_rejects_bad_probabilities(maps, message) -> None:
    with raises(message):
        expected_calibration_error(["a"], maps)
    with raises("n_bins must be at least 1"):
        expected_calibration_error(["a"], [{"a": 1.0}], n_bins=0)


def test_a_top_probability_may_be_0_or_1() -> None:
    labels, values = confidences([{"a": 0.0, "b": 0.0}, {"c": 1.0}])
    assert labels == ["a", "c"]
    assert values.tolist() == [0.0, 1.0]


# --- binary scores --------------------------------------------------------------------------

# The reproducer: scikit-learn's default roc_curve drops the point at FPR exactly 1%.
TIED_Y = [1, 0, 1, 0, 1, 0] + [0] * 197 + [1] * 2
TIED_S = [.9, .9, .8, .8, .7, .7] + [.1] * 197 + [.05] * 2


def test_recall_at_fpr_keeps_the_best_point_among_ties() -> None:
    # Flagging s >= 0.8 flags 2 of 200 negatives (FPR exactly 0.01) and 2 of 5 frauds.
    assert recall_at_fpr(TIED_Y, TIED_S, 0.01) == pytest.approx(0.4)
    fpr, tpr, _ = roc_curve(TIED_Y, TIED_S)  # what the harness used to do
    assert tpr[fpr <= 0.01].max() == pytest.approx(0.2)


def test_recall_at_fpr_by_hand() -> None:
    y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    s = [.9, .8, .7, .6, .5, .4, .3, .2, .1, 0.0]
    assert recall_at_fpr(y, s, 0.0) == pytest.approx(2 / 3)
    assert recall_at_fpr(y, s, 1 / 7) == pytest.approx(1.0)   # one negative of seven flagged
    assert recall_at_fpr(y, s, 0.14) == pytest.approx(2 / 3)  # just under 1/7: not allowed
    assert recall_at_fpr(y, s, 1.0) == 1.0
    # Equal scores are flagged together: the negative tied with the top positive blocks it.
    assert recall_at_fpr([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.1], 0.0) == 0.0
    assert recall_at_fpr([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.1], 0.5) == 1.0


def test_ranking_metrics_do_not_clip_scores() -> None:
    # Scores above 1 or below 0 still rank: clipping them to [0, 1] would tie 3.0 with 1.5.
    y = [0, 1, 0, 1]
    s = [1.5, 3.0, -2.0, -1.0]
    assert recall_at_fpr(y, s, 0.0) == 0.5
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)
    # Any strictly increasing transform leaves them unchanged.
    shifted = [10 * v - 7 for v in s]
    assert average_precision(y, shifted) == average_precision(y, s)
    assert recall_at_fpr(y, shifted, 0.5) == recall_at_fpr(y, s, 0.5)


def test_average_precision_by_hand() -> None:
    # Ranked 1 0 1 0: precision 1 at recall 1/2, 2/3 at recall 1.
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6]) == pytest.approx(
        0.5 * 1 + 0.5 * 2 / 3)
    # All four tied: one threshold, precision 1/2 at recall 1.
    assert average_precision([1, 0, 1, 0], [0.3] * 4) == pytest.approx(0.5)
    assert average_precision([1, 1], [0.1, 0.9]) == 1.0


def test_brier_by_hand() -> None:
    assert brier_score([1, 0, 1], [1.0, 0.0, 0.5]) == pytest.approx(0.25 / 3)
    assert brier_score([True, False], [0.0, 1.0]) == 1.0


def test_constant_base_rate_is_perfectly_calibrated() -> None:
    y = [1] + [0] * 9
    assert binary_calibration_error(y, [0.1] * 10) == pytest.approx(0.0, abs=1e-15)
    assert brier_score(y, [0.1] * 10) == pytest.approx(0.09)


def _binary_case(seed: int) -> tuple[list[int], list[float]]:
    rng = random.Random(1000 + seed)
    n = rng.randint(2, 120)
    distinct = rng.choice([1, 2, 3, 5, 10, n])  # few distinct scores: many ties
    levels = sorted({round(rng.random(), 3) for _ in range(distinct)} | {0.0, 1.0})
    base = rng.choice([0.02, 0.1, 0.3, 0.5, 0.8])
    scores = [rng.choice(levels) for _ in range(n)]
    labels = [int(rng.random() < (base + s) / 2) for s in scores]
    if seed % 10 != 9:  # both classes, except now and then
        labels[0], labels[1] = 1, 0
    return labels, scores


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_metrics_agree_with_scikit_learn(seed: int) -> None:
    labels, scores = _binary_case(seed)
    if 0 in labels and 1 in labels:
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        negatives = labels.count(0)
        rates = [0.0, 0.01, 0.05, 0.1, 0.3, 1.0] + [k / negatives for k in range(negatives + 1)]
        for rate in rates:
            assert recall_at_fpr(labels, scores, rate) == pytest.approx(
                tpr[fpr <= rate].max(), abs=1e-15), rate
    if 1 in labels:
        assert average_precision(labels, scores) == pytest.approx(
            average_precision_score(labels, scores), rel=1e-12, abs=1e-15)
    assert brier_score(labels, scores) == pytest.approx(
        brier_score_loss(labels, scores), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_the_order_of_inputs_does_not_matter(seed: int) -> None:
    labels, scores = _binary_case(seed)
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    shuffled_y, shuffled_s = [labels[i] for i in order], [scores[i] for i in order]
    if 1 in labels:
        assert average_precision(shuffled_y, shuffled_s) == pytest.approx(
            average_precision(labels, scores), rel=1e-12)
    if 0 in labels and 1 in labels:
        assert recall_at_fpr(shuffled_y, shuffled_s, 0.1) == recall_at_fpr(labels, scores, 0.1)


def test_binary_inputs_are_checked() -> None:
    with raises("no labels to score"):
        average_precision([], [])
    with raises("2 true labels but 3 predictions"):
        brier_score([0, 1], [0.1, 0.2, 0.3])
    with raises("binary labels must be 0 or 1"):
        recall_at_fpr([0, 2], [0.1, 0.2], 0.1)
    with raises("every score must be a finite number"):
        average_precision([0, 1], [0.1, float("nan")])
    for labels, scores in [([[0, 1]], [[0.1, 0.2]]), ([[0, 1]], [0.1, 0.2]),
                           ([0, 1], [[0.1, 0.2]])]:
        with raises("labels and scores must be flat sequences"):
            average_precision(labels, scores)
    with raises("average precision needs at least one positive label"):
        average_precision([0, 0], [0.1, 0.2])
    for labels in ([1, 1], [0, 0]):
        with raises("recall at a false-positive rate needs positive and negative labels"):
            recall_at_fpr(labels, [0.1, 0.2], 0.1)
    for rate in (-0.01, 1.01):
        with raises(f"max_fpr must be in [0, 1], got {rate}"):
            recall_at_fpr([0, 1], [0.1, 0.2], rate)
    for bad in (-0.01, 1.01):
        with raises("probabilities must be in [0, 1]"):
            brier_score([0, 1], [0.5, bad])
        with raises("probabilities must be in [0, 1]"):
            binary_calibration_error([0, 1], [bad, 0.5])
    with raises("n_bins must be at least 1"):
        binary_calibration_error([0, 1], [0.5, 0.5], n_bins=0)


def test_hard_predictions_are_scores_too() -> None:
    # 0/1 or True/False predictions rank and score like the probabilities 0.0 and 1.0.
    y = [0, 1, 1, 0, 1]
    for hard in ([False, True, False, False, True], [0, 1, 0, 0, 1]):
        assert average_precision(y, hard) == pytest.approx(
            average_precision(y, [float(v) for v in hard]))
        assert recall_at_fpr(y, hard, 0.0) == pytest.approx(2 / 3)
        assert brier_score(y, hard) == pytest.approx(0.2)
        assert binary_calibration_error(y, hard) == pytest.approx(0.2)


def test_numpy_arrays_are_accepted() -> None:
    y, s = np.array(TIED_Y), np.array(TIED_S)
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(0.4)
    assert average_precision(y.astype(bool), s) == pytest.approx(average_precision(TIED_Y, TIED_S))
