"""`grader grade` and `grader assignment` as a user runs them: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.instance import open_instance


def grader(*args: str, root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_ASSIGNMENTS_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600, check=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assignments")
    new_assignment(root, "demo")
    return root


@pytest.mark.docker
def test_grade_writes_both_reports_and_exits_0(root: Path, tmp_path: Path,
                                               runner_image: str) -> None:
    archive = zip_folder(root / "demo" / "reference" / "solution", tmp_path / "s.zip")
    done = grader("grade", "-a", "demo", str(archive), "--out", "out", "--json",
                  root=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["total"] == 100.0
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == printed
    assert "<html" in (tmp_path / "out" / "report.html").read_text()
    for step in ("build: train()", "hidden tests: behaviour", "evaluation: quality"):
        assert step in done.stderr
    # A fresh data dir: its own private instance, made on first use, never the published seeds.
    assert printed["reproduction"]["demo"] is False
    assert printed["reproduction"]["instance_id"] == open_instance(tmp_path / "data").id
    assert "DEMO" not in done.stderr


@pytest.mark.docker
def test_grading_on_the_published_seeds_takes_a_flag_and_says_so(root: Path, tmp_path: Path,
                                                                  runner_image: str) -> None:
    archive = zip_folder(root / "demo" / "reference" / "solution", tmp_path / "s.zip")
    done = grader("grade", "-a", "demo", str(archive), "--out", "out", "--json", "--demo",
                  root=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["reproduction"]["demo"] is True and printed["reproduction"]["seeds"]
    assert "DEMO instance" in done.stderr
    assert "Demo instance" in (tmp_path / "out" / "report.html").read_text()


def test_a_rejected_zip_exits_2_with_the_rule(root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../solution.py", "x = 1")
    done = grader("grade", "-a", "demo", str(archive), "--out", "out", root=root, cwd=tmp_path)
    assert done.returncode == 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["status"] == "rejected"
    assert "../solution.py" in report["message"]


def test_an_unknown_assignment_exits_1_naming_the_known_ones(root: Path, tmp_path: Path) -> None:
    archive = zip_folder(root / "demo" / "candidate", tmp_path / "s.zip")
    done = grader("grade", "-a", "nope", str(archive), root=root, cwd=tmp_path)
    assert done.returncode == 1
    assert "known: demo" in done.stderr
    assert not (tmp_path / "report").exists()


def test_assignment_list_json(root: Path, tmp_path: Path) -> None:
    done = grader("assignment", "list", "--json", root=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assignments"] == [
        {"id": "demo", "valid": True, "title": "Short or long? A starter assignment",
         "version": "0.1.0"}]


def test_validate_schema_only_json(root: Path, tmp_path: Path) -> None:
    done = grader("assignment", "validate", "demo", "--schema-only", "--json", root=root,
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


@pytest.mark.docker
def test_try_grades_a_folder_directly(root: Path, tmp_path: Path, runner_image: str) -> None:
    # On the published seeds, where the recorded anchors were measured: exactly the floor.
    done = grader("assignment", "try", "demo", str(root / "demo" / "reference" / "constant"),
                  "--json", "--out", "out", "--demo", root=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 0.0


@pytest.mark.docker
def test_baseline_rewrites_only_the_scores_and_keeps_comments(tmp_path: Path,
                                                              runner_image: str) -> None:
    root = tmp_path / "assignments"
    root.mkdir()
    spec = new_assignment(root, "demo") / "assignment.yaml"
    spec.write_text(spec.read_text().replace("quality.accuracy: 0.6", "quality.accuracy: 0.2"))
    before = spec.read_text()
    done = grader("assignment", "baseline", "demo", "--yes", root=root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "-  - {name: constant, path: reference/constant, scores: {quality.accuracy: 0.2}}" \
        in done.stdout
    after = spec.read_text()
    assert after == before.replace("quality.accuracy: 0.2", "quality.accuracy: 0.6")


@pytest.mark.docker
def test_baseline_without_yes_and_no_stdin_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "assignments"
    root.mkdir()
    spec = new_assignment(root, "demo") / "assignment.yaml"
    spec.write_text(spec.read_text().replace("quality.accuracy: 0.6", "quality.accuracy: 0.2"))
    before = spec.read_text()
    done = grader("assignment", "baseline", "demo", root=root, cwd=tmp_path)
    assert done.returncode != 0
    assert spec.read_text() == before
