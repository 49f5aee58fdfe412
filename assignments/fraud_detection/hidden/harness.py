"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`.

The hidden split is generated here, in memory, from the deployment's private seed: a `recent`
slice (the weeks after the public data) and a `shift` slice (the holiday season, when customers
travel and shop in bursts and fraudsters change tactics).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

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


def _generator(hidden_dir: Path):
    """hidden/generate.py, loaded under a name no other assignment's module can take."""
    name = "_fraud_detection_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(hidden_dir) / "generate.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


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


def hidden_rows(context) -> list[dict]:
    return _generator(context.hidden_dir).hidden_rows(context.seed("hidden"))


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
