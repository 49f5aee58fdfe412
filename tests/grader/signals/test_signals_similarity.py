"""Similarity within a cohort: a renamed, re-commented copy is flagged, an independent solution to
the same task is not, and the starter code every candidate was given does not count."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.authoring import new_assignment
from grader.signals import cohort_similarity

MakeSubmission = Callable[..., Path]  # the make_submission fixture

ORIGINAL = '''\
"""Short or long: a length threshold learned from the training data."""

import json
import os
import statistics


def _read(path: str) -> list[dict]:
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def train(train_path: str, work_dir: str) -> None:
    """Learn the threshold halfway between the mean lengths of the two labels."""
    rows = _read(train_path)
    short = [len(r["text"].split()) for r in rows if r["label"] == "short"]
    long_ = [len(r["text"].split()) for r in rows if r["label"] == "long"]
    threshold = (statistics.mean(short) + statistics.mean(long_)) / 2
    with open(os.path.join(work_dir, "model.json"), "w") as out:
        json.dump({"threshold": threshold, "count": len(rows)}, out)


_model = {}


def load(work_dir: str) -> None:
    """Load the threshold."""
    with open(os.path.join(work_dir, "model.json")) as handle:
        _model.update(json.load(handle))


def predict(texts: list[str]) -> list[str]:
    """Label each text by its word count."""
    limit = _model["threshold"]
    return ["long" if len(text.split()) > limit else "short" for text in texts]
'''

# The same code with every name changed, other comments and docstrings, and reordered functions.
NEAR_COPY = '''\
# my own solution!!
import json
import os
import statistics

STATE = {}


def load(folder: str) -> None:
    """Reads the saved cut-off."""
    with open(os.path.join(folder, "model.json")) as fh:
        STATE.update(json.load(fh))


def _load_rows(p: str) -> list[dict]:
    with open(p) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def train(train_path: str, work_dir: str) -> None:
    """Computes a cut-off between the two classes."""
    # compute per-class lengths
    data = _load_rows(train_path)
    a = [len(d["text"].split()) for d in data if d["label"] == "short"]
    b = [len(d["text"].split()) for d in data if d["label"] == "long"]
    cut = (statistics.mean(a) + statistics.mean(b)) / 2
    with open(os.path.join(work_dir, "model.json"), "w") as o:
        json.dump({"threshold": cut, "count": len(data)}, o)


def predict(texts: list[str]) -> list[str]:
    """Predicts labels."""
    c = STATE["threshold"]
    return ["long" if len(t.split()) > c else "short" for t in texts]
'''

INDEPENDENT = '''\
"""A bag-of-characters nearest-centroid classifier."""

import json
import math
import pathlib
from collections import Counter

CENTROIDS: dict[str, Counter] = {}


def features(text: str) -> Counter:
    counts = Counter(ch for ch in text.lower() if ch.isalpha())
    counts["__len__"] = len(text)
    return counts


def train(train_path: str, work_dir: str) -> None:
    sums: dict[str, Counter] = {"short": Counter(), "long": Counter()}
    for line in pathlib.Path(train_path).read_text().splitlines():
        if not line:
            continue
        row = json.loads(line)
        sums[row["label"]].update(features(row["text"]))
    pathlib.Path(work_dir, "centroids.json").write_text(json.dumps(sums))


def load(work_dir: str) -> None:
    raw = json.loads(pathlib.Path(work_dir, "centroids.json").read_text())
    CENTROIDS.update({label: Counter(values) for label, values in raw.items()})


def distance(a: Counter, b: Counter) -> float:
    keys = set(a) | set(b)
    return math.sqrt(sum((a[k] - b[k]) ** 2 for k in keys))


def predict(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        f = features(text)
        out.append(min(CENTROIDS, key=lambda label: distance(f, CENTROIDS[label])))
    return out
'''


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_assignment(tmp_path_factory.mktemp("assignments"), "starter") / "candidate"


def test_a_near_copy_is_flagged_and_an_independent_solution_is_not(
        make_submission: MakeSubmission, starter: Path) -> None:
    cohort = {"ada": make_submission({"solution.py": ORIGINAL}),
              "bob": make_submission({"solution.py": NEAR_COPY}),
              "cy": make_submission({"solution.py": INDEPENDENT})}
    pairs = cohort_similarity(cohort, starter)
    assert (pairs[0].a, pairs[0].b) == ("ada", "bob")  # most similar first
    assert len(pairs) == 3
    by_pair = {(p.a, p.b): p for p in pairs}
    copy = by_pair[("ada", "bob")]
    assert copy.flagged and copy.score >= 0.6, copy
    assert copy.files[0].path_a == copy.files[0].path_b == "solution.py"
    for other in (by_pair[("ada", "cy")], by_pair[("bob", "cy")]):
        assert not other.flagged and other.score < 0.15, other


def test_a_copy_inside_more_code_is_caught_by_containment(
        make_submission: MakeSubmission, starter: Path) -> None:
    cohort = {"ada": make_submission({"solution.py": ORIGINAL}),
              "bob": make_submission({"solution.py": NEAR_COPY, "extra.py": INDEPENDENT * 3})}
    [pair] = cohort_similarity(cohort, starter)
    assert pair.score < 0.5 and pair.containment >= 0.8 and pair.flagged


def test_starter_code_is_ignored(make_submission: MakeSubmission, starter: Path,
                                 tmp_path: Path) -> None:
    # Two candidates who kept the starter's stubs and checker, each changing one line.
    stub = (starter / "solution.py").read_text()
    checker = (starter / "check.py").read_text()
    cohort = {name: make_submission({
        "solution.py": stub.replace('    """Return "short" or "long" for each text, in order."""\n'
                                    "    raise NotImplementedError",
                                    f"    return [{body}]"),
        "check.py": checker})
        for name, body in (("ada", '"short" for _ in texts'),
                           ("bob", '"long" if len(t) > 40 else "short" for t in texts'))}
    [with_starter] = cohort_similarity(cohort, starter)
    assert with_starter.score < 0.2 and not with_starter.flagged, with_starter
    empty = tmp_path / "no-starter"
    empty.mkdir()
    [without] = cohort_similarity(cohort, empty)
    assert without.score > 0.5 and without.flagged  # the same pair, starter counted


def test_unreadable_or_empty_submissions_do_not_break_the_cohort(
        make_submission: MakeSubmission, starter: Path) -> None:
    cohort = {"empty": make_submission({"README.md": "nothing"}),
              "broken": make_submission({"solution.py": "def f(:\n  '''unterminated"}),
              "ada": make_submission({"solution.py": ORIGINAL})}
    pairs = cohort_similarity(cohort, starter)
    assert len(pairs) == 3 and not any(p.flagged for p in pairs)


def test_scores_are_symmetric_and_the_same_every_time(make_submission: MakeSubmission,
                                                      starter: Path) -> None:
    a, b = make_submission({"solution.py": ORIGINAL}), make_submission({"solution.py": NEAR_COPY})
    forward = cohort_similarity({"x": a, "y": b}, starter)[0]
    backward = cohort_similarity({"x": b, "y": a}, starter)[0]
    assert (forward.score, forward.shared) == (backward.score, backward.shared)
    assert cohort_similarity({"x": a, "y": b}, starter) == [forward]
