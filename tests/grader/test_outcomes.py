"""The candidate's failure explained (``grader.outcomes``), in process: what each kind of failure
becomes, what is scrubbed, what a phase with hidden inputs withholds, and the grader's own error
passing through an author's ``except Exception``."""

from __future__ import annotations

import tempfile
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

import grader
import sandbox
from grader.candidate import Candidate, CandidateCallFailed, InvalidResult
from grader.hidden import HarnessError, HiddenContext, run_harness, run_suite
from grader.outcomes import FailureKind, InfrastructureError, Scrubber, explain

LIMITS = sandbox.Limits(memory="512m", timeout=120)
SOLUTION = '''\
import json


class ShapeError(ValueError):
    pass


def train(train_path, work_dir):
    rows = [json.loads(line) for line in open(train_path)]
    return _fit(rows)


def _fit(rows):
    raise ShapeError("no rows")
'''


@pytest.fixture
def assignment(tmp_path: Path) -> Path:
    folder = tmp_path / "assignments" / "starter"
    (folder / "hidden" / "tests").mkdir(parents=True)
    (folder / "hidden" / "tests" / "test_secret_behaviour.py").write_text(
        "def test_refund_policy_question(candidate):\n    pass\n")
    (folder / "hidden" / "harness.py").write_text("def evaluate(candidate, context): ...\n")
    return folder


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "solution.py").write_text(SOLUTION)
    return folder


def _scrubber(assignment: Path, tmp_path: Path) -> Scrubber:
    return Scrubber.for_grading(folder=assignment,
                                public_data=tmp_path / "data" / "instances" / "a1b2" / "public")


def _result(outcome: sandbox.Outcome, stderr: str = "", message: str = "") -> sandbox.RunResult:
    empty = sandbox.CapturedOutput(text="", total_bytes=0, truncated=False)
    return sandbox.RunResult(
        outcome=outcome, exit_code=0, stdout=empty, wall_seconds=1.0, cpu_seconds=1.0,
        peak_memory_bytes=None, message=message or outcome.value,
        stderr=sandbox.CapturedOutput(text=stderr, total_bytes=len(stderr), truncated=False))


def _explain(failure, result, *, assignment: Path, submission: Path, tmp_path: Path,
             public: bool = True, phase: str = "build"):
    return explain(failure, result, phase=phase, public=public, where="in train()",
                   limits=LIMITS, submission_dir=submission,
                   scrubber=_scrubber(assignment, tmp_path), check_hint="run check.py")


def test_scrubbing_removes_hidden_paths_names_and_grader_internals(assignment: Path,
                                                                   tmp_path: Path) -> None:
    scrub = _scrubber(assignment, tmp_path)
    public = tmp_path / "data" / "instances" / "a1b2" / "public"
    own = Path(grader.__file__).resolve().parent
    text = (f"open {assignment}/hidden/tests/test_secret_behaviour.py failed; "
            f"{public}/train.jsonl and {public.parent}/hidden.jsonl; "
            f'File "/opt/grader/agent/agent.py", line 120; {own}/pipeline.py; '
            f"test_refund_policy_question; {tempfile.gettempdir()}/probe-x1_y/data; "
            "their own /tmp/model.bin; an ordinary sentence about the harness")
    scrubbed = scrub.text(text)
    for secret in (str(assignment), "test_secret_behaviour", "a1b2", "/opt/grader", str(own),
                   "test_refund_policy_question", "probe-x1_y"):
        assert secret not in scrubbed
    assert "/data/train.jsonl" in scrubbed
    assert "<hidden>/tests/<hidden>.py" in scrubbed
    assert "<tmp>/data" in scrubbed
    assert "their own /tmp/model.bin; an ordinary sentence about the harness" in scrubbed


