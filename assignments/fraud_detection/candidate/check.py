"""Run your solution the way the grader does (build, then serve) on the public data.

    python check.py

Trains into a temporary work dir, then imports solution.py again in a fresh process (as the serve
container does), scores data/dev.jsonl in batches of 200 and tries validate_input on a few rows.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 200

SERVE = r"""
import json, sys, time
import numpy as np
from sklearn.metrics import average_precision_score, roc_curve
import solution

work, dev_path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
solution.load(work)
rows = [json.loads(line) for line in open(dev_path)]
labels = np.array([r.pop("is_fraud") for r in rows])
scores, seconds = [], []
for start in range(0, len(rows), batch):
    chunk = json.loads(json.dumps(rows[start:start + batch]))  # what crosses the wire is JSON
    t = time.perf_counter()
    answer = solution.predict_proba(chunk)
    seconds.append(time.perf_counter() - t)
    assert len(answer) == len(chunk), f"{len(answer)} probabilities for {len(chunk)} rows"
    scores += answer
scores = np.array(scores, dtype=float)
assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all(), "not probabilities"
fpr, tpr, _ = roc_curve(labels, scores)
bins = np.minimum((scores * 15).astype(int), 14)
ece = sum(abs(scores[bins == b].mean() - labels[bins == b].mean()) * (bins == b).sum()
          for b in range(15) if (bins == b).any()) / len(labels)
print(f"dev PR-AUC                 {average_precision_score(labels, scores):.3f}")
print(f"dev recall at 1% FPR       {tpr[fpr <= 0.01].max():.3f}")
print(f"dev calibration error      {ece:.4f}")
print(f"p95 ms per batch of {batch}   {np.percentile(seconds, 95) * 1000:.1f}")

flagged = [r["transaction_id"] for r in rows if solution.validate_input(r)]
print(f"valid dev rows reported as invalid: {len(flagged)}" + (f" (e.g. {flagged[:3]})"
                                                            if flagged else ""))
row = rows[0]
cases = {"amount": {**row, "amount": -3}, "timestamp": {**row, "timestamp": "yesterday"},
         "channel": {**row, "channel": "fax"},
         "lat": {k: v for k, v in row.items() if k != "lat"}}
for field, bad in cases.items():
    try:
        problems = solution.validate_input(bad)
    except Exception as exc:  # the grader counts a crash as a failed test
        problems = [f"CRASHED: {exc!r}"]
    ok = any(field in p for p in problems)
    print(f"bad {field:9s} {'ok  ' if ok else 'MISS'} {problems}")
"""


def main() -> int:
    train, dev = HERE / "data" / "train.jsonl", HERE / "data" / "dev.jsonl"
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        build = subprocess.run(
            [sys.executable, "-c", "import sys, solution; solution.train(*sys.argv[1:])",
             str(train), str(dev), work], cwd=HERE)
        if build.returncode:
            print("train() failed")
            return 1
        print(f"train() took {time.perf_counter() - started:.1f} s; work dir holds "
              f"{sum(p.stat().st_size for p in Path(work).rglob('*') if p.is_file()) / 1e6:.1f} MB")
        serve = subprocess.run([sys.executable, "-c", SERVE, work, str(dev), str(BATCH)], cwd=HERE)
        return serve.returncode


if __name__ == "__main__":
    sys.exit(main())
