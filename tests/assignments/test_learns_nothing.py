"""What submissions that learn nothing score on each built-in assignment, beyond its recorded floor.

``test_scales.py`` places each assignment's own floor baseline; a candidate who wants points
without the work has other strategies that learn nothing from the task: random or hashed labels
and scores, guessing in the training data's label shares, and the public data's label prior (the
pages most often relevant to the dev questions for every question, the most common words of the
dev answers as every answer). Each is run here through the assignment's real harness and
metrics, in process, on the demo instance, and scored on the recorded anchors with every hidden
test passed: the same bound as the floor's, at most 5.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.learns_nothing import BOUND, unit
from support.learns_nothing import total as total_in

from grader.metrics.answers import normalize_answer
from grader.spec import load_assignment
from sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"


def total(assignment_id: str, calls: dict[str, Callable[..., Any]]) -> tuple[float, Any]:
    return total_in(ASSIGNMENTS / assignment_id, calls)


def test_fraud_hashed_scores_learn_nothing() -> None:
    def predict_proba(rows: list[dict]) -> list[float]:
        return [0.025 + 1e-6 * unit(json.dumps(r, sort_keys=True)) for r in rows]
    found, components = total("fraud_detection", {"predict_proba": predict_proba,
                                                   "validate_input": lambda row: []})
    assert found <= BOUND, components


def _finetune_labels() -> list[str]:
    spec = load_assignment(ASSIGNMENTS / "finetune_small", ceiling=Limits())
    predict = next(ep for ep in spec.entry_points if ep.name == "predict")
    return list(predict.returns["items"]["enum"])  # type: ignore[index]


def test_finetune_hashed_labels_learn_nothing() -> None:
    """Each text a label drawn from its hash: chance macro-F1 (about 1/14), where the scale's 0
    is anchored (0.08 points on the demo instance; 4.76 when the most common label, 0.015, was
    the floor)."""
    labels = _finetune_labels()

    def predict(texts: list[str]) -> list[str]:
        return [labels[int(unit(t) * len(labels))] for t in texts]
    found, components = total("finetune_small", {
        "predict": predict,
        "predict_proba": lambda texts: [{label: 1.0} for label in predict(texts)]})
    assert found <= BOUND, components


def test_finetune_guessing_in_the_training_shares_learns_nothing() -> None:
    """Each text a label drawn from its hash in the public train split's label shares (43 to 260
    tickets per label, so not uniform): 0 to 2.1 points over ten draws on the demo instance, from
    the uniform-chance anchor. Five draws here, each with its own salt."""
    train = ASSIGNMENTS / "finetune_small" / "candidate" / "data" / "train.jsonl"
    shares = Counter(json.loads(line)["label"] for line in train.read_text().splitlines())
    ends, reached = [], 0
    for label, count in sorted(shares.items()):
        reached += count
        ends.append((reached / shares.total(), label))
    for salt in range(5):
        def predict(texts: list[str], salt: int = salt) -> list[str]:
            draws = [unit(f"{salt}:{text}") for text in texts]
            return [next((label for end, label in ends if u < end), ends[-1][1]) for u in draws]
        found, components = total("finetune_small", {
            "predict": predict,
            "predict_proba": lambda texts, p=predict: [{label: 1.0} for label in p(texts)]})
        assert found <= BOUND, (salt, components)


def test_rag_the_public_label_prior_learns_nothing() -> None:
    data = ASSIGNMENTS / "rag_pipeline" / "candidate" / "data"
    dev = [json.loads(line) for line in (data / "dev_questions.jsonl").read_text().splitlines()]
    pages = Counter(page for q in dev for page, label in q["relevance"].items() if label >= 1)
    top = [page for page, _ in pages.most_common(10)]
    words = Counter(word for q in dev for word in set(normalize_answer(q["answer"]).split()))
    answer = " ".join(word for word, _ in words.most_common(3))
    found, components = total("rag_pipeline", {
        "search": lambda query, k: top[:k],
        "answer": lambda query: {"answer": answer, "citations": top[:1]}})
    assert found <= BOUND, components
