"""Metrics for short extractive answers and the passages cited for them.

``normalize_answer`` is SQuAD's (v1.1 evaluation script): lower case, punctuation removed, the
articles "a", "an" and "the" removed, whitespace collapsed. ``exact_match`` and ``token_f1`` compare
normalised strings and take the best over several gold answers; ``citation_support`` asks whether
the cited passages state the gold answer. The tests check all three against the v1.1 script itself
on random answers. One deliberate difference: a prediction and a gold answer that both normalise to
nothing have token F1 1 here (SQuAD 2.0's rule for "no answer"), 0 in the v1.1 script.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from grader.metrics._recording import recorded

__all__ = [
    "citation_support",
    "contains_answer",
    "exact_match",
    "normalize_answer",
    "token_f1",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, collapse whitespace (SQuAD's normalisation)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _golds(gold: str | Sequence[str]) -> list[str]:
    golds = [gold] if isinstance(gold, str) else list(gold)
    if not golds:
        raise ValueError("at least one gold answer is needed")
    return golds


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0."""
    predicted = normalize_answer(prediction)
    return float(any(predicted == normalize_answer(g) for g in _golds(gold)))


def _f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted and not expected:
        return 1.0  # both say nothing: agreement, as in SQuAD 2.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """SQuAD token F1 between the prediction and the closest gold answer (bag of tokens)."""
    return max(_f1(prediction, g) for g in _golds(gold))


def contains_answer(text: str, gold: str) -> bool:
    """Whether the normalised gold answer occurs in the normalised text as whole tokens."""
    needle = normalize_answer(gold)
    if not needle:
        return False
    # Normalised text is tokens joined by single spaces, so padding both sides with one space
    # makes a substring match a whole-token match.
    return f" {needle} " in f" {normalize_answer(text)} "


def citation_support(citations: Iterable[str], gold: str | Sequence[str],
                     passages: Mapping[str, str]) -> float:
    """The share of distinct cited passages whose text states a gold answer.

    An id that is not in ``passages`` supports nothing; no citation at all scores 0, so citing
    nothing is never safer than citing the right passage, and citing many passages dilutes the
    score rather than raising it.
    """
    golds = _golds(gold)
    cited = list(dict.fromkeys(citations))
    if not cited:
        return 0.0
    supported = sum(
        doc in passages and any(contains_answer(passages[doc], g) for g in golds)
        for doc in cited)
    return supported / len(cited)


# Recorded while a harness runs, so each value can carry its interval (grader.metrics._recording);
# wrapped here rather than decorated, so the mutation test still mutates the bodies.
citation_support = recorded(citation_support)
exact_match = recorded(exact_match)
token_f1 = recorded(token_f1)
