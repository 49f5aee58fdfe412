"""``grader sandbox run``: the typer command over ``run_command``, against the real engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed")]


@pytest.fixture
def grader(runner_image: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """``grader(*args)``: invoke the CLI in-process on the runner image; (exit code, stdout)."""
    from grader.cli import app
    from grader.settings import get_settings

    monkeypatch.setenv("GRADER_RUNNER_IMAGE", runner_image)
    get_settings.cache_clear()  # settings are read once per process; read them with the env above

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stdout

    yield invoke
    get_settings.cache_clear()


@pytest.mark.timeout(60)
def test_sandbox_run_json_reports_the_run(grader: Callable[..., Any]) -> None:
    code, stdout = grader("sandbox", "run", "--json", "--memory", "256m", "--timeout", "5",
                          "--", "python3", "-c", "print(1)")
    assert code == 0, stdout
    report = json.loads(stdout)
    assert report["outcome"] == "ok"
    assert report["exit_code"] == 0
    assert report["stdout"] == {"text": "1\n", "total_bytes": 2, "truncated": False}
    assert report["stderr"]["text"] == ""
    assert 0 < report["wall_seconds"] < 5
    assert report["message"] == "finished"


@pytest.mark.timeout(60)
def test_sandbox_run_json_reports_a_timeout_with_exit_code_1(grader: Callable[..., Any]) -> None:
    code, stdout = grader("sandbox", "run", "--json", "--memory", "256m", "--timeout", "1",
                          "--", "sleep", "60")
    assert code == 1
    assert json.loads(stdout)["outcome"] == "timeout"
