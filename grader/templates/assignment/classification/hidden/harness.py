"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""

from grader.metrics.classification import accuracy, macro_f1


def evaluate(candidate, context) -> dict[str, float]:
    # The hidden split comes from the seed in force: the published default, or a deployment's
    # private one (GRADER_HIDDEN_SEEDS__<ID>__HIDDEN).
    generate = context.load_module("generate")
    rows = generate.rows(context.seed("hidden"), 300)
    truth = [r["label"] for r in rows]
    predictions = candidate.predict([r["text"] for r in rows])
    # Rounded to 4 decimals, so a re-run reproduces the recorded score exactly.
    return {"macro_f1": round(macro_f1(truth, predictions, labels=list(generate.LABELS)), 4),
            "accuracy": round(accuracy(truth, predictions), 4)}
