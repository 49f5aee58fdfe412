"""Run your solution the way the grader does (build, then serve) on the public data."""

import json
import tempfile

import solution

with tempfile.TemporaryDirectory() as work:
    solution.train("data/train.jsonl", "data/dev.jsonl", work)
    solution.load(work)
    with open("data/dev.jsonl") as lines:
        rows = [json.loads(line) for line in lines]
    predictions = solution.predict([r["text"] for r in rows])
    accuracy = sum(p == r["label"] for p, r in zip(predictions, rows, strict=True)) / len(rows)
    print(f"dev accuracy: {accuracy:.3f}")
