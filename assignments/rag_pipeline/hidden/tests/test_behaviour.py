"""Hidden behaviour tests: the contract of search() and answer(), through the agent.

Trusted code, run by the grader with the live `candidate` (every call crosses the container
boundary and its result is checked against the shape assignment.yaml declares).
"""

import tempfile
from pathlib import Path

import pytest

# Worded like the instance's questions, without its names (those differ in every instance).
QUESTIONS = (
    "How long are deleted items kept in the trash before they are gone for good?",
    "who approves international trips for the regional office",
    "Customers see webhook signature verification failures; which setting fixes it?",
)
NON_ASCII = "Política de reembolso para São Paulo — ¿cuántos días? 東京 Kraków ✈️ naïve café"


@pytest.fixture(scope="module")
def corpus(context):
    """The corpus the submission was built on: the instance's public data, made again here."""
    return context.load_module("generate").build_knowledge_base(context.seed("corpus")).rows()


@pytest.fixture(scope="module")
def known_ids(corpus):
    return {row["id"] for row in corpus}


def _check_ranking(ids, k, known_ids):
    expected = min(k, len(known_ids))
    assert len(ids) == expected, f"expected exactly {expected} ids for k={k}, got {len(ids)}"
    assert len(set(ids)) == len(ids), "the same id is returned more than once"
    unknown = [i for i in ids if i not in known_ids]
    assert not unknown, f"ids that are not in the corpus: {unknown[:3]}"


@pytest.mark.parametrize("question", QUESTIONS)
def test_search_returns_k_unique_known_ids(candidate, known_ids, question):
    _check_ranking(candidate.search(question, 10), 10, known_ids)


@pytest.mark.parametrize("k", [1, 50])
def test_search_honours_k(candidate, known_ids, k):
    _check_ranking(candidate.search(QUESTIONS[0], k), k, known_ids)


def test_k_of_one_is_the_top_of_k_of_ten(candidate):
    assert candidate.search(QUESTIONS[1], 1) == candidate.search(QUESTIONS[1], 10)[:1]


def test_same_query_same_results(candidate):
    first = candidate.search(QUESTIONS[2], 10)
    candidate.search(QUESTIONS[0], 10)  # another query in between must not change anything
    assert candidate.search(QUESTIONS[2], 10) == first


def test_empty_query(candidate, known_ids):
    _check_ranking(candidate.search("", 10), 10, known_ids)


def test_very_long_query(candidate, known_ids):
    query = " ".join([QUESTIONS[0]] * 400)  # about 6,000 words, far past any model's window
    _check_ranking(candidate.search(query, 10), 10, known_ids)


def test_non_ascii_query(candidate, known_ids):
    _check_ranking(candidate.search(NON_ASCII, 10), 10, known_ids)


def test_results_depend_on_the_query(candidate):
    assert candidate.search(QUESTIONS[0], 10) != candidate.search(QUESTIONS[1], 10)


def test_a_page_is_found_by_its_own_title(candidate, corpus):
    # A support article's title is unique (it carries the error code): any index finds it.
    articles = [row for row in corpus if row["title"].endswith(")")
                and "Support article" in row["text"] and "Status: Current" in row["text"]]
    page = articles[len(articles) // 2]  # from the middle: never among the corpus' first rows
    assert page["id"] in candidate.search(page["title"], 10)


@pytest.mark.parametrize("question", QUESTIONS)
def test_answer_is_short_and_cites_known_pages(candidate, known_ids, question):
    result = candidate.answer(question)
    assert result["answer"].strip(), "the answer is empty"
    assert len(result["answer"].split()) <= 60, "an answer should be a short span, not a page"
    assert result["citations"], "the answer cites no page"
    unknown = [c for c in result["citations"] if c not in known_ids]
    assert not unknown, f"cited ids that are not in the corpus: {unknown[:3]}"
    assert len(set(result["citations"])) == len(result["citations"]), "a page is cited twice"


@pytest.mark.parametrize("query", ["", NON_ASCII])
def test_answer_handles_odd_queries(candidate, known_ids, query):
    result = candidate.answer(query)
    assert all(c in known_ids for c in result["citations"])


# --- an unseen corpus: the submission is built again on 45 pages it has never seen ----------

@pytest.fixture(scope="module")
def unseen(context):
    generate = context.load_module("generate")
    corpus, questions = generate.unseen_split(context.seeds)
    # Not pytest's tmp_path: it keeps recent folders, and this one derives from the private seed.
    with tempfile.TemporaryDirectory(prefix="rag-") as tmp:
        folder = Path(tmp) / "unseen_corpus"
        folder.mkdir()
        (folder / "corpus.jsonl").write_bytes(generate.jsonl_bytes(corpus))
        with context.build_candidate(folder) as probe:
            yield probe, {row["id"] for row in corpus}, questions


def test_unseen_corpus_is_searched_not_the_public_one(unseen):
    probe, ids, questions = unseen
    for question in questions:
        _check_ranking(probe.search(question["question"], 10), 10, ids)


def test_unseen_corpus_smaller_than_k_gives_every_page(unseen):
    probe, ids, questions = unseen
    _check_ranking(probe.search(questions[0]["question"], 50), 50, ids)


def test_unseen_corpus_pages_that_state_the_answer_are_found(unseen):
    probe, _, questions = unseen
    found = [q["id"] for q in questions
             if any(q["relevance"].get(i) == 2 for i in probe.search(q["question"], 10))]
    assert len(found) >= len(questions) - 1, (
        f"a page that states the answer is in the top 10 for only {len(found)} of "
        f"{len(questions)} questions about a small corpus")


def test_unseen_corpus_answers_cite_its_pages(unseen):
    probe, ids, questions = unseen
    for question in questions[:3]:
        citations = probe.answer(question["question"])["citations"]
        assert citations and all(c in ids for c in citations), (
            f"citations {citations[:3]} are not pages of the corpus it was built on")
