"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""


def evaluate(candidate, context) -> dict[str, float]:
    # The hidden split comes from the seed in force: the published default, or a deployment's
    # private one (GRADER_HIDDEN_SEEDS__<ID>__HIDDEN).
    rows = context.load_module("generate").rows(context.seed("hidden"), 100)
    predictions = candidate.predict([r["text"] for r in rows])
    correct = sum(p == r["label"] for p, r in zip(predictions, rows, strict=True))
    return {"accuracy": correct / len(rows)}
