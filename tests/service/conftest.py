"""Fixtures of the service's fault, load and end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring import new_assignment


@pytest.fixture(scope="session")
def assignments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter scaffold; its reference solution is reference/solution."""
    root = tmp_path_factory.mktemp("assignments")
    new_assignment(root, "starter")
    return root


@pytest.fixture(scope="session")
def slow_reference(assignments_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference solution, with a build phase that takes 10 s (time to kill a worker)."""
    folder = tmp_path_factory.mktemp("slow-reference")
    source = (assignments_dir / "starter" / "reference" / "solution" / "solution.py").read_text()
    (folder / "solution.py").write_text(source.replace(
        "def train(train_path, work_dir):\n",
        "def train(train_path, work_dir):\n    import time\n    time.sleep(10)\n", 1))
    return folder
