"""Ranking metrics over ranked id lists and graded relevance labels.

The definitions are trec_eval's, and the tests cross-check them against ``pytrec_eval`` (its
Python binding) on random runs and judgements:

- ``recall_at_k``: relevant documents found in the top ``k`` over all relevant documents
  (trec_eval's ``recall.k``);
- ``mrr_at_k``: one over the rank of the first relevant document in the top ``k``, 0 if none
  (``recip_rank`` of the run cut at ``k``);
- ``ndcg_at_k``: DCG of the top ``k`` with a ``log2(rank + 1)`` discount, divided by the DCG of the
  ideal ordering of the judged documents, that ordering also cut at ``k`` (``ndcg_cut.k``;
  Järvelin and Kekäläinen).

Graded nDCG: the gain of a document is its label itself (linear gains, ``gain = rel``, as
trec_eval, pytrec_eval and ranx compute it), not the exponential ``2 ** rel - 1`` of Burges et
al. that some libraries use. The two agree on 0/1 labels; with grades 0-2 a label-2 page is worth
twice a label-1 page here, three times under the exponential convention.

A document is relevant when its label is at least ``min_relevance``; labels below it count as 0,
also as gains in nDCG. Each metric is the mean over the queries of ``qrels``: a query the run does
not answer scores 0, a query of the run that ``qrels`` does not judge is ignored, and a query with
no relevant document scores 0 (as in trec_eval). Runs are ranked lists, best first, as a candidate
returns them; an id listed twice counts once, at its first rank, so repeating a good id never
raises a score. Use ``ranking_from_scores`` for scored runs: ties are broken by id, ascending
(trec_eval breaks them by id descending, so hand it ranks, not tied scores).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from grader.metrics._recording import recorded

__all__ = [
    "Qrels",
    "Run",
    "mrr_at_k",
    "ndcg_at_k",
    "per_query",
    "ranking_from_scores",
    "recall_at_k",
]

Qrels = Mapping[str, Mapping[str, int]]
"""query id -> {document id: graded relevance label}"""
Run = Mapping[str, Sequence[str]]
"""query id -> document ids, best first"""


def ranking_from_scores(scores: Mapping[str, float]) -> list[str]:
    """Document ids by descending score; equal scores are ordered by id so the result is stable."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]


def _top_k(ranking: Iterable[str], k: int) -> list[str]:
    seen: set[str] = set()
    top: list[str] = []
    for doc in ranking:
        if doc not in seen:
            seen.add(doc)
            top.append(doc)
            if len(top) == k:
                break
    return top


def _check(qrels: Qrels, k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not qrels:
        raise ValueError("no judged queries: qrels is empty")


def _recall(labels: Mapping[str, int], ranking: Sequence[str], k: int, min_relevance: int) -> float:
    relevant = {doc for doc, label in labels.items() if label >= min_relevance}
    if not relevant:
        return 0.0
    return sum(doc in relevant for doc in _top_k(ranking, k)) / len(relevant)


def _reciprocal_rank(labels: Mapping[str, int], ranking: Sequence[str], k: int,
                     min_relevance: int) -> float:
    for rank, doc in enumerate(_top_k(ranking, k), start=1):
        if labels.get(doc, 0) >= min_relevance:
            return 1.0 / rank
    return 0.0


def _dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def _ndcg(labels: Mapping[str, int], ranking: Sequence[str], k: int, min_relevance: int) -> float:
    gains = {doc: float(label) for doc, label in labels.items() if label >= min_relevance}
    ideal = _dcg(sorted(gains.values(), reverse=True)[:k])
    if ideal == 0.0:
        return 0.0
    return _dcg(gains.get(doc, 0.0) for doc in _top_k(ranking, k)) / ideal


_METRICS = {"recall": _recall, "mrr": _reciprocal_rank, "ndcg": _ndcg}


def per_query(metric: str, qrels: Qrels, run: Run, k: int, *, min_relevance: int = 1
              ) -> dict[str, float]:
    """One metric (``recall``, ``mrr`` or ``ndcg``) for every judged query, by query id."""
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(_METRICS)}")
    _check(qrels, k)
    compute = _METRICS[metric]
    return {query: compute(labels, run.get(query, ()), k, min_relevance)
            for query, labels in qrels.items()}


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


def recall_at_k(qrels: Qrels, run: Run, k: int, *, min_relevance: int = 1) -> float:
    """Mean Recall@k over the judged queries."""
    return _mean(per_query("recall", qrels, run, k, min_relevance=min_relevance))


def mrr_at_k(qrels: Qrels, run: Run, k: int, *, min_relevance: int = 1) -> float:
    """Mean reciprocal rank of the first relevant document within the top k."""
    return _mean(per_query("mrr", qrels, run, k, min_relevance=min_relevance))


def ndcg_at_k(qrels: Qrels, run: Run, k: int, *, min_relevance: int = 1) -> float:
    """Mean nDCG@k with linear gains (``gain = rel``) over the judged queries."""
    return _mean(per_query("ndcg", qrels, run, k, min_relevance=min_relevance))


# Recorded while a harness runs, so each value can carry its interval (grader.metrics._recording);
# wrapped here rather than decorated, so the mutation test still mutates the bodies.
mrr_at_k = recorded(mrr_at_k)
ndcg_at_k = recorded(ndcg_at_k)
recall_at_k = recorded(recall_at_k)
