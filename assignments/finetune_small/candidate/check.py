"""Run your solution the way the grader does (train, then load and predict) on the dev split.

    python check.py            # from this folder; prints the metrics the grader reports

The grader computes the same metrics on hidden tickets (some phrased in ways the training data never
uses), in a fresh container per phase, with the limits in README.md. This script runs in your own
Python, in one process, with no limits: it checks the contract and gives you a first score.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import solution
from sklearn.metrics import accuracy_score, f1_score

DATA = Path(__file__).resolve().parent / "data"
BATCH = 50       # the grader sends this many texts per predict call
LABELS = {
    "refund_request", "shipping_delay", "password_reset", "billing_dispute", "cancellation",
    "bug_report", "account_locked", "plan_change", "invoice_copy", "feature_request",
    "address_change", "data_export", "privacy_request", "payment_update",
}
BINS = 15


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def expected_calibration_error(truth: list[str], maps: list[dict[str, float]]) -> float:
    """Top-label ECE, 15 equal-width bins: the grader's definition."""
    top = [min(m.items(), key=lambda item: (-item[1], item[0])) for m in maps]
    confidence = np.array([value for _, value in top], dtype=float)
    correct = np.array([label == t for (label, _), t in zip(top, truth, strict=True)], dtype=float)
    bins = np.searchsorted(np.arange(1, BINS) / BINS, confidence, side="left")
    return float(sum((bins == b).sum() * abs(correct[bins == b].mean()
                                              - confidence[bins == b].mean())
                     for b in np.unique(bins)) / len(truth))


def main() -> None:
    dev = read(DATA / "dev.jsonl")
    texts, truth = [r["text"] for r in dev], [r["label"] for r in dev]
    with tempfile.TemporaryDirectory() as work:
        started = time.monotonic()
        solution.train(str(DATA / "train.jsonl"), str(DATA / "dev.jsonl"), work)
        train_seconds = time.monotonic() - started
        size = sum(p.stat().st_size for p in Path(work).rglob("*") if p.is_file())
        solution.load(work)
        predicted, timings = [], []
        for start in range(0, len(texts), BATCH):
            begun = time.monotonic()
            answer = solution.predict(texts[start:start + BATCH])
            timings.append(time.monotonic() - begun)
            assert len(answer) == len(texts[start:start + BATCH]), "one label per text"
            predicted += answer
        unknown = set(predicted) - LABELS
        assert not unknown, f"unknown labels: {sorted(unknown)}"
        maps = None
        if hasattr(solution, "predict_proba"):
            try:
                maps = [m for start in range(0, len(texts), BATCH)
                        for m in solution.predict_proba(texts[start:start + BATCH])]
            except NotImplementedError:
                maps = None
        if maps is not None:
            bad = [i for i, m in enumerate(maps) if not math.isclose(sum(m.values()), 1.0,
                                                                        abs_tol=1e-3)]
            assert not bad, f"probabilities of dev row {bad[0]} do not sum to 1"
    one_hot = [{label: 1.0} for label in predicted]
    print(f"train time            {train_seconds:8.1f} s")
    print(f"model size on disk    {size / 2**20:8.1f} MiB")
    print(f"macro-F1 (dev)        {f1_score(truth, predicted, average='macro'):8.4f}")
    print(f"accuracy (dev)        {accuracy_score(truth, predicted):8.4f}")
    ece = expected_calibration_error(truth, maps if maps is not None else one_hot)
    print(f"ECE (dev)             {ece:8.4f}"
          + ("" if maps is not None else "   (no predict_proba: one-hot labels)"))
    print(f"latency per {BATCH} texts p50 {np.percentile(timings, 50) * 1000:6.0f} ms, "
          f"p95 {np.percentile(timings, 95) * 1000:6.0f} ms")
    print("Dev rows carry a little label noise, as the training rows do; hidden labels do not.")


if __name__ == "__main__":
    main()