def test_an_exception_in_the_build_is_explained_with_its_own_frames_and_output(
        assignment: Path, submission: Path, tmp_path: Path) -> None:
    frames = (sandbox.Frame("solution.py", 10, "train"), sandbox.Frame("solution.py", 14, "_fit"),
              # The agent names what the candidate's process chose: only real lines survive.
              sandbox.Frame("../../etc/passwd", 1, "train"),
              sandbox.Frame("solution.py", 999, "_fit"),
              sandbox.Frame("solution.py", 3, "made_up_function"))
    error = sandbox.CandidateError("ShapeError", f"no rows in {assignment}/hidden/x.jsonl",
                                   "Traceback ...", frames)
    stderr = "".join(f"line {i}\n" for i in range(40)) + 'File "/opt/grader/agent/agent.py"\n'
    failure = _explain(error, _result(sandbox.Outcome.OK, stderr), assignment=assignment,
                       submission=submission, tmp_path=tmp_path)
    assert failure is not None
    assert failure.kind is FailureKind.EXCEPTION and failure.phase == "build"
    assert failure.summary == "Your code raised ShapeError in train()."
    assert failure.exception_type == "ShapeError"
    assert failure.exception_message == "no rows in <hidden>/x.jsonl"
    assert [(f.file, f.line, f.function) for f in failure.frames] == [
        ("solution.py", 10, "train"), ("solution.py", 14, "_fit")]
    assert len(failure.stderr_tail) == 20
    assert failure.stderr_tail[-1] == 'File "<grader>"'
    assert failure.check_hint == "run check.py"


def test_a_phase_with_hidden_inputs_shows_nothing_the_candidate_chose_freely(
        assignment: Path, submission: Path, tmp_path: Path) -> None:
    """Their process saw hidden queries: a message, a printout or a type made at run time could
    carry them out, so only what their files already hold is shown."""
    leaked = "what is the refund window for damaged goods"

    def serve_failure(type_name: str):
        error = sandbox.CandidateError(type_name, leaked, leaked,
                                       (sandbox.Frame("solution.py", 14, "_fit"),))
        try:
            raise CandidateCallFailed("predict() failed") from error
        except CandidateCallFailed as exc:
            return _explain(exc, _result(sandbox.Outcome.OK, leaked), assignment=assignment,
                            submission=submission, tmp_path=tmp_path, public=False,
                            phase="serve")

    for type_name, shown in [("ValueError", "ValueError"), ("ShapeError", "ShapeError"),
                             ("what_is_the_refund_window", None)]:
        failure = serve_failure(type_name)
        assert failure is not None and failure.kind is FailureKind.EXCEPTION
        assert failure.exception_type == shown
        assert failure.exception_message is None and failure.stderr_tail == []
        assert leaked not in failure.model_dump_json()
        assert [(f.file, f.line) for f in failure.frames] == [("solution.py", 14)]


def test_a_phase_with_hidden_inputs_shows_one_frame_not_a_chain_the_process_chose(
        assignment: Path, submission: Path, tmp_path: Path) -> None:
    """Which lines and functions a traceback passes through is the process's choice too (a
    code object compiled with any line number, a recursion that branches on an input): ten
    frames, each a line of a file of up to 100 MiB and a function it defines, would carry some
    500 bits of hidden input per submission. With hidden inputs only the innermost is shown, as
    much as the exception's type tells."""
    lines = len(SOLUTION.splitlines())
    chosen = tuple(sandbox.Frame("solution.py", line, "train") for line in range(1, lines + 1))
    error = sandbox.CandidateError("ShapeError", "", "", chosen)
    shown = {public: _explain(error, _result(sandbox.Outcome.OK), assignment=assignment,
                              submission=submission, tmp_path=tmp_path, public=public,
                              phase="build" if public else "serve")
             for public in (True, False)}
    assert shown[True] is not None and len(shown[True].frames) == 10  # public: the whole chain
    assert shown[False] is not None
    assert [(f.line, f.function) for f in shown[False].frames] == [(lines, "train")]


