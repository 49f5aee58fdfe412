"""A number in a candidate's answer that no float can hold is the candidate's invalid answer.

JSON allows whole numbers of any size (``json.dumps(10**400)`` writes 401 digits, and the host's
parser reads them back as an int) and literals past the double range (``1e400`` reads as
infinity). Both pass a ``number`` result schema, and the trusted code that reads them as
floats raised ``OverflowError`` (``math.isfinite`` in fraud_detection's robustness suite,
``numpy.array(..., dtype=float)`` in its harness): not the candidate's failure, so the pipeline
raised ``InfrastructureError`` and the grader took the blame for the candidate's answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.candidate import Candidate, InvalidResult, blames_candidate
from grader.hidden import HiddenContext, run_harness, run_suite
from grader.spec import load_assignment
from sandbox import Limits
from sandbox._session import parse_message

FRAUD = Path(__file__).resolve().parents[2] / "assignments" / "fraud_detection"
# The demo instance's seeds (assignment.yaml), so the hidden rows are those of the published data.
SEEDS = {"public": 20240101, "hidden": 20241224}


class WireSession:
    """Stands in for the sandbox's session: each answer is the reply line a candidate's container
    writes, read by the host's own parser (``parse_message``), as a real call's is."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.last_call_seconds = 0.01
        if method == "validate_input":
            return ["a problem"]
        count = len(params["rows"])
        return parse_message(f'{{"id": 1, "result": [{", ".join([self.reply] * count)}]}}'
                             .encode())["result"]


# The agent writes a big int as its digits; a candidate writing its own reply line can send 1e400.
UNREPRESENTABLE = [str(10**400), str(-(10**400)), "1e400"]


def fraud_candidate(reply: str) -> Candidate:
    spec = load_assignment(FRAUD, ceiling=Limits())
    return Candidate(WireSession(reply), {  # type: ignore[arg-type]
        ep.name: (ep.params, ep.returns) for ep in spec.entry_points if ep.phase == "serve"})


@pytest.mark.parametrize("reply", UNREPRESENTABLE)
def test_a_number_no_float_holds_is_an_invalid_result(reply: str) -> None:
    with pytest.raises(InvalidResult, match="at 0 that no float can hold") as raised:
        fraud_candidate(reply).predict_proba([{}, {}])
    assert blames_candidate(raised.value)


def test_nested_numbers_are_checked_and_plain_ones_pass() -> None:
    entry = {"answer": ({"query": "string"}, "object")}
    deep = {"a": [1, {"b": [0.5, 10**400, 10**401]}]}
    with pytest.raises(InvalidResult, match="at a/1/b/1"):
        Candidate(_Fixed(deep), entry).answer("q")  # type: ignore[arg-type]
    plain = {"a": [1, {"b": [0.5, 10**300, -2.5e307, True, None, "1e400"]}]}
    assert Candidate(_Fixed(plain), entry).answer("q") == plain  # type: ignore[arg-type]


class _Fixed:
    def __init__(self, answer: Any) -> None:
        self.answer = json.loads(json.dumps(answer))
        self.last_call_seconds: float | None = 0.01

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        return self.answer


def test_the_fraud_harness_blames_the_candidate_for_a_huge_probability() -> None:
    spec = load_assignment(FRAUD, ceiling=Limits())
    context = HiddenContext(hidden_dir=FRAUD / "hidden", seeds=SEEDS, work_bytes=0)
    with pytest.raises(BaseException) as raised:
        run_harness("quality", FRAUD / "hidden" / "harness.py",
                    candidate=fraud_candidate(str(10**400)), context=context,
                    metrics=[m.name for m in spec.harness("quality").metrics])
    assert blames_candidate(raised.value), repr(raised.value)


def test_the_fraud_robustness_suite_fails_the_candidate_for_a_huge_probability() -> None:
    """Graded as failed tests, where ``math.isfinite`` raised into the suite as its author's
    error (``HarnessError``, then ``InfrastructureError``)."""
    context = HiddenContext(hidden_dir=FRAUD / "hidden", seeds=SEEDS, work_bytes=0)
    results = run_suite("robustness", FRAUD / "hidden" / "tests",
                        candidate=fraud_candidate(str(10**400)), context=context)
    failed = [r for r in results if r.name.endswith("test_probabilities_are_in_the_unit_interval")]
    assert [r.outcome for r in failed] == ["failed"]
    assert "no float can hold" in failed[0].message
