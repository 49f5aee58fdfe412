"""Classification metrics, computed on the trusted side from a candidate's parsed answers.

Two shapes of input:

- multi-class: labels are strings; probabilities are one mapping ``{label: probability}`` per input,
  the JSON shape a candidate's ``predict_proba`` returns (``macro_f1``, ``accuracy``,
  ``expected_calibration_error``);
- binary: labels are 0/1 (or booleans) and each input has one score, the candidate's probability of
  the positive class (``average_precision``, ``recall_at_fpr``, ``brier_score``,
  ``binary_calibration_error``). The ranking metrics take any finite scores as they come: they are
  never clipped or rounded first, since that would tie scores the candidate kept apart. Brier and
  calibration read the scores as probabilities and refuse values outside [0, 1].

Everything is written out here over numpy and the tests cross-check it against scikit-learn (F1,
accuracy, average precision, the ROC curve, Brier) on random inputs with ties. Calibration error
uses ``ECE_BINS`` (15) equal-width bins closed on the right, ``(lo, hi]``, in both its forms.

Every function raises ``ValueError`` on empty or mismatched inputs rather than returning a number a
rubric would then score.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import compress

import numpy as np

from grader.metrics._recording import recorded

__all__ = [
    "ECE_BINS",
    "accuracy",
    "average_precision",
    "binary_calibration_error",
    "brier_score",
    "confidences",
    "expected_calibration_error",
    "macro_f1",
    "one_hot",
    "recall_at_fpr",
]

ECE_BINS = 15
"""The number of equal-width bins both calibration errors use unless told otherwise."""


def _check_pair(y_true: Sequence[object] | np.ndarray, y_pred: Sequence[object] | np.ndarray
                ) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise ValueError("no labels to score")


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str],
             labels: Sequence[str] | None = None) -> float:
    """The unweighted mean of per-class F1 scores, ``2 TP / (2 TP + FP + FN)`` for each class.

    By default over every label that occurs in ``y_true`` or ``y_pred`` (scikit-learn's rule: a
    class that is only ever predicted wrongly scores 0 and drags the mean down). Given ``labels``,
    over those alone; a class with no true and no predicted rows then scores 0.
    """
    _check_pair(y_true, y_pred)
    classes = sorted(set(y_true) | set(y_pred)) if labels is None else list(dict.fromkeys(labels))
    if not classes:
        raise ValueError("labels is empty")
    hits = Counter(compress(y_true, map(operator.eq, y_true, y_pred)))
    true_count, predicted_count = Counter(y_true), Counter(y_pred)
    scores = []
    for label in classes:
        denominator = true_count[label] + predicted_count[label]
        scores.append(2 * hits[label] / denominator if denominator else 0.0)
    return float(np.mean(scores))


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """The share of exact matches."""
    _check_pair(y_true, y_pred)
    return float(np.mean(list(map(operator.eq, y_true, y_pred))))


def one_hot(y_pred: Sequence[str]) -> list[dict[str, float]]:
    """Probability maps for hard predictions: all mass on the predicted label.

    This is what a classifier that only answers labels claims, so the ECE of these maps is
    ``1 - accuracy``; it stands in when a candidate offers no probabilities.
    """
    return [{label: 1.0} for label in y_pred]


def confidences(probabilities: Sequence[Mapping[str, float]]) -> tuple[list[str], np.ndarray]:
    """Each map's most probable label and its probability.

    Ties go to the label that sorts first, so the answer never depends on the map's key order.
    """
    labels, values = [], []
    for index, probs in enumerate(probabilities):
        if not probs:
            raise ValueError(f"probabilities[{index}] is empty")
        label, value = min(probs.items(), key=lambda item: (-float(item[1]), item[0]))
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"probabilities[{index}][{label!r}] = {value} is not in [0, 1]")
        labels.append(label)
        values.append(value)
    return labels, np.asarray(values)


def _binned_gap(confidence: np.ndarray, outcome: np.ndarray, n_bins: int) -> float:
    """The mean over inputs of |mean outcome - mean confidence| in the input's bin.

    Bin ``b`` holds confidences in ``(b / n_bins, (b + 1) / n_bins]``; a confidence of exactly 0
    joins the first bin. So each bin weighs as many inputs as it holds.
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    # Inner edges as the floats nearest b / n_bins, so a confidence of 0.2 is in (2/15, 3/15]:
    # searchsorted's default side ("left") counts the edges strictly below each confidence.
    bins = np.searchsorted(np.arange(1, n_bins) / n_bins, confidence)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(outcome[members].mean() - confidence[members].mean())
    return float(total / len(outcome))


