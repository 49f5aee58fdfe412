"""An answer that came back and was judged is never explained as the process ending.

When a harness stops on a candidate's answer (a wrong shape, or its own assertion about the
answers), the exception leaves the serve session, and the sandbox kills a container left on an
exception: the phase's outcome is ``killed`` (a real grading of fraud_detection with a
``predict_proba`` answering ``10**400`` recorded "serve: quality killed"). The candidate was then
told "Your code's process ended ... it was killed by a signal", the grader's own kill, and a
weak answer was marked as code that failed. ``tests/grader/test_failures.py`` grades both
through the real engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
from grader.candidate import InvalidResult
from grader.outcomes import FailureKind, Scrubber, explain

LIMITS = sandbox.Limits(memory="512m", timeout=120)


def _killed() -> sandbox.RunResult:
    """What the session records when the grader leaves it on an exception."""
    empty = sandbox.CapturedOutput(text="", total_bytes=0, truncated=False)
    return sandbox.RunResult(
        outcome=sandbox.Outcome.KILLED, exit_code=None, stdout=empty, stderr=empty,
        wall_seconds=1.0, cpu_seconds=1.0, peak_memory_bytes=None,
        message="predict() returned a wrong shape at 0: 1 is not a string")


def _explain(failure: BaseException, tmp_path: Path):
    return explain(failure, _killed(), phase="serve", public=False, where="in the serve phase",
                   limits=LIMITS, submission_dir=tmp_path,
                   scrubber=Scrubber(paths=(), hidden_names=frozenset()), check_hint=None)


def test_a_wrong_shape_that_ended_the_session_is_an_answer_that_could_not_be_used(
        tmp_path: Path) -> None:
    found = _explain(InvalidResult("predict() returned a wrong shape at 0: 1 is not a string"),
                     tmp_path)
    assert found is not None and found.kind is FailureKind.INVALID
    assert found.summary == "Your code's answer could not be used in the serve phase."


@pytest.mark.parametrize("verdict", [AssertionError("3 labels for 4 texts"),
                                     AssertionError("predict_proba returned a value that is "
                                                    "not a finite number")])
def test_a_harness_verdict_that_ended_the_session_is_a_weak_result(
        tmp_path: Path, verdict: AssertionError) -> None:
    assert _explain(verdict, tmp_path) is None
