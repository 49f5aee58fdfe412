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
from sklearn.metrics import average_precision_score, brier_score_loss, roc_curve

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


def recall_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """The largest share of fraud caught while flagging at most `fpr` of genuine payments."""
    false_positive, true_positive, _ = roc_curve(labels, scores)
    return float(true_positive[false_positive <= fpr + 1e-12].max())


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 15) -> float:
    """Weighted gap between predicted and observed fraud rates over equal-width bins."""
    which = np.minimum((scores * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(scores[mask].mean() - labels[mask].mean())
    return float(total / len(labels))


def score(rows: list[dict], predictions: list[float]) -> dict[str, float]:
    """The metrics of one set of predictions for rows carrying their label and slice."""
    labels = np.array([r[LABEL] for r in rows])
    scores = np.array(predictions, dtype=float)
    if not np.isfinite(scores).all():
        raise AssertionError("predict_proba returned a value that is not a finite number")
    scores = np.clip(scores, 0.0, 1.0)
    shift = np.array([r["slice"] == "shift" for r in rows])
    return {
        "pr_auc": float(average_precision_score(labels, scores)),
        "pr_auc_recent": float(average_precision_score(labels[~shift], scores[~shift])),
        "pr_auc_shift": float(average_precision_score(labels[shift], scores[shift])),
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
        "ece": expected_calibration_error(labels, scores),
        "brier": float(brier_score_loss(labels, scores)),
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
