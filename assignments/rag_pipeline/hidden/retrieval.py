"""Harness `retrieval`: the candidate's search() on the hidden questions, scored on the labels.

A page is relevant for Recall and MRR when it states the fact the question asks for (label 2);
nDCG also gives partial credit to pages on the subject (label 1). The hidden
questions are made in memory from the seeds in force; they never touch the disk.
"""

from grader.metrics.latency import percentile_ms
from grader.metrics.retrieval import mrr_at_k, ndcg_at_k, recall_at_k

K = 10
STATES_THE_FACT = 2


def evaluate(candidate, context) -> dict[str, float]:
    generate = context.load_module("generate")
    seeds = {name: context.seed(name) for name in ("corpus", "dev", "hidden")}
    questions = generate.hidden_questions(generate.build_knowledge_base(seeds["corpus"]), seeds)
    run = {q["id"]: candidate.search(q["question"], K) for q in questions}
    qrels = {q["id"]: q["relevance"] for q in questions}
    timings = candidate.timings["search"]
    return {
        "recall_at_5": recall_at_k(qrels, run, 5, min_relevance=STATES_THE_FACT),
        "recall_at_10": recall_at_k(qrels, run, K, min_relevance=STATES_THE_FACT),
        "mrr_at_10": mrr_at_k(qrels, run, K, min_relevance=STATES_THE_FACT),
        "ndcg_at_10": ndcg_at_k(qrels, run, K),
        "search_p50_ms": percentile_ms(timings, 50),
        "search_p95_ms": percentile_ms(timings, 95),
    }
