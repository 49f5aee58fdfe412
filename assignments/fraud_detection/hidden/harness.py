"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`.

The hidden split is generated here, in memory, from the instance's seeds (`generate.hidden_items`):
a `recent` slice (the weeks after the public data, in the world of the `public` seed) and a `shift`
slice (the holiday season the `hidden` seed draws, when customers shop differently and fraudsters
bring a new tactic).
"""

from __future__ import annotations

import numpy as np

from grader.metrics.classification import (
    average_precision,
    binary_calibration_error,
    brier_score,
    recall_at_fpr,
)
from grader.metrics.latency import percentile_ms

BATCH = 200
LABEL = "is_fraud"
HIDDEN_ONLY = (LABEL, "slice")


def score(rows: list[dict], predictions: list[float]) -> dict[str, float]:
    """The metrics of one set of predictions for rows carrying their label and slice.

    PR-AUC and recall at 1% FPR rank the values as returned (every tie kept, nothing clipped);
    ECE (15 bins, each (lo, hi]) and Brier read them as probabilities, clipped to [0, 1] (the
    robustness tests are where a value outside it costs points).
    """
    labels = np.array([r[LABEL] for r in rows])
    scores = np.array(predictions, dtype=float)
    if not np.isfinite(scores).all():
        raise AssertionError("predict_proba returned a value that is not a finite number")
    probabilities = np.clip(scores, 0.0, 1.0)
    shift = np.array([r["slice"] == "shift" for r in rows])
    return {
        "pr_auc": average_precision(labels, scores),
        "pr_auc_recent": average_precision(labels[~shift], scores[~shift]),
        "pr_auc_shift": average_precision(labels[shift], scores[shift]),
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
        "ece": binary_calibration_error(labels, probabilities),
        "brier": brier_score(labels, probabilities),
    }


SEEDS = ("public", "hidden")


def hidden_rows(context) -> list[dict]:
    generate = context.load_module("generate")
    return generate.hidden_items({name: context.seed(name) for name in SEEDS})


def evaluate(candidate, context) -> dict[str, float]:
    rows = hidden_rows(context)
    predictions: list[float] = []
    for start in range(0, len(rows), BATCH):
        batch = [{k: v for k, v in r.items() if k not in HIDDEN_ONLY}
                 for r in rows[start:start + BATCH]]
        answer = candidate.predict_proba(batch)
        if len(answer) != len(batch):
            raise AssertionError(f"predict_proba returned {len(answer)} values for "
                                 f"{len(batch)} rows")
        predictions += answer
    metrics = score(rows, predictions)
    metrics["p95_batch_ms"] = percentile_ms(candidate.timings["predict_proba"], 95)
    return metrics
