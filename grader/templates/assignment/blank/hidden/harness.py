"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""

from grader.metrics.classification import accuracy


def evaluate(candidate, context) -> dict[str, float]:
    # The hidden split of the instance in force (its seeds: the published ones in the demo, else
    # derived from the deployment's secret), exactly as hidden_items() gives it to the grader.
    rows = context.load_module("generate").hidden_items(context.seeds)
    predictions = candidate.predict([r["text"] for r in rows])
    # An AssertionError about the answers is the candidate's failure; any other exception here
    # is a bug of the harness, an infrastructure error that never scores a candidate zero.
    assert len(predictions) == len(rows), f"{len(predictions)} labels for {len(rows)} texts"
    # Through grader.metrics, so the report gives the value its 95% interval over the rows.
    return {"accuracy": accuracy([r["label"] for r in rows], predictions)}