@pytest.mark.parametrize(("failure", "outcome", "kind", "words"), [
    (sandbox.CallTimeout("predict did not answer within 20 s"), sandbox.Outcome.TIMEOUT,
     FailureKind.TIMEOUT, "ran past its time limit in train() and was stopped (the build "
                          "phase has 120 s)"),
    (sandbox.SessionClosed("ended", outcome="oom"), sandbox.Outcome.OOM,
     FailureKind.OUT_OF_MEMORY, "ran out of memory in train() and was stopped (the build phase "
                                "has 512 MiB)"),
    (None, sandbox.Outcome.OOM, FailureKind.OUT_OF_MEMORY, "ran out of memory"),
    (sandbox.SessionClosed("ended", outcome="nonzero_exit"), sandbox.Outcome.NONZERO_EXIT,
     FailureKind.ENDED, "ended in train() before answering: it exited with a non-zero code"),
    (InvalidResult("predict() returned a wrong shape at 0: 1 is not a string"),
     sandbox.Outcome.OK, FailureKind.INVALID, "could not be used in train(): predict() returned"),
    (sandbox.AgentError("the exported /work is larger than 10 bytes"), sandbox.Outcome.OK,
     FailureKind.INVALID, "the exported /work is larger than 10 bytes"),
], ids=["call-timeout", "oom-during-a-call", "oom-between-calls", "exit", "wrong-shape",
        "oversized-work-dir"])
def test_each_kind_of_failure_has_its_sentence(assignment: Path, submission: Path,
                                               tmp_path: Path, failure, outcome, kind,
                                               words: str) -> None:
    message = "exited with a non-zero code" if outcome is sandbox.Outcome.NONZERO_EXIT else ""
    found = _explain(failure, _result(outcome, message=message), assignment=assignment,
                     submission=submission, tmp_path=tmp_path)
    assert found is not None and found.kind is kind
    assert words in found.summary
    assert found.exception_type is None and found.frames == []


@pytest.mark.parametrize("failure", [None, AssertionError("3 labels for 4 texts")],
                         ids=["ran-to-its-end", "a-weak-answer"])
def test_code_that_ran_is_not_a_failure(assignment: Path, submission: Path, tmp_path: Path,
                                        failure) -> None:
    assert _explain(failure, _result(sandbox.Outcome.OK), assignment=assignment,
                    submission=submission, tmp_path=tmp_path) is None


# --- the grader's error passes through an author's ``except Exception`` ---------------------------

def _context(tmp_path: Path) -> HiddenContext:
    @contextmanager
    def engine_lost(_data: Path):
        raise InfrastructureError("a probe build could not run: the engine restarted")
        yield
    return HiddenContext(hidden_dir=tmp_path, seeds={}, builder=engine_lost)


def test_a_hidden_test_that_catches_everything_cannot_swallow_the_graders_error(
        tmp_path: Path) -> None:
    suite = tmp_path / "test_swallows.py"
    suite.write_text(textwrap.dedent("""
        def test_probe(context, tmp_path):
            try:
                with context.build_candidate(tmp_path):
                    pass
            except Exception:
                assert False, "the candidate failed to build"
    """))
    with pytest.raises(HarnessError) as caught:
        run_suite("behaviour", suite, candidate=Candidate(None, {}), context=_context(tmp_path))
    assert isinstance(caught.value.__cause__, InfrastructureError)


def test_a_harness_that_catches_everything_cannot_swallow_the_graders_error(
        tmp_path: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text(textwrap.dedent("""
        def evaluate(candidate, context):
            try:
                with context.build_candidate(context.hidden_dir):
                    pass
            except Exception:
                return {"accuracy": 0.0}
            return {"accuracy": 1.0}
    """))
    with pytest.raises(InfrastructureError, match="the engine restarted"):
        run_harness("quality", harness, candidate=Candidate(None, {}),
                    context=_context(tmp_path), metrics=["accuracy"])
