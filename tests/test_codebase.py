"""The codebase's own checks, so the test command enforces them: ruff's lint of the code and the
tests, and mypy's type check of the two packages (configured in pyproject.toml). Each fails with
the tool's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "grader", "sandbox", "tests")
    assert done.returncode == 0, f"ruff check grader sandbox tests:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing() -> None:
    done = _run("mypy")  # files and options: [tool.mypy] in pyproject.toml
    assert done.returncode == 0, f"mypy grader sandbox:\n{done.stdout}{done.stderr}"
