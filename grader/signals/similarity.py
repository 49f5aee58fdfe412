"""Token-based similarity between the submissions of one assignment, ignoring the starter code.

Each submission's Python files are tokenised with ``tokenize`` (which reads text and runs nothing).
Tokens are normalised so that renaming and re-commenting change nothing: comments and blank lines
are dropped, every string becomes ``S`` and every number ``0``, and every name becomes ``V``
except keywords, builtins and attribute names (``.fit``, ``.mean``), which are kept. Each run of
``SHINGLE_TOKENS`` normalised tokens (a shingle) is hashed; shingles that also occur in the
starter bundle are removed, so code every candidate was given does not count. Two submissions are
compared by the Jaccard index of their shingle sets, and by containment (the share of the smaller
set found in the other, which catches a copy with extra code around it). A pair is flagged when
its Jaccard index reaches ``threshold``, or when its containment reaches ``containment_threshold``
and the smaller submission has at least ``MIN_SHINGLES_FOR_CONTAINMENT`` shingles of its own.
Flagged pairs are for a reviewer to look at, never a verdict.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import itertools
import keyword
import token
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from grader.signals._common import SignalModel, scan

__all__ = ["FileOverlap", "PairSimilarity", "cohort_similarity", "fingerprints"]

SHINGLE_TOKENS = 12
MAX_TOKENS = 200_000  # per submission
MIN_SHINGLES_FOR_CONTAINMENT = 50
MAX_FILE_PAIRS = 3

_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_DROPPED = frozenset({token.COMMENT, token.NL, token.ENCODING, token.ENDMARKER,
                      token.TYPE_COMMENT})


class FileOverlap(SignalModel):
    path_a: str
    lines_a: tuple[int, int] = Field(description="first and last line of the shared shingles")
    path_b: str
    lines_b: tuple[int, int]
    shared: int = Field(description="shingles these two files share")


class PairSimilarity(SignalModel):
    a: str
    b: str
    score: float = Field(description="Jaccard index of the two shingle sets, starter excluded")
    containment: float = Field(description="share of the smaller set found in the other")
    shared: int = Field(description="shingles in both")
    flagged: bool
    files: list[FileOverlap] = Field(description="the file pairs sharing the most shingles")


@dataclass
class Fingerprints:
    """A submission's shingle hashes, each with where it first occurs in each file."""

    hashes: set[bytes] = field(default_factory=set)
    places: dict[bytes, list[tuple[str, int]]] = field(default_factory=dict)


def fingerprints(folder: Path) -> Fingerprints:
    result = Fingerprints()
    budget = MAX_TOKENS
    for source in scan(folder).python:
        tokens = _normalised_tokens(source.text, budget)
        budget -= len(tokens)
        for window in _windows(tokens):
            digest = hashlib.blake2b("\x1f".join(t for t, _ in window).encode(),
                                     digest_size=8).digest()
            places = result.places.setdefault(digest, [])
            if not places or places[-1][0] != source.path:
                places.append((source.path, window[0][1]))
            result.hashes.add(digest)
        if budget <= 0:
            break
    return result


def cohort_similarity(submissions: dict[str, Path], starter: Path, *, threshold: float = 0.5,
                      containment_threshold: float = 0.8) -> list[PairSimilarity]:
    """Every pair of submissions, most similar first."""
    ignored = fingerprints(starter).hashes if starter.is_dir() else set()
    prints = {}
    for name in sorted(submissions):
        own = fingerprints(submissions[name])
        own.hashes -= ignored
        prints[name] = own
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        first, second = prints[a].hashes, prints[b].hashes
        shared = first & second
        union = len(first | second)
        smaller = min(len(first), len(second))
        score = round(len(shared) / union, 3) if union else 0.0
        containment = round(len(shared) / smaller, 3) if smaller else 0.0
        flagged = score >= threshold or (containment >= containment_threshold
                                         and smaller >= MIN_SHINGLES_FOR_CONTAINMENT)
        pairs.append(PairSimilarity(a=a, b=b, score=score, containment=containment,
                                    shared=len(shared), flagged=flagged,
                                    files=_file_overlaps(prints[a], prints[b], shared)))
    return sorted(pairs, key=lambda p: (-p.score, -p.containment, p.a, p.b))


def _normalised_tokens(text: str, budget: int) -> list[tuple[str, int]]:
    """(normalised token, line) pairs; a tokenising error keeps what came before it."""
    tokens: list[tuple[str, int]] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if len(tokens) >= budget:
                break
            if tok.type in _DROPPED:
                continue
            if tok.type == token.NAME:
                value = tok.string if tok.string in _KEPT_NAMES or previous == "." else "V"
            elif tok.type == token.STRING:
                value = "S"
            elif tok.type == token.NUMBER:
                value = "0"
            elif tok.type == token.NEWLINE:
                value = ";"
            elif tok.type == token.INDENT:
                value = "{"
            elif tok.type == token.DEDENT:
                value = "}"
            else:
                value = tok.string
            previous = tok.string
            tokens.append((value, tok.start[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return tokens


def _windows(tokens: list[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    for start in range(len(tokens) - SHINGLE_TOKENS + 1):
        yield tokens[start:start + SHINGLE_TOKENS]


def _file_overlaps(a: Fingerprints, b: Fingerprints, shared: set[bytes]) -> list[FileOverlap]:
    counts: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for digest in shared:
        path_a, line_a = a.places[digest][0]
        path_b, line_b = b.places[digest][0]
        key = (path_a, path_b)
        counts[key] += 1
        seen = lines.setdefault(key, ([], []))
        seen[0].append(line_a)
        seen[1].append(line_b)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FILE_PAIRS]
    return [FileOverlap(path_a=pa, lines_a=(min(lines[(pa, pb)][0]), max(lines[(pa, pb)][0])),
                        path_b=pb, lines_b=(min(lines[(pa, pb)][1]), max(lines[(pa, pb)][1])),
                        shared=n) for (pa, pb), n in top]
