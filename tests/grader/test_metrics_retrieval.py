"""grader.metrics.retrieval and grader.metrics.answers: cross-checked against ranx, SQuAD cases."""

from __future__ import annotations

import math

import pytest

from grader.metrics import answers, retrieval

ranx = pytest.importorskip("ranx")

QRELS = {
    "q1": {"d1": 2, "d2": 1, "d3": 0},
    "q2": {"d4": 2, "d5": 2, "d6": 1},
    "q3": {"d7": 1},
    "q4": {"d8": 2},
    "q5": {"d9": 0},  # judged, nothing relevant: every metric is 0
}

# Scored runs, as ranx takes them. Ties are placed where every order of the tied documents gives
# the same value (ranx leaves the order of equal scores unspecified), so the comparison is exact.
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

CASES = [(name, metric, k, level) for name in SCORED_RUNS
         for metric, k, level in [("recall", 5, 1), ("recall", 10, 2), ("recall", 1, 1),
                                  ("mrr", 10, 1), ("mrr", 10, 2), ("ndcg", 10, 1),
                                  ("ndcg", 3, 1), ("ndcg", 10, 2)]]


def _ranx(run: dict, metric: str, k: int, level: int) -> float:
    qrels = ranx.Qrels({q: {d: label for d, label in labels.items() if label > 0} or {"-": 0}
                        for q, labels in QRELS.items()})
    judged = {q: docs for q, docs in run.items() if q in QRELS}
    ranx_run = ranx.Run(judged)
    ranx_run = ranx_run.make_comparable(qrels)
    return float(ranx.evaluate(qrels, ranx_run, f"{metric}@{k}-l{level}"))


def _ours(run: dict, metric: str, k: int, level: int) -> float:
    ranked = {q: retrieval.ranking_from_scores(scores) for q, scores in run.items()}
    compute = {"recall": retrieval.recall_at_k, "mrr": retrieval.mrr_at_k,
               "ndcg": retrieval.ndcg_at_k}[metric]
    return compute(QRELS, ranked, k, min_relevance=level)


@pytest.mark.parametrize(("run_name", "metric", "k", "level"), CASES)
def test_matches_ranx(run_name: str, metric: str, k: int, level: int) -> None:
    run = SCORED_RUNS[run_name]
    assert _ours(run, metric, k, level) == pytest.approx(_ranx(run, metric, k, level), abs=1e-12)


def test_hand_computed_values() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 2}}
    run = {"q": ["x", "a", "b", "y", "c"]}
    assert retrieval.recall_at_k(qrels, run, 2, min_relevance=2) == 0.5
    assert retrieval.recall_at_k(qrels, run, 5) == 1.0
    assert retrieval.mrr_at_k(qrels, run, 10) == 0.5
    dcg = 2 / math.log2(3) + 1 / math.log2(4) + 2 / math.log2(6)
    ideal = 2 + 2 / math.log2(3) + 1 / math.log2(4)
    assert retrieval.ndcg_at_k(qrels, run, 10) == pytest.approx(dcg / ideal)


def test_a_repeated_id_counts_once() -> None:
    qrels = {"q": {"a": 2, "b": 2}}
    assert retrieval.ndcg_at_k(qrels, {"q": ["a", "a", "a"]}, 3) == pytest.approx(
        retrieval.ndcg_at_k(qrels, {"q": ["a"]}, 3))
    assert retrieval.ndcg_at_k(qrels, {"q": ["a", "a", "a"]}, 3) < 1.0
    # the duplicate takes no slot: b, listed after it, is still within the top 2
    assert retrieval.recall_at_k(qrels, {"q": ["a", "a", "b"]}, 2) == 1.0


def test_ranking_from_scores_breaks_ties_by_id() -> None:
    assert retrieval.ranking_from_scores({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]


def test_per_query_and_errors() -> None:
    assert retrieval.per_query("mrr", {"q": {"a": 1}, "r": {"b": 1}}, {"q": ["x", "a"]}, 10) \
        == {"q": 0.5, "r": 0.0}
    with pytest.raises(ValueError, match="k must be"):
        retrieval.recall_at_k({"q": {"a": 1}}, {}, 0)
    with pytest.raises(ValueError, match="qrels is empty"):
        retrieval.recall_at_k({}, {}, 10)
    with pytest.raises(ValueError, match="unknown metric"):
        retrieval.per_query("map", {"q": {"a": 1}}, {}, 10)


# --- answers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "normalised"), [
    ("The Payments Escalations team", "payments escalations team"),
    ("  $1,500.  ", "1500"),
    ("An apple, a pear & the end!", "apple pear end"),
    ("99.95%", "9995"),
    ("Sundays from 01:00 to 03:00 UTC", "sundays from 0100 to 0300 utc"),
    ("theatre anthem", "theatre anthem"),  # articles only as whole words
    ("Kraków — São Paulo", "kraków — são paulo"),  # SQuAD keeps non-ASCII punctuation
    ("", ""),
])
def test_normalize_answer(text: str, normalised: str) -> None:
    assert answers.normalize_answer(text) == normalised


@pytest.mark.parametrize(("prediction", "gold", "f1", "em"), [
    ("30 days", "30 days", 1.0, 1.0),
    ("the 30 days.", "30 Days", 1.0, 1.0),
    ("within 30 days of the expense", "30 days", 2 * (2 / 5) / (2 / 5 + 1), 0.0),
    ("45 days", "30 days", 0.5, 0.0),
    ("", "30 days", 0.0, 0.0),
    ("", "", 1.0, 1.0),
    ("days days", "days", 2 * 0.5 / 1.5, 0.0),  # bag of tokens: a repeat counts once
    ("$1,500", "1500", 1.0, 1.0),
])
def test_f1_and_exact_match(prediction: str, gold: str, f1: float, em: float) -> None:
    assert answers.token_f1(prediction, gold) == pytest.approx(f1)
    assert answers.exact_match(prediction, gold) == em


def test_best_of_several_golds() -> None:
    assert answers.token_f1("Priya", ["Priya Natarajan", "Priya"]) == 1.0
    assert answers.exact_match("priya natarajan", ("Someone Else", "Priya Natarajan")) == 1.0
    with pytest.raises(ValueError):
        answers.token_f1("x", [])


def test_contains_answer_matches_whole_tokens() -> None:
    assert answers.contains_answer("Claims are due within 30 days.", "30 days")
    assert not answers.contains_answer("Claims are due within 130 days.", "30 days")
    assert answers.contains_answer("Escalate to the **Data Integrity** team.", "Data Integrity")
    assert not answers.contains_answer("anything", "")


def test_citation_support_is_a_share_of_distinct_citations() -> None:
    pages = {"a": "Trash keeps items for 30 days.", "b": "Trash keeps items for 14 days.",
             "c": "Nothing here."}
    assert answers.citation_support(["a"], "30 days", pages) == 1.0
    assert answers.citation_support(["a", "a"], "30 days", pages) == 1.0
    assert answers.citation_support(["b", "a"], "30 days", pages) == 0.5
    assert answers.citation_support(["a", "b", "c", "zzz"], "30 days", pages) == 0.25
    assert answers.citation_support([], "30 days", pages) == 0.0
