"""Scoring a strategy that learns nothing through an assignment's real harnesses, in process.

A recorded floor is one such strategy; a candidate who wants points without the work has others
(hashed labels, guessing in the training shares, the public data's label prior). Each is run
through the assignment's own harness and metrics on the demo instance and scored on the recorded
anchors with every hidden test passed, so what it earns is what the rubric would give it. Used by
tests/assignments/test_learns_nothing.py (the built-ins) and tests/grader/test_templates.py (the
authoring templates).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.candidate import Candidate
from grader.hidden import HiddenContext, run_harness
from grader.scoring import recorded_anchors, score
from grader.spec import Assignment, load_assignment
from sandbox import Limits

# The most a submission that learns nothing may score, out of 100.
BOUND = 5.0


class InProcess:
    """Stands in for the sandbox's session: calls a strategy here, through a JSON round trip."""

    def __init__(self, calls: dict[str, Callable[..., Any]]) -> None:
        self.calls = calls
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.last_call_seconds = 0.001
        return json.loads(json.dumps(self.calls[method](**json.loads(json.dumps(params)))))


def unit(text: str) -> float:
    """A number in [0, 1) fixed by the text alone: noise that knows nothing of the label."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / 16**12


def total(folder: Path, calls: dict[str, Callable[..., Any]]) -> tuple[float, Any]:
    """The total of the assignment in ``folder``, scored on its recorded anchors, for a strategy
    answering its serve calls with ``calls``, every hidden test counted as passed; and the
    components that earned points, for an assertion's message."""
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
