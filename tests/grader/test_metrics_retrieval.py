"""grader.metrics.retrieval: cross-checked against pytrec_eval (trec_eval's measures) on fixed and
seeded random runs, with graded labels, ties, repeated ids, unjudged documents and queries."""

from __future__ import annotations

import math
import random
import re

import pytest
import pytrec_eval

from grader.metrics import retrieval


def raises(message: str):
    """pytest.raises for a ValueError saying exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")

QRELS = {
    "q1": {"d1": 2, "d2": 1, "d3": 0},
    "q2": {"d4": 2, "d5": 2, "d6": 1},
    "q3": {"d7": 1},
    "q4": {"d8": 2},
    "q5": {"d9": 0},  # judged, nothing relevant: every metric is 0
}

# Scored runs. Ties are placed where every order of the tied documents gives the same value
# (trec_eval orders equal scores by id, descending; ranking_from_scores ascending).
SCORED_RUNS = {
    "perfect": {"q1": {"d1": 3, "d2": 2, "d3": 1}, "q2": {"d4": 3, "d5": 2.5, "d6": 2},
                "q3": {"d7": 1}, "q4": {"d8": 1}, "q5": {"d9": 1}},
    "reversed": {"q1": {"x1": 5, "x2": 4, "d3": 3, "d2": 2, "d1": 1},
                 "q2": {"d6": 9, "x3": 8, "d5": 7, "d4": 1}, "q3": {"d7": 0.5},
                 "q4": {"x4": 3, "x5": 2, "d8": 1}, "q5": {"x6": 1}},
    "deep": {"q1": {f"x{i}": 100 - i for i in range(12)} | {"d1": 50},
             "q2": {f"y{i}": 100 - i for i in range(9)} | {"d4": 1, "d5": 0.5},
             "q3": {f"z{i}": 100 - i for i in range(4)} | {"d7": 2},
             "q4": {"d8": 1}, "q5": {"d9": 1}},
    "ties_among_irrelevant": {"q1": {"x1": 2, "x2": 2, "x3": 2, "d1": 1},
                              "q2": {"d4": 5, "x4": 1, "x5": 1, "x6": 1},
                              "q3": {"x7": 1, "x8": 1}, "q4": {"d8": 4, "x9": 4 - 1e-9},
                              "q5": {"d9": 1}},
    "ties_among_equal_labels": {"q1": {"d1": 1, "x1": 0.5}, "q2": {"d4": 3, "d5": 3, "d6": 1},
                                "q3": {"d7": 1}, "q4": {"x2": 1, "x3": 1, "d8": 0.1},
                                "q5": {"d9": 1}},
    "missing_queries": {"q1": {"d2": 2, "d1": 1}, "q3": {"d7": 1}},
    "unjudged_query": {"q1": {"d1": 1}, "q2": {"d5": 1}, "q3": {"x1": 1}, "q4": {"d8": 1},
                       "q5": {"d9": 1}, "q99": {"d1": 1}},
}

COMPUTE = {"recall": retrieval.recall_at_k, "mrr": retrieval.mrr_at_k,
           "ndcg": retrieval.ndcg_at_k}


def _first_occurrences(ranking: list[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def _trec(qrels: dict, run: dict, metric: str, k: int, level: int) -> float:
    """The metric as pytrec_eval computes it, averaged over every judged query (0 if unanswered).

    The run goes in as strictly decreasing scores (its first occurrence of each id), so trec_eval's
    own tie-breaking never comes into play. ``recip_rank`` has no cut-off: the run is cut at k.
    For nDCG the labels below ``level`` are set to 0 (trec_eval's nDCG ignores relevance_level).
    """
    ranked = {q: _first_occurrences(docs) for q, docs in run.items() if q in qrels}
    if metric == "mrr":
        ranked = {q: docs[:k] for q, docs in ranked.items()}
    scored = {q: {doc: float(len(docs) - i) for i, doc in enumerate(docs)}
              for q, docs in ranked.items()}
    if metric == "ndcg":
        qrels = {q: {d: (rel if rel >= level else 0) for d, rel in labels.items()}
                 for q, labels in qrels.items()}
    measure, key = {"recall": (f"recall.{k}", f"recall_{k}"), "mrr": ("recip_rank", "recip_rank"),
                    "ndcg": (f"ndcg_cut.{k}", f"ndcg_cut_{k}")}[metric]
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {measure}, relevance_level=level)
    results = evaluator.evaluate(scored)
    return sum(results.get(q, {}).get(key, 0.0) for q in qrels) / len(qrels)


CASES = [(name, metric, k, level) for name in SCORED_RUNS
         for metric, k, level in [("recall", 5, 1), ("recall", 10, 2), ("recall", 1, 1),
                                  ("mrr", 10, 1), ("mrr", 10, 2), ("mrr", 1, 1), ("ndcg", 10, 1),
                                  ("ndcg", 3, 1), ("ndcg", 10, 2), ("ndcg", 1, 1)]]


@pytest.mark.parametrize(("run_name", "metric", "k", "level"), CASES)
def test_fixed_runs_match_trec_eval(run_name: str, metric: str, k: int, level: int) -> None:
    run = {q: retrieval.ranking_from_scores(scores) for q, scores in SCORED_RUNS[run_name].items()}
    ours = COMPUTE[metric](QRELS, run, k, min_relevance=level)
    assert ours == pytest.approx(_trec(QRELS, run, metric, k, level), abs=1e-12)


def _random_case(seed: int) -> tuple[dict, dict]:
    """Judgements with grades 0-3 (many equal), runs with repeats, unjudged ids, missing and
    unjudged queries."""
    rng = random.Random(seed)
    docs = [f"d{i:02d}" for i in range(rng.randint(3, 40))]
    qrels, run = {}, {}
    for q in range(rng.randint(1, 6)):
        judged = rng.sample(docs, rng.randint(1, len(docs)))
        grades = rng.choice([(0, 1), (0, 1, 2), (1, 2, 3), (0, 0, 1, 3)])
        qrels[f"q{q}"] = {doc: rng.choice(grades) for doc in judged}
        if rng.random() < 0.85:
            pool = docs + [f"u{i}" for i in range(5)]
            ranking = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
            run[f"q{q}"] = ranking
    run["unjudged"] = [docs[0]]
    return qrels, run


@pytest.mark.parametrize("seed", range(60))
def test_random_runs_match_trec_eval(seed: int) -> None:
    qrels, run = _random_case(seed)
    rng = random.Random(-seed)
    for _ in range(4):
        metric = rng.choice(list(COMPUTE))
        k, level = rng.choice([1, 2, 3, 5, 10, 20]), rng.choice([1, 2, 3])
        ours = COMPUTE[metric](qrels, run, k, min_relevance=level)
        assert ours == pytest.approx(_trec(qrels, run, metric, k, level), abs=1e-12), \
            (metric, k, level)


@pytest.mark.parametrize("seed", range(20))
def test_per_query_values_match_trec_eval(seed: int) -> None:
    qrels, run = _random_case(100 + seed)
    for metric in COMPUTE:
        values = retrieval.per_query(metric, qrels, run, 5)
        assert set(values) == set(qrels)
        for query in qrels:
            one = {query: qrels[query]}
            assert values[query] == pytest.approx(_trec(one, run, metric, 5, 1), abs=1e-12)


def test_hand_computed_values() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 2}}
    run = {"q": ["x", "a", "b", "y", "c"]}
    assert retrieval.recall_at_k(qrels, run, 2, min_relevance=2) == 0.5
    assert retrieval.recall_at_k(qrels, run, 5) == 1.0
    assert retrieval.mrr_at_k(qrels, run, 10) == 0.5
    assert retrieval.mrr_at_k(qrels, run, 1) == 0.0
    dcg = 2 / math.log2(3) + 1 / math.log2(4) + 2 / math.log2(6)
    ideal = 2 + 2 / math.log2(3) + 1 / math.log2(4)
    assert retrieval.ndcg_at_k(qrels, run, 10) == pytest.approx(dcg / ideal)


def test_ndcg_gains_are_the_labels_and_the_ideal_is_cut_at_k() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 1, "d": 1}}
    # Linear gains: a label-2 page first, then a label-1 page.
    assert retrieval.ndcg_at_k(qrels, {"q": ["b", "a"]}, 2) == pytest.approx(
        (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    # The ideal ordering is cut at k too: the right single page at k=1 is perfect.
    assert retrieval.ndcg_at_k(qrels, {"q": ["a"]}, 1) == 1.0
    assert retrieval.ndcg_at_k(qrels, {"q": ["a", "b"]}, 2) == 1.0
    # Labels under min_relevance are no gain at all: (0 + 2 / log2(3)) / 2.
    assert retrieval.ndcg_at_k(qrels, {"q": ["b", "a"]}, 2, min_relevance=2) == pytest.approx(
        1 / math.log2(3))


def test_a_repeated_id_counts_once() -> None:
    qrels = {"q": {"a": 2, "b": 2}}
    assert retrieval.ndcg_at_k(qrels, {"q": ["a", "a", "a"]}, 3) == pytest.approx(
        retrieval.ndcg_at_k(qrels, {"q": ["a"]}, 3))
    assert retrieval.ndcg_at_k(qrels, {"q": ["a", "a", "a"]}, 3) < 1.0
    # the duplicate takes no slot: b, listed after it, is still within the top 2
    assert retrieval.recall_at_k(qrels, {"q": ["a", "a", "b"]}, 2) == 1.0
    assert retrieval.recall_at_k(qrels, {"q": ["a", "a", "a"]}, 2) == 0.5
    assert retrieval.mrr_at_k({"q": {"b": 1}}, {"q": ["a", "a", "b"]}, 2) == 0.5


def test_ranking_from_scores_breaks_ties_by_id() -> None:
    assert retrieval.ranking_from_scores({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]
    assert retrieval.ranking_from_scores({"a": -1.0, "b": 0.5, "c": 0.5}) == ["b", "c", "a"]
    assert retrieval.ranking_from_scores({}) == []


def test_per_query_and_errors() -> None:
    assert retrieval.per_query("mrr", {"q": {"a": 1}, "r": {"b": 1}}, {"q": ["x", "a"]}, 10) \
        == {"q": 0.5, "r": 0.0}
    assert retrieval.per_query("recall", {"q": {"a": 1, "b": 1}}, {"q": ["a"]}, 1) == {"q": 0.5}
    with raises("k must be at least 1, got 0"):
        retrieval.recall_at_k({"q": {"a": 1}}, {}, 0)
    assert retrieval.recall_at_k({"q": {"a": 1}}, {"q": ["a"]}, 1) == 1.0
    with raises("no judged queries: qrels is empty"):
        retrieval.recall_at_k({}, {}, 10)
    with raises("unknown metric 'map'; use one of recall, mrr, ndcg"):
        retrieval.per_query("map", {"q": {"a": 1}}, {}, 10)
