"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""

import json


def evaluate(candidate, context) -> dict[str, float]:
    rows = [json.loads(line) for line in (context.hidden_dir / "test.jsonl").open()]
    predictions = candidate.predict([r["text"] for r in rows])
    correct = sum(p == r["label"] for p, r in zip(predictions, rows, strict=True))
    return {"accuracy": correct / len(rows)}
