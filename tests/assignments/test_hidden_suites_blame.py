"""The built-in hidden suites fail the candidate, never themselves, on answers of the declared shape
that are wrong: a list one item short of its batch, or empty. A hidden test that indexes such an
answer (``candidate.predict([text])[0]``) raises ``IndexError``, which is its author's error
(``HarnessError``, then ``InfrastructureError``: retried, then shown to operators), so a candidate
whose batching drops the last partial batch was never graded.

Run in process on the demo instance (no container): the suites that build a probe need a grading,
so rag_pipeline's is left to its Docker tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.candidate import Candidate
from grader.hidden import HiddenContext, run_suite
from grader.spec import load_assignment
from sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"
# A schema-valid item of each list an entry point answers, by assignment and entry point.
ITEMS: dict[str, dict[str, Any]] = {
    "finetune_small": {"predict": "refund_request", "predict_proba": {"refund_request": 1.0}},
    "fraud_detection": {"predict_proba": 0.5, "validate_input": "a problem"},
}
# The list argument each entry point answers item by item.
BATCHES = {"predict": "texts", "predict_proba": ("texts", "rows")}


class ShortSession:
    """Stands in for the sandbox's session: answers ``drop`` items fewer than each batch holds
    (every item of the declared shape); a call that answers no batch gets one item."""

    def __init__(self, items: dict[str, Any], drop: int | None) -> None:
        self.items = items
        self.drop = drop
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.last_call_seconds = 0.01
        batch = params.get("texts", params.get("rows"))
        if method == "validate_input" or not isinstance(batch, list):
            return [self.items[method]]
        count = 0 if self.drop is None else max(0, len(batch) - self.drop)
        return [self.items[method]] * count


@pytest.mark.parametrize("drop", [1, None], ids=["one-short", "empty"])
@pytest.mark.parametrize("assignment_id", sorted(ITEMS))
def test_short_answers_fail_the_candidates_tests_not_the_suite(assignment_id: str,
                                                               drop: int | None) -> None:
    folder = ASSIGNMENTS / assignment_id
    spec = load_assignment(folder, ceiling=Limits())
    candidate = Candidate(ShortSession(ITEMS[assignment_id], drop), {  # type: ignore[arg-type]
        ep.name: (ep.params, ep.returns) for ep in spec.entry_points if ep.phase == "serve"})
    context = HiddenContext(hidden_dir=folder / "hidden", seeds=dict(spec.reproducibility.seeds),
                            work_bytes=0)
    for suite in spec.hidden_tests:
        results = run_suite(suite.name, folder / suite.path, candidate=candidate, context=context)
        assert any(r.outcome == "failed" for r in results), (suite.name, results)