def expected_calibration_error(y_true: Sequence[str],
                               probabilities: Sequence[Mapping[str, float]],
                               n_bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error with equal-width confidence bins (Guo et al., 2017).

    Each input's confidence is its highest probability and it counts as correct when that label is
    the true one. With ``n_bins`` bins (15 by default), bin ``b`` holds confidences in
    ``(b / n_bins, (b + 1) / n_bins]`` (a confidence of exactly 0 joins the first bin); ECE is the
    mean over inputs of ``|accuracy(bin) - mean confidence(bin)|`` for the input's bin, i.e. each
    bin's gap weighted by its share of the inputs. 0 is perfectly calibrated.
    """
    _check_pair(y_true, probabilities)
    predicted, confidence = confidences(probabilities)
    correct = np.array(list(map(operator.eq, predicted, y_true)))
    return _binned_gap(confidence, correct, n_bins)


def _binary(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError("labels and scores must be flat sequences")
    _check_pair(y, s)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("binary labels must be 0 or 1")
    if not np.isfinite(s).all():
        raise ValueError("every score must be a finite number")
    return y.astype(bool), s


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    if ((scores < 0.0) | (scores > 1.0)).any():
        raise ValueError("probabilities must be in [0, 1]")
    return scores


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when flagging ``s >= t``, for every distinct score ``t``, highest
    first. Equal scores are flagged together: no order among tied inputs is assumed."""
    order = np.argsort(-s)
    s, y = s[order], y[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    return np.cumsum(y)[last_of_tie], np.cumsum(~y)[last_of_tie]


def average_precision(labels: Sequence[int] | np.ndarray,
                      scores: Sequence[float] | np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum (scikit-learn's definition).

    ``sum over thresholds t of (R(t) - R(previous t)) * P(t)``, flagging ``score >= t`` at each
    distinct score from the highest down. Needs at least one positive.
    """
    y, s = _binary(labels, scores)
    positives = int(y.sum())
    if positives == 0:
        raise ValueError("average precision needs at least one positive label")
    tp, fp = _curve(y, s)
    precision = tp / (tp + fp)
    recall = tp / positives
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def recall_at_fpr(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                  max_fpr: float) -> float:
    """The largest recall of a threshold that flags at most ``max_fpr`` of the negatives.

    Every distinct score is a threshold (flag ``score >= t``), and so is flagging nothing (recall
    0). No point of the ROC curve is dropped: with tied scores the best admissible threshold can sit
    in the middle of a straight stretch of the curve. Needs both classes.
    """
    y, s = _binary(labels, scores)
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("recall at a false-positive rate needs positive and negative labels")
    tp, fp = _curve(y, s)
    admissible = fp / negatives <= max_fpr
    return float(tp[admissible].max() / positives) if admissible.any() else 0.0


def brier_score(labels: Sequence[int] | np.ndarray,
                probabilities: Sequence[float] | np.ndarray) -> float:
    """The mean squared difference between each probability and its 0/1 label (lower is better)."""
    y, p = _binary(labels, probabilities)
    return float(np.mean((_as_probabilities(p) - y) ** 2))


def binary_calibration_error(labels: Sequence[int] | np.ndarray,
                             probabilities: Sequence[float] | np.ndarray,
                             n_bins: int = ECE_BINS) -> float:
    """Expected calibration error of probabilities of the positive class.

    The same bins as ``expected_calibration_error`` (``n_bins`` equal-width bins, 15 by default,
    each ``(lo, hi]``), over the probability itself: the mean over inputs of
    ``|positive rate(bin) - mean probability(bin)|``. A constant equal to the base rate scores 0.
    """
    y, p = _binary(labels, probabilities)
    return _binned_gap(_as_probabilities(p), y, n_bins)


# Recorded while a harness runs, so each value can carry its interval (grader.metrics._recording);
# wrapped here rather than decorated, so the mutation test still mutates the bodies.
accuracy = recorded(accuracy)
average_precision = recorded(average_precision)
binary_calibration_error = recorded(binary_calibration_error)
brier_score = recorded(brier_score)
expected_calibration_error = recorded(expected_calibration_error)
macro_f1 = recorded(macro_f1)
recall_at_fpr = recorded(recall_at_fpr)
