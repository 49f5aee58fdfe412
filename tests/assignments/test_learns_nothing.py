"""What submissions that learn nothing score on each built-in assignment, beyond its recorded floor.

``test_scales.py`` places each assignment's own floor baseline; a candidate who wants points
without the work has other strategies that learn nothing from the task: random or hashed labels
and scores, and the public data's label prior (the pages most often relevant to the dev questions
for every question, the most common words of the dev answers as every answer). Each is run here
through the assignment's real harness and metrics, in process, on the demo instance, and scored
on the recorded anchors with every hidden test passed: the same bound as the floor's, at most 5.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.candidate import Candidate
from grader.hidden import HiddenContext, run_harness
from grader.metrics.answers import normalize_answer
from grader.scoring import recorded_anchors, score
from grader.spec import Assignment, load_assignment
from sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"
BOUND = 5.0


class InProcess:
    """Stands in for the sandbox's session: calls a strategy here, through a JSON round trip."""

    def __init__(self, calls: dict[str, Callable[..., Any]]) -> None:
        self.calls = calls
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.last_call_seconds = 0.001
        return json.loads(json.dumps(self.calls[method](**json.loads(json.dumps(params)))))


def _unit(text: str) -> float:
    """A number in [0, 1) fixed by the text alone: noise that knows nothing of the label."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / 16**12


def total(assignment_id: str, calls: dict[str, Callable[..., Any]]) -> tuple[float, Any]:
    folder = ASSIGNMENTS / assignment_id
    spec: Assignment = load_assignment(folder, ceiling=Limits())
    candidate = Candidate(InProcess(calls), {  # type: ignore[arg-type]
        ep.name: (ep.params, ep.returns) for ep in spec.entry_points if ep.phase == "serve"})
    context = HiddenContext(hidden_dir=folder / "hidden", seeds=dict(spec.reproducibility.seeds),
                            work_bytes=0)
    metrics: dict[str, float | None] = {}
    for harness in spec.harnesses:
        values = run_harness(harness.name, folder / harness.path, candidate=candidate,
                             context=context, metrics=[m.name for m in harness.metrics])
        metrics.update({f"{harness.name}.{name}": value for name, value in values.items()})
    tests = {suite.name: (10, 10) for suite in spec.hidden_tests}
    card = score(spec, metrics, tests, anchors=recorded_anchors(spec))
    return card.total, [(c.id, c.points) for c in card.components if c.points]


def test_fraud_hashed_scores_learn_nothing() -> None:
    def predict_proba(rows: list[dict]) -> list[float]:
        return [0.025 + 1e-6 * _unit(json.dumps(r, sort_keys=True)) for r in rows]
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
        return [labels[int(_unit(t) * len(labels))] for t in texts]
    found, components = total("finetune_small", {
        "predict": predict,
        "predict_proba": lambda texts: [{label: 1.0} for label in predict(texts)]})
    assert found <= BOUND, components


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
