"""Gradescope's results.json from a stored report: valid against the fields Gradescope documents
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"), visible to
candidates as the assignment's release policy says, failures marked failed; and
`grader report export` writing it. In process, on the built-in rag_pipeline assignment."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from support.fakes import fake_report
from support.gradescope import RESULTS_SCHEMA
from typer.testing import CliRunner

from grader.authoring import find_assignment
from grader.cli import app
from grader.gradescope import ExportError, gradescope_results
from grader.outcomes import CodeFailure, FailureKind
from grader.report import Report, TestCaseResult
from grader.settings import BUILT_IN_ASSIGNMENTS, get_settings
from grader.spec import Assignment, Release
from sandbox import Limits


@pytest.fixture(scope="module")
def rag() -> Assignment:
    return find_assignment(BUILT_IN_ASSIGNMENTS, "rag_pipeline", ceiling=Limits())[0]


def _released(assignment: Assignment, *fields: str, feedback: str = "immediately") -> Assignment:
    return assignment.model_copy(update={"release": Release.model_validate(
        {"candidate_fields": ["status", *fields], "feedback": feedback})})


def _report(total: float = 80.0, hidden_tests: list[TestCaseResult] | None = None,
            **extra) -> Report:
    report = fake_report(total, **extra)
    return report.model_copy(update={"hidden_tests": hidden_tests or [],
                                     "reproduction": report.reproduction.model_copy(
                                         update={"assignment_id": "rag_pipeline"})})


def _hidden(outcome: str) -> TestCaseResult:
    return TestCaseResult(suite="hidden", name=f"test_{outcome}", outcome=outcome,
                          duration_seconds=0.1, message="" if outcome == "passed" else "boom")


def _exported(report: Report, assignment: Assignment) -> dict:
    data = json.loads(gradescope_results(report, assignment).model_dump_json(exclude_none=True))
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


def test_a_graded_report_has_gradescopes_fields(rag: Assignment) -> None:
    report = _report(100.0, hidden_tests=[_hidden("passed"), _hidden("failed")])
    data = _exported(report, _released(rag, "total", "components"))
    assert data["score"] == 100.0
    assert data["execution_time"] == 1  # the build's 0.1 s, in whole seconds
    assert data["output"] == report.message
    component, *hidden = data["tests"]
    assert component == {"name": "Accuracy", "score": 100.0, "max_score": 100.0,
                         "status": "passed", "output": "fake", "visibility": "visible"}
    assert [(t["name"], t["status"], "score" in t) for t in hidden] == [
        ("hidden::test_passed", "passed", False), ("hidden::test_failed", "failed", False)]
    assert data["extra_data"]["metrics"] == {"quality.accuracy": 1.0}
    assert data["extra_data"]["assignment_id"] == "rag_pipeline"


def test_visibility_follows_the_release_policy(rag: Assignment) -> None:
    report = _report(hidden_tests=[_hidden("passed")])
    total_only = _exported(report, _released(rag, "total"))
    assert total_only["visibility"] == "visible"
    assert [t["visibility"] for t in total_only["tests"]] == ["hidden", "hidden"]

    components = _exported(report, _released(rag, "total", "components", "hidden_tests"))
    assert [t["visibility"] for t in components["tests"]] == ["visible", "hidden"]  # names never

    later = _exported(report, _released(rag, "components", feedback="after_close"))
    assert later["visibility"] == "hidden"  # the total is not released
    assert later["tests"][0]["visibility"] == "after_due_date"
    never = _exported(report, _released(rag, "total", feedback="never"))
    assert never["visibility"] == "after_published"


def test_failed_code_and_failed_hidden_tests_are_failed(rag: Assignment) -> None:
    failure = CodeFailure(kind=FailureKind.EXCEPTION, phase="build",
                          summary="build() raised ValueError in solution.py, line 3")
    data = _exported(_report(100.0, failure=failure, hidden_tests=[_hidden("error")]),
                     _released(rag, "total", "components"))
    assert [t["status"] for t in data["tests"]] == ["failed", "failed"]
    assert failure.summary in data["output"]
    assert data["extra_data"]["code_failed"] is True
    partial = _exported(_report(60.0), rag)
    assert partial["tests"][0]["status"] == "failed"  # short of full marks, as Gradescope reads it


def test_reviewer_only_evidence_is_never_exported(rag: Assignment) -> None:
    text = gradescope_results(_report(), _released(rag, "total", "logs")).model_dump_json()
    assert "SECRET-LOG-LINE" not in text  # the fake report's build log
    assert "integrity" not in text and "signals" not in text


def test_another_assignments_spec_is_refused(rag: Assignment) -> None:
    with pytest.raises(ExportError, match="graded on assignment 'starter'"):
        gradescope_results(fake_report(50.0), rag)


def _grader(monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str):
    monkeypatch.chdir(folder)  # no .env
    monkeypatch.setenv("GRADER_DATA_DIR", str(folder))
    monkeypatch.setenv("GRADER_ASSIGNMENTS_DIR", str(BUILT_IN_ASSIGNMENTS))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def test_cli_writes_results_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "report.json"
    source.write_text(_report(70.0).model_dump_json())
    done = _grader(monkeypatch, tmp_path, "report", "export", "--format", "gradescope",
                   str(source), "-o", str(tmp_path / "results.json"))
    assert done.exit_code == 0, done.output
    written = json.loads((tmp_path / "results.json").read_text())
    jsonschema.validate(written, RESULTS_SCHEMA)
    assert written["score"] == 70.0 and written["tests"][0]["visibility"] == "visible"

    printed = _grader(monkeypatch, tmp_path, "report", "export", "--format", "gradescope",
                      str(source))
    assert printed.exit_code == 0 and json.loads(printed.stdout) == written


def test_cli_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "report.json"
    source.write_text('{"total": 1}')
    done = _grader(monkeypatch, tmp_path, "report", "export", "--format", "gradescope",
                   str(source))
    assert done.exit_code == 1
    assert "not a grader report.json" in done.output and "grader grade" in done.output
    source.write_text(fake_report(50.0).model_dump_json())  # graded on "starter", not offered
    done = _grader(monkeypatch, tmp_path, "report", "export", "--format", "gradescope",
                   str(source))
    assert done.exit_code == 1 and "starter" in done.output
