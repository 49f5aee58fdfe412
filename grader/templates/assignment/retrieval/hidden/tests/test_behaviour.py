"""Hidden behaviour tests: trusted code, run by the grader with a live `candidate`."""

import pytest


@pytest.fixture(scope="module")
def corpus_ids(context):
    # The corpus of the instance in force: the one mounted at /data for the candidate.
    return {p["id"] for p in context.load_module("generate").corpus(context.seed("public"))}


@pytest.mark.parametrize("k", [1, 5, 10])
def test_k_unique_ids_from_the_corpus(candidate, corpus_ids, k):
    ids = candidate.search("how do i reset my password", k)
    assert len(ids) == k
    assert len(set(ids)) == k, "an id is listed twice"
    assert set(ids) <= corpus_ids, f"unknown ids: {sorted(set(ids) - corpus_ids)}"


def test_a_query_of_unknown_words_still_answers_k_ids(candidate, corpus_ids):
    ids = candidate.search("zzxq qqvv", 5)
    assert len(set(ids)) == 5 and set(ids) <= corpus_ids


def test_repeated_queries_are_stable(candidate):
    query = "refund money back for my order"
    first = candidate.search(query, 10)
    assert candidate.search(query, 10) == first
