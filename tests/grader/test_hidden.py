"""What hidden code gets: the context's seeds and modules, a candidate that checks arguments; and
whose failure a hidden suite's failure is (the candidate's, or the author's: HarnessError)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import sandbox
from grader.authoring import new_assignment, zip_folder
from grader.candidate import Candidate, InvalidResult, blames_candidate
from grader.hidden import HarnessError, HiddenContext, run_suite
from grader.instance import Instance
from grader.intake import IntakeRules
from grader.pipeline import InfrastructureError, grade_zip
from grader.report import Report, ReportStatus, TestCaseResult
from grader.spec import load_assignment
from sandbox import Limits


def context_with(folder: Path, source: str, seeds: dict[str, int] | None = None) -> HiddenContext:
    folder.mkdir(parents=True)
    (folder / "generate.py").write_text(source)
    return HiddenContext(hidden_dir=folder, seeds=seeds or {})


def test_two_assignments_generators_never_collide(tmp_path: Path) -> None:
    first = context_with(tmp_path / "a" / "hidden", "VALUE = 'a'\n")
    second = context_with(tmp_path / "b" / "hidden", "VALUE = 'b'\n")
    assert first.load_module("generate").VALUE == "a"
    assert second.load_module("generate").VALUE == "b"
    assert first.load_module("generate") is first.load_module("generate")


def test_a_missing_or_broken_module_is_reported(tmp_path: Path) -> None:
    context = context_with(tmp_path / "hidden", "raise RuntimeError('broken generator')\n")
    with pytest.raises(RuntimeError, match="broken generator"):
        context.load_module("generate")
    with pytest.raises((HarnessError, FileNotFoundError)):
        context.load_module("absent")


def test_seed_names_a_seed_in_force(tmp_path: Path) -> None:
    context = context_with(tmp_path / "hidden", "", seeds={"hidden": 7})
    assert context.seed("hidden") == 7
    with pytest.raises(KeyError):
        context.seed("other")


class RecordingSession:
    """Stands in for the sandbox's session: answers with a canned value, records each call."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        self.calls.append((method, params))
        self.last_call_seconds = 0.01
        return self.answer


ENTRY_POINTS = {"search": ({"query": {"type": "string"}, "k": {"type": "integer"}},
                           {"type": "array", "items": {"type": "string"}})}


def test_positional_and_keyword_arguments_map_onto_declared_params() -> None:
    session = RecordingSession(["p1", "p2"])
    candidate = Candidate(session, ENTRY_POINTS)  # type: ignore[arg-type]
    assert candidate.search("refunds", k=2) == ["p1", "p2"]
    assert session.calls == [("search", {"query": "refunds", "k": 2})]
    assert candidate.timings["search"] == [0.01]


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("refunds",), {"k": "ten"}, "argument 'k' of search"),
    ((), {"query": "q", "limit": 3}, "declares no parameter 'limit'"),
    (("q", 1, 2), {}, "takes 2 arguments"),
    (("q",), {"query": "again"}, "multiple values"),
])
def test_arguments_outside_the_declaration_are_the_authors_error(
        args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    session = RecordingSession([])
    with pytest.raises(TypeError, match=message):
        Candidate(session, ENTRY_POINTS).call("search", *args, **kwargs)  # type: ignore[arg-type]
    assert session.calls == []


def test_a_result_of_the_wrong_shape_fails_the_call_with_where() -> None:
    candidate = Candidate(RecordingSession(["ok", 3]), ENTRY_POINTS)  # type: ignore[arg-type]
    with pytest.raises(InvalidResult, match="wrong shape at 1"):
        candidate.search("q", 2)


def test_suites_with_the_same_file_names_never_share_a_module(tmp_path: Path) -> None:
    for name, body in (("a", "def test_x():\n    assert True\n"),
                       ("b", "def test_x():\n    assert False\n")):
        folder = tmp_path / name / "tests"
        folder.mkdir(parents=True)
        (folder / "test_behaviour.py").write_text(body)
    context = HiddenContext(hidden_dir=tmp_path, seeds={})
    candidate = Candidate(RecordingSession(None), {})  # type: ignore[arg-type]
    first = run_suite("s", tmp_path / "a" / "tests", candidate=candidate, context=context)
    second = run_suite("s", tmp_path / "b" / "tests", candidate=candidate, context=context)
    assert [t.outcome for t in first] == ["passed"]
    assert [t.outcome for t in second] == ["failed"]



def test_a_loaded_module_of_a_suite_files_name_never_stands_in_for_the_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module already loaded under the name a suite's file takes (the process's own
    ``test_stability``, say) must not be run instead of the author's tests, and is left loaded."""
    folder = tmp_path / "stability"
    folder.mkdir()
    (folder / "test_stability.py").write_text("def test_x():\n    assert False\n")
    elsewhere = tmp_path / "elsewhere" / "test_stability.py"
    elsewhere.parent.mkdir()
    elsewhere.write_text("def test_x():\n    assert True\n")
    spec = importlib.util.spec_from_file_location("test_stability", elsewhere)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    monkeypatch.setitem(sys.modules, "test_stability", loaded)
    candidate = Candidate(RecordingSession(None), {})  # type: ignore[arg-type]
    results = run_suite("stability", folder, candidate=candidate,
                        context=HiddenContext(hidden_dir=tmp_path, seeds={}))
    assert [t.outcome for t in results] == ["failed"]
    assert sys.modules["test_stability"] is loaded

