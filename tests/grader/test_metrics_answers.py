"""grader.metrics.answers: checked against the official SQuAD v1.1 evaluation script on seeded
random answers (repeated tokens, articles, punctuation, case, odd whitespace), plus hand cases."""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import pytest

from grader.metrics import answers


def raises(message: str):
    """pytest.raises for a ValueError saying exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")

# --- the oracle -------------------------------------------------------------------------------
# normalize_answer, f1_score, exact_match_score and metric_max_over_ground_truths as they stand in
# the official evaluation script for v1.1 of the SQuAD dataset ("evaluate-v1.1.py", Rajpurkar et
# al., 2016), unchanged but for the prefix of their names.


def squad_normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1_score(prediction, ground_truth):
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def squad_exact_match_score(prediction, ground_truth):
    return (squad_normalize_answer(prediction) == squad_normalize_answer(ground_truth))


def squad_metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


# --- random answers ---------------------------------------------------------------------------

WORDS = ["30", "days", "Days", "the", "The", "a", "An", "an", "theatre", "anthem", "refund",
         "Priya", "Natarajan", "$1,500", "99.95%", "team's", "(EU)", "Kraków", "São", "—", "e-mail",
         "01:00", "UTC", "a.m.", "...", "!", "x", "X"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", " \u00a0"]


def _text(rng: random.Random, vocabulary: list[str]) -> str:
    words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 7))]
    out = rng.choice(["", " ", "\n"])
    for word in words:
        out += word + rng.choice(SPACES)
    return out if rng.random() < 0.5 else out.strip()


@pytest.mark.parametrize("seed", range(300))
def test_matches_the_squad_v1_1_script(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = rng.sample(WORDS, rng.randint(2, 8))  # few words: repeats and overlaps
    prediction = _text(rng, vocabulary)
    golds = [_text(rng, vocabulary) for _ in range(rng.randint(1, 3))]
    assert answers.normalize_answer(prediction) == squad_normalize_answer(prediction)
    assert answers.exact_match(prediction, golds) == float(
        squad_metric_max_over_ground_truths(squad_exact_match_score, prediction, golds))
    # One deliberate difference: an answer and a gold that both normalise to nothing score 1
    # (SQuAD 2.0's rule for "no answer"), where v1.1 gives 0.
    expected = max(1.0 if not squad_normalize_answer(prediction).split()
                   and not squad_normalize_answer(g).split() else squad_f1_score(prediction, g)
                   for g in golds)
    assert answers.token_f1(prediction, golds) == pytest.approx(expected, abs=1e-15)
    if len(golds) == 1:
        assert answers.token_f1(prediction, golds[0]) == answers.token_f1(prediction, golds)


# --- hand cases -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "normalised"), [
    ("The Payments Escalations team", "payments escalations team"),
    ("  $1,500.  ", "1500"),
    ("An apple, a pear & the end!", "apple pear end"),
    ("99.95%", "9995"),
    ("Sundays from 01:00 to 03:00 UTC", "sundays from 0100 to 0300 utc"),
    ("theatre anthem", "theatre anthem"),  # articles only as whole words
    ("Kraków — São Paulo", "kraków — são paulo"),  # SQuAD keeps non-ASCII punctuation
    ("THE end", "end"),
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
    ("30 days", "", 0.0, 0.0),
    ("", "", 1.0, 1.0),
    ("the", "a", 1.0, 1.0),  # both nothing once normalised
    ("days days", "days", 2 * 0.5 / 1.5, 0.0),  # bag of tokens: a repeat counts once
    ("days days", "days days", 1.0, 1.0),       # ... and twice when the gold has it twice
    ("days days 30", "days 30 30", 2 / 3, 0.0),
    ("$1,500", "1500", 1.0, 1.0),
])
def test_f1_and_exact_match(prediction: str, gold: str, f1: float, em: float) -> None:
    assert answers.token_f1(prediction, gold) == pytest.approx(f1)
    assert answers.exact_match(prediction, gold) == em


def test_best_of_several_golds() -> None:
    assert answers.token_f1("Priya", ["Priya Natarajan", "Priya"]) == 1.0
    assert answers.token_f1("Priya", ("Priya Natarajan", "Someone")) == pytest.approx(2 / 3)
    assert answers.exact_match("priya natarajan", ("Someone Else", "Priya Natarajan")) == 1.0
    assert answers.exact_match("priya", ("Someone Else", "Priya Natarajan")) == 0.0
    for function in (answers.token_f1, answers.exact_match):
        with raises("at least one gold answer is needed"):
            function("x", [])


def test_contains_answer_matches_whole_tokens() -> None:
    assert answers.contains_answer("Claims are due within 30 days.", "30 days")
    assert not answers.contains_answer("Claims are due within 130 days.", "30 days")
    assert not answers.contains_answer("Claims are due within 30 days.", "30 day")
    assert answers.contains_answer("Escalate to the **Data Integrity** team.", "Data Integrity")
    assert answers.contains_answer("30 days", "30 days")  # the whole text
    assert answers.contains_answer("within 30 days", "30 days")  # at the very end
    assert answers.contains_answer("days", "days")
    assert not answers.contains_answer("30", "30 days")  # longer than the text
    assert not answers.contains_answer("anything", "")
    assert not answers.contains_answer("anything", "The")  # nothing once normalised


def _contains_oracle(text: str, gold: str) -> bool:
    needle = squad_normalize_answer(gold)
    return bool(needle) and f" {needle} " in f" {squad_normalize_answer(text)} "


@pytest.mark.parametrize("seed", range(100))
def test_citation_support_matches_a_written_out_definition(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = rng.sample(WORDS, rng.randint(2, 6))
    passages = {f"p{i}": _text(rng, vocabulary) for i in range(rng.randint(1, 6))}
    golds = [_text(rng, vocabulary) for _ in range(rng.randint(1, 2))]
    cited = [rng.choice([*passages, "missing"]) for _ in range(rng.randint(0, 6))]
    distinct = list(dict.fromkeys(cited))
    supported = [doc for doc in distinct
                 if doc in passages and any(_contains_oracle(passages[doc], g) for g in golds)]
    expected = len(supported) / len(distinct) if distinct else 0.0
    assert answers.citation_support(cited, golds, passages) == pytest.approx(expected)
    for gold in golds:
        for text in passages.values():
            assert answers.contains_answer(text, gold) == _contains_oracle(text, gold)


def test_citation_support_is_a_share_of_distinct_citations() -> None:
    pages = {"a": "Trash keeps items for 30 days.", "b": "Trash keeps items for 14 days.",
             "c": "Nothing here."}
    assert answers.citation_support(["a"], "30 days", pages) == 1.0
    assert answers.citation_support(["a", "a"], "30 days", pages) == 1.0
    assert answers.citation_support(["b", "a"], "30 days", pages) == 0.5
    # A repeated citation counts once, whether it supports the answer or not.
    assert answers.citation_support(["a", "a", "b"], "30 days", pages) == 0.5
    assert answers.citation_support(["b", "b", "a"], "30 days", pages) == 0.5
    assert answers.citation_support(["a", "b", "c", "zzz"], "30 days", pages) == 0.25
    assert answers.citation_support(["a"], ["14 days", "30 days"], pages) == 1.0
    assert answers.citation_support([], "30 days", pages) == 0.0
    with raises("at least one gold answer is needed"):
        answers.citation_support(["a"], [], pages)
