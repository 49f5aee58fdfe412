"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""

from grader.metrics.classification import accuracy, macro_f1


def evaluate(candidate, context) -> dict[str, float]:
    # The hidden split of the instance in force (its seeds: the published ones in the demo, else
    # derived from the deployment's secret), exactly as hidden_items() gives it to the grader.
    generate = context.load_module("generate")
    rows = generate.hidden_items(context.seeds)
    truth = [r["label"] for r in rows]
    predictions = candidate.predict([r["text"] for r in rows])
    # An AssertionError about the answers is the candidate's failure; any other exception here
    # is a bug of the harness, an infrastructure error that never scores a candidate zero.
    assert len(predictions) == len(rows), f"{len(predictions)} labels for {len(rows)} texts"
    # Rounded to 4 decimals, so a re-run reproduces the recorded score exactly.
    return {"macro_f1": round(macro_f1(truth, predictions, labels=list(generate.LABELS)), 4),
            "accuracy": round(accuracy(truth, predictions), 4)}