# --- whose failure it is -------------------------------------------------------------------------

class FailingSession(RecordingSession):
    """A session whose every call meets ``error`` (the candidate's code raising, the engine...)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(None)
        self.error = error

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        raise self.error


def _suite(tmp_path: Path, source: str, answer: Any = None,
           session: RecordingSession | None = None) -> list[TestCaseResult]:
    """Run ``source`` as a hidden suite; the candidate answers ``answer`` (["long"]) to all."""
    folder = tmp_path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / "test_suite.py").write_text(textwrap.dedent(source))
    session = session or RecordingSession(["long"] if answer is None else answer)
    candidate = Candidate(session,  # type: ignore[arg-type]
                          {"predict": ({"texts": {"type": "array"}},
                                       {"type": "array", "items": {"type": "string"}})})
    return run_suite("behaviour", folder, candidate=candidate,
                     context=HiddenContext(hidden_dir=tmp_path, seeds={"hidden": 1}))


def _outcomes(results: list[TestCaseResult]) -> dict[str, str]:
    return {r.name.rsplit("::", 1)[1]: r.outcome for r in results}


def test_the_candidates_failures_are_failed_tests(tmp_path: Path) -> None:
    results = _suite(tmp_path, """
        import pytest
        def test_wrong_answer(candidate):
            assert candidate.predict(["a"]) == ["short"]
        def test_explicit_verdict(candidate):
            pytest.fail("the answer is not a label")
        def test_passes(candidate):
            assert candidate.predict(["a"]) == ["long"]
    """)
    assert _outcomes(results) == {"test_wrong_answer": "failed",
                                  "test_explicit_verdict": "failed", "test_passes": "passed"}


@pytest.mark.parametrize(("session", "answer", "message"), [
    (None, [3], "wrong shape"),
    (FailingSession(sandbox.CandidateError("RuntimeError", "boom", "")), None, "RuntimeError"),
    (FailingSession(sandbox.CallTimeout("predict did not answer")), None, "did not answer"),
], ids=["wrong_shape", "their_exception", "their_timeout"])
def test_the_candidates_failed_calls_are_failed_tests_in_a_body_and_in_a_fixture(
        tmp_path: Path, session: RecordingSession | None, answer: Any, message: str) -> None:
    results = _suite(tmp_path, """
        import pytest
        @pytest.fixture(scope="module")
        def predictions(candidate):
            return candidate.predict(["a"])
        def test_in_a_fixture(predictions):
            assert predictions
        def test_in_the_body(candidate):
            assert candidate.predict(["a"])
    """, answer=answer, session=session)
    # pytest's words: a failure in a fixture is an "error", in the body a "failed" test.
    assert _outcomes(results) == {"test_in_a_fixture": "error", "test_in_the_body": "failed"}
    assert all(message in r.message for r in results)


BROKEN_SUITES = {
    "type_error_in_the_body": ("""
        def test_sum(candidate):
            labels = candidate.predict(["a"])
            assert sum(labels) == 0
    """, TypeError, "test_sum (call): TypeError"),
    "key_error_in_a_fixture": ("""
        import pytest
        @pytest.fixture
        def rows(context):
            return {"rows": []}["items"]
        def test_rows(candidate, rows):
            assert candidate.predict(rows)
    """, KeyError, "test_rows (setup): KeyError"),
    "assertion_in_a_fixture": ("""
        import pytest
        @pytest.fixture
        def rows(context):
            rows = []
            assert rows, "the generator made no rows"
            return rows
        def test_rows(candidate, rows):
            assert candidate.predict(rows)
    """, AssertionError, "the generator made no rows"),
    "wrong_argument_to_an_entry_point": ("""
        def test_call(candidate):
            assert candidate.predict(["a"], limit=3)
    """, TypeError, "declares no parameter 'limit'"),
    "collection_error": ("""
        import a_module_that_does_not_exist
        def test_never_runs(candidate):
            assert True
    """, None, "collecting"),
    "no_tests": ("""
        def helper():
            return 1
    """, None, "NO_TESTS_COLLECTED"),
}


@pytest.mark.parametrize(("source", "cause", "message"), BROKEN_SUITES.values(),
                         ids=BROKEN_SUITES.keys())
def test_the_authors_failures_raise_harness_error(tmp_path: Path, source: str,
                                                  cause: type[BaseException] | None,
                                                  message: str) -> None:
    with pytest.raises(HarnessError, match=re.escape(message)) as caught:
        _suite(tmp_path, source)
    if cause is not None:
        assert isinstance(caught.value.__cause__, cause)


def test_the_engine_failing_in_a_test_is_not_the_candidates(tmp_path: Path) -> None:
    """It reaches the pipeline as the cause, which makes it an InfrastructureError."""
    session = FailingSession(sandbox.EngineFailed("the engine's event stream ended"))
    with pytest.raises(HarnessError) as caught:
        _suite(tmp_path, """
            def test_call(candidate):
                assert candidate.predict(["a"])
        """, session=session)
    assert isinstance(caught.value.__cause__, sandbox.EngineFailed)


def test_skips_and_xfails_keep_pytests_meaning(tmp_path: Path) -> None:
    results = _suite(tmp_path, """
        import pytest
        def test_skipped(candidate):
            pytest.skip("optional entry point")
        @pytest.mark.xfail(reason="known to fail")
        def test_expected_to_fail(candidate):
            raise TypeError("even an error")
        @pytest.mark.xfail(strict=True, reason="must fail")
        def test_strict_xfail_that_passes(candidate):
            assert candidate.predict(["a"]) == ["long"]
    """)
    assert _outcomes(results) == {"test_skipped": "skipped", "test_expected_to_fail": "skipped",
                                  "test_strict_xfail_that_passes": "failed"}


def test_an_assertion_inside_the_graders_own_code_is_not_the_candidates() -> None:
    """The grader's invariants are its own; the same assertion in hidden code is a verdict."""
    import grader

    def raised_in(filename: str) -> AssertionError:
        try:
            exec(compile("assert False, 'invariant'", filename, "exec"))
        except AssertionError as exc:
            return exc
        raise AssertionError("did not raise")
    own = Path(grader.__file__).parent
    assert not blames_candidate(raised_in(str(own / "pipeline.py")))
    assert not blames_candidate(raised_in(str(Path(sandbox.__file__).parent / "_session.py")))
    assert blames_candidate(raised_in("/assignments/x/hidden/harness.py"))
    assert blames_candidate(raised_in(str(own / "templates" / "assignment" / "harness.py")))
    assert blames_candidate(sandbox.SessionClosed("ended", outcome="oom"))
    assert not blames_candidate(sandbox.EngineFailed("lost"))
    assert not blames_candidate(KeyError("rows"))


