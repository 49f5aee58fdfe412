"""All signals together: candidate code never runs on the host, the package's public face, the
report carries signals for reviewers only, and the grading pipeline collects them once."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from support.environment import RUNNER_PROVIDED

import grader.signals
from grader.authoring import new_assignment
from grader.environment_fit import provided_by
from grader.instance import demo_instance
from grader.pipeline import grade_directory
from grader.report import Report, render_html
from grader.signals import OwnTestsStatus, Signals, cohort_similarity, collect_signals
from grader.signals._common import scan
from grader.signals.dependencies import dependencies
from grader.signals.docs import documentation
from grader.signals.static import static_checks
from grader.spec import load_assignment
from sandbox import Limits

MakeSubmission = Callable[..., Path]  # the make_submission fixture

LIMITS = Limits(memory="512m", cpus=1, timeout=60)


def test_the_package_exports_what_it_means_to() -> None:
    assert sorted(grader.signals.__all__) == [
        "Dependencies", "Documentation", "Evidence", "FileOverlap", "Lint", "MissingImport",
        "OwnTests", "OwnTestsStatus", "PairSimilarity", "Signals", "StaticChecks",
        "TestCounts", "cohort_similarity", "collect_signals"]


def hostile_submission(marker_dir: Path) -> dict[str, str]:
    """Every file here writes a marker into ``marker_dir`` if it is ever imported or run."""
    def plant(name: str) -> str:
        return textwrap.dedent(f"""\
            import os
            os.makedirs({str(marker_dir)!r}, exist_ok=True)
            open(os.path.join({str(marker_dir)!r}, {name!r}), "w").write("ran")
            """)
    return {
        "solution.py": plant("solution") + "def predict(texts):\n    return texts\n",
        "conftest.py": plant("conftest"),
        "setup.py": plant("setup") + "from setuptools import setup\nsetup(name='x')\n",
        "sitecustomize.py": plant("sitecustomize"),
        "usercustomize.py": plant("usercustomize"),
        "pytest_plugin_x.py": plant("plugin"),
        "tests/__init__.py": "",
        "tests/test_inside.py": plant("test-module") + textwrap.dedent(f"""\
            def test_candidate_code_ran_here_in_the_sandbox():
                assert os.getuid() == 10001
                for name in ("conftest", "solution", "test-module"):
                    assert os.path.exists(os.path.join({str(marker_dir)!r}, name))
            """) + "import solution\n",
        "pyproject.toml": textwrap.dedent(f"""\
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [tool.ruff]
            cache-dir = {str(marker_dir / "ruff-cache")!r}
            extend = {str(marker_dir / "ruff-extend.toml")!r}
            [tool.pytest.ini_options]
            addopts = "-p pytest_plugin_x"
            """),
        "ruff.toml": f"cache-dir = {str(marker_dir / 'ruff-toml-cache')!r}\n",
        "analysis.ipynb": json.dumps({
            "cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                       "execution_count": None,
                       "source": [f"open({str(marker_dir / 'notebook')!r}, 'w')"]}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        "README.md": "# Hostile\n\nRun it with `python solution.py`.\n",
    }


def shadows(marker_dir: Path) -> dict[str, str]:
    """Modules named like the ones the trusted side uses: harmful only on a sys.path."""
    return {f"{name}.py": f"open({str(marker_dir / name)!r}, 'w')\n"
            for name in ("ast", "tokenize", "json", "io", "re", "ruff", "pydantic", "hashlib")}


def test_the_trusted_side_signals_read_files_without_running_them(
        make_submission: MakeSubmission, tmp_path: Path) -> None:
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    files = {**hostile_submission(marker_dir), **shadows(marker_dir)}
    folder = make_submission(files)
    other = make_submission(files)
    tree = scan(folder)
    checks = static_checks(tree)
    documentation(folder, None)
    dependencies(tree, RUNNER_PROVIDED)
    [pair] = cohort_similarity({"a": folder, "b": other}, folder)
    assert list(marker_dir.iterdir()) == []
    assert checks.lint.available and checks.python_files == 16
    assert pair.score == 0.0  # everything is starter code here


@pytest.mark.docker
def test_no_signal_runs_candidate_code_outside_the_sandbox(
        make_submission: MakeSubmission, runner_image: str, tmp_path: Path) -> None:
    marker_dir = tmp_path / "markers"
    folder = make_submission(hostile_submission(marker_dir))
    signals = collect_signals(submission_dir=folder, starter_dir=None, runner_image=runner_image,
                              limits=LIMITS, provided=provided_by(runner_image))
    # The code did run, in the sandbox, where it wrote its markers into the container's /tmp...
    own = signals.own_tests
    assert own.status is OwnTestsStatus.COMPLETED, own
    assert own.counts is not None and (own.counts.passed, own.counts.failed) == (1, 0), own.log
    # ...and never here: no marker, no cache, nothing the candidate's config asked for.
    assert not marker_dir.exists(), sorted(p.name for p in marker_dir.iterdir())
    # The other signals still read everything.
    assert signals.static.python_files == 8
    assert signals.static.notebooks == ["analysis.ipynb"]
    assert signals.documentation.how_to_run.found
    assert signals.dependencies.missing == []


def _report(signals: Signals | None) -> Report:
    return Report.model_validate({
        "status": "graded", "message": "Graded.", "assignment_title": "Short or long?",
        "total": 50.0, "components": [], "metrics": [], "hidden_tests": [], "phases": [],
        "signals": signals.model_dump(mode="json") if signals else None,
        "reproduction": {"runner_image": "img", "runner_image_digest": None,
                         "assignment_id": "a", "assignment_version": "1",
                         "assignment_sha256": "0", "submission_sha256": None, "seeds": {},
                         "instance_id": "demo", "demo": True, "public_data_sha256": None,
                         "limits": {}}})


@pytest.mark.docker
def test_the_report_shows_signals_to_reviewers_only(make_submission: MakeSubmission,
                                                    runner_image: str) -> None:
    folder = make_submission({
        "solution.py": "import os\nimport lightgbm\n",
        "tests/test_x.py": "def test_x():\n    print('<script>alert(1)</script>')\n"
                           "    assert False\n",
        "README.md": "# Notes\n\n## Results\nAccuracy 0.9\n",
        "explore.ipynb": "{}"})
    signals = collect_signals(submission_dir=folder, starter_dir=None,
                              runner_image=runner_image, limits=LIMITS,
                              provided=provided_by(runner_image))
    report = _report(signals)
    assert Report.model_validate_json(report.model_dump_json()) == report

    html = render_html(report)
    for needle in ("Engineering signals", "0 passed, 1 failed, 0 errors", "pyflakes",
                   "explore.ipynb", "lightgbm", "Results"):
        assert needle in html, needle
    assert "<script>alert(1)</script>" not in html  # the candidate's output is escaped
    assert "&lt;script&gt;" in html
    assert "Engineering signals" not in render_html(_report(None))

    everything = ["total", "components", "metrics", "hidden_tests", "logs", "signals"]
    released = report.for_candidate(everything)
    assert "signals" not in released
    assert "lightgbm" not in str(released)


@pytest.mark.docker
def test_the_pipeline_collects_signals_once_per_grading(runner_image: str,
                                                        tmp_path: Path) -> None:
    scaffold = new_assignment(tmp_path / "assignments", "starter")
    submission = tmp_path / "submission"
    shutil.copytree(scaffold / "reference" / "solution", submission)
    (submission / "test_solution.py").write_text(
        "import solution\n\n\ndef test_predict_returns_one_label_per_text():\n"
        "    solution._threshold = 5\n"
        "    assert len(solution.predict(['a', 'b'])) == 2\n")
    steps: list[str] = []
    assignment = load_assignment(scaffold, ceiling=Limits())
    report = grade_directory(assignment=assignment, folder=scaffold,
                             instance=demo_instance(assignment, scaffold),
                             submission_dir=submission, submission_sha256=None,
                             runner_image=runner_image,
                             ceiling=Limits(memory="1g", cpus=1, timeout=300),
                             progress=steps.append)
    assert steps.count("engineering signals") == 1
    assert report.total == 100.0  # signals are not scored
    assert report.signals is not None
    own = report.signals.own_tests
    assert own.status is OwnTestsStatus.COMPLETED, own
    assert own.limit_seconds == 120  # the build phase allows 120 s
    assert report.signals.static.python_files == 2
