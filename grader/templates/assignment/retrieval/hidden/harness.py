"""Evaluation harness: trusted code. Reaches the candidate only through `candidate`."""

from grader.metrics.latency import percentile_ms
from grader.metrics.retrieval import mrr_at_k, recall_at_k


def evaluate(candidate, context) -> dict[str, float]:
    # The hidden queries come from the seed in force: the published default, or a deployment's
    # private one (GRADER_HIDDEN_SEEDS__<ID>__HIDDEN). The corpus is the public one.
    queries = context.load_module("generate").queries(context.seed("hidden"), 50)
    qrels = {q["id"]: q["relevant"] for q in queries}
    run = {q["id"]: candidate.search(q["text"], 10) for q in queries}
    # Quality metrics rounded to 4 decimals, so a re-run reproduces the recorded score exactly.
    return {
        "recall_at_5": round(recall_at_k(qrels, run, 5), 4),
        "mrr_at_10": round(mrr_at_k(qrels, run, 10), 4),
        # A timing (the name ends in _ms): validate requires it but never compares its value.
        "search_p95_ms": round(percentile_ms(candidate.timings["search"], 95), 2),
    }
