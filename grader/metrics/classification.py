"""Classification metrics over plain labels and probability maps, computed on the trusted side.

Labels are strings; probabilities are one mapping ``{label: probability}`` per input, the JSON
shape a candidate's ``predict_proba`` returns. Macro-F1 and accuracy are scikit-learn's; expected
calibration error is written out here (scikit-learn has no multi-class ECE).

Every function raises ``ValueError`` on empty or mismatched inputs rather than returning a number a
rubric would then score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

__all__ = [
    "accuracy",
    "confidences",
    "expected_calibration_error",
    "macro_f1",
    "one_hot",
]


def _check_pair(y_true: Sequence[str], y_pred: Sequence[object]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no labels to score")


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str],
             labels: Sequence[str] | None = None) -> float:
    """The unweighted mean of per-class F1 scores.

    By default over every label that occurs in ``y_true`` or ``y_pred`` (scikit-learn's rule: a
    class that is only ever predicted wrongly scores 0 and drags the mean down). A class with no
    true and no predicted rows, possible only when ``labels`` is given, scores 0.
    """
    _check_pair(y_true, y_pred)
    return float(f1_score(list(y_true), list(y_pred), labels=None if labels is None
                          else list(labels), average="macro", zero_division=0))


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """The share of exact matches."""
    _check_pair(y_true, y_pred)
    return float(accuracy_score(list(y_true), list(y_pred)))


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
    return labels, np.asarray(values, dtype=float)


def expected_calibration_error(y_true: Sequence[str],
                               probabilities: Sequence[Mapping[str, float]],
                               n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width confidence bins (Guo et al., 2017).

    Each input's confidence is its highest probability and it counts as correct when that label is
    the true one. Bin ``b`` holds confidences in ``(b / n_bins, (b + 1) / n_bins]`` (a confidence of
    exactly 0 joins the first bin); ECE is the mean over inputs of
    ``|accuracy(bin) - mean confidence(bin)|`` for the input's bin. 0 is perfectly calibrated.
    """
    _check_pair(y_true, probabilities)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    predicted, confidence = confidences(probabilities)
    correct = np.asarray([p == t for p, t in zip(predicted, y_true, strict=True)], dtype=float)
    # Upper edges as exact quotients, so a confidence of 0.2 falls in (2/15, 3/15], not above.
    bins = np.searchsorted(np.arange(1, n_bins) / n_bins, confidence, side="left")
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / len(correct))