# --- in a grading, against the real engine: the author's bugs never score the candidate ---------

CEILING = sandbox.Limits(memory="1g", cpus=1, timeout=300)


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_assignment(tmp_path_factory.mktemp("assignments"), "starter")


def _grade(folder: Path, solution: Path, runner_image: str, tmp_path: Path) -> Report:
    assignment = load_assignment(folder, ceiling=Limits())
    instance = Instance.demo().prepare(assignment, folder, tmp_path / "instances")
    return grade_zip(assignment=assignment, folder=folder, instance=instance,
                     zip_path=zip_folder(solution, tmp_path / "submission.zip"),
                     runner_image=runner_image, ceiling=CEILING, intake=IntakeRules())


def _broken(scaffold: Path, tmp_path: Path, relative: str, source: str) -> Path:
    folder = tmp_path / "starter"
    shutil.copytree(scaffold, folder)
    (folder / relative).write_text(textwrap.dedent(source))
    return folder


KEY_ERROR_HARNESS = """
def evaluate(candidate, context):
    rows = context.load_module("generate").hidden_items(context.seeds)
    predictions = candidate.predict([r["text"] for r in rows])
    return {"accuracy": sum(p == r["gold"] for p, r in zip(predictions, rows)) / len(rows)}
"""


@pytest.mark.docker
def test_a_harness_that_raises_is_an_infrastructure_error_not_a_report(
        scaffold: Path, runner_image: str, tmp_path: Path) -> None:
    folder = _broken(scaffold, tmp_path, "hidden/harness.py", KEY_ERROR_HARNESS)
    with pytest.raises(InfrastructureError, match="harness quality is broken: KeyError: 'gold'"):
        _grade(folder, scaffold / "reference" / "solution", runner_image, tmp_path)


BROKEN_HIDDEN_TESTS = {
    "type_error_in_a_test": ("""
        def test_labels_add_up(candidate):
            labels = candidate.predict(["a", "b"])
            assert sum(labels) == 2
    """, r"test_labels_add_up \(call\): TypeError"),
    "error_in_a_fixture": ("""
        import pytest

        @pytest.fixture
        def texts(context):
            return context.load_module("generate").hidden_items(context.seeds)[0]["texts"]

        def test_one_label_each(candidate, texts):
            assert len(candidate.predict(texts)) == len(texts)
    """, r"test_one_label_each \(setup\): KeyError"),
}


@pytest.mark.docker
@pytest.mark.parametrize(("source", "message"), BROKEN_HIDDEN_TESTS.values(),
                         ids=BROKEN_HIDDEN_TESTS.keys())
def test_a_broken_hidden_test_is_an_infrastructure_error(
        scaffold: Path, runner_image: str, tmp_path: Path, source: str, message: str) -> None:
    folder = _broken(scaffold, tmp_path, "hidden/tests/test_behaviour.py", source)
    with pytest.raises(InfrastructureError, match=f"hidden tests are broken: .*{message}"):
        _grade(folder, scaffold / "reference" / "solution", runner_image, tmp_path)


@pytest.mark.docker
def test_the_candidates_exception_is_still_a_graded_failure(
        scaffold: Path, runner_image: str, tmp_path: Path) -> None:
    solution = tmp_path / "solution"
    shutil.copytree(scaffold / "reference" / "solution", solution)
    source = (solution / "solution.py").read_text()
    (solution / "solution.py").write_text(source + textwrap.dedent("""
        def predict(texts):
            raise RuntimeError("my model is not loaded")
    """))
    report = _grade(scaffold, solution, runner_image, tmp_path)
    assert report.status is ReportStatus.GRADED and report.total == 0.0
    assert {t.outcome for t in report.hidden_tests} == {"failed"}
    assert all("RuntimeError" in t.message for t in report.hidden_tests)
    [quality] = report.metrics
    assert quality.value is None and "RuntimeError: my model is not loaded" in quality.reason
