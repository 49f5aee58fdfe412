"""The free pre-flight check (``grader.preflight``): against the real engine on a scaffolded
assignment (passed, a crashing build, a failing check.py, a build longer than the budget), and its
gate in process (the hourly limit per invite, the host's slots)."""

from __future__ import annotations

import shutil
import textwrap
import threading
from pathlib import Path

import pytest

from grader.authoring import new_assignment, zip_folder
from grader.instance import Instance
from grader.intake import IntakeError, IntakeRules
from grader.outcomes import FailureKind
from grader.preflight import (
    PreflightGate,
    PreflightLimited,
    PreflightResult,
    PreflightUnavailable,
    run_preflight,
)
from grader.settings import PreflightRules
from grader.spec import load_assignment
from sandbox import Limits

CEILING = Limits(memory="1g", cpus=1, timeout=300)
RULES = PreflightRules()


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_assignment(tmp_path_factory.mktemp("assignments"), "starter")


@pytest.fixture(scope="module")
def check(scaffold: Path, tmp_path_factory: pytest.TempPathFactory):
    assignment = load_assignment(scaffold, ceiling=CEILING)
    instance = Instance.demo().prepare(assignment, scaffold, tmp_path_factory.mktemp("instances"))

    def run(solution: Path | str, runner_image: str = "",
            rules: PreflightRules = RULES) -> PreflightResult:
        if isinstance(solution, str):
            folder = tmp_path_factory.mktemp("solution")
            (folder / "solution.py").write_text(textwrap.dedent(solution).lstrip())
            solution = folder
        archive = zip_folder(solution, tmp_path_factory.mktemp("zip") / "submission.zip")
        return run_preflight(assignment=assignment, folder=scaffold, instance=instance,
                             zip_path=archive, runner_image=runner_image, ceiling=CEILING,
                             intake=IntakeRules(), rules=rules)
    return run


@pytest.mark.docker
def test_a_working_solution_passes_every_step_within_the_budget(check, scaffold: Path,
                                                                 runner_image: str) -> None:
    result = check(scaffold / "reference" / "solution", runner_image)
    assert result.status == "passed", result
    assert [(c.name, c.outcome) for c in result.checks] == [
        ("build", "passed"), ("serve", "passed"), ("check.py", "passed")]
    assert any("training accuracy" in line for line in result.checks[-1].output)
    assert result.failure is None and result.wall_seconds < RULES.budget_seconds


@pytest.mark.docker
def test_a_crashing_build_is_explained_with_its_message_and_output(check,
                                                                   runner_image: str) -> None:
    result = check('''
        def train(train_path, work_dir):
            print("starting on", train_path)
            raise KeyError("label")
    ''', runner_image)
    assert result.status == "failed"
    assert [(c.name, c.outcome) for c in result.checks] == [("build", "failed")]
    failure = result.failure
    assert failure is not None and failure.kind is FailureKind.EXCEPTION
    assert (failure.exception_type, failure.exception_message) == ("KeyError", "'label'")
    assert [(f.file, f.line, f.function) for f in failure.frames] == [("solution.py", 3, "train")]
    assert "starting on /data/train.jsonl" in failure.stderr_tail
    assert failure.summary in result.message


@pytest.mark.docker
def test_a_query_call_that_raises_fails_the_bundles_check_with_its_traceback(
        check, runner_image: str) -> None:
    result = check('''
        def train(train_path, work_dir):
            pass

        def load(work_dir):
            pass

        def predict(texts):
            raise ValueError(f"cannot classify {len(texts)} texts")
    ''', runner_image)
    assert result.status == "failed" and result.failure is None
    script = result.checks[-1]
    assert (script.name, script.outcome) == ("check.py", "failed")
    assert "ValueError: cannot classify" in script.detail
    # From the bundle's script into theirs: the innermost frame is their line.
    assert (script.frames[0].file, script.frames[0].function) == ("check.py", "<module>")
    assert (script.frames[-1].file, script.frames[-1].line) == ("solution.py", 8)


@pytest.mark.docker
def test_a_build_longer_than_the_budget_is_inconclusive_not_failed(check,
                                                                   runner_image: str) -> None:
    result = check('''
        import time

        def train(train_path, work_dir):
            time.sleep(60)
    ''', runner_image, PreflightRules(budget_seconds=4))
    assert result.status == "inconclusive" and result.failure is not None
    assert [(c.name, c.outcome) for c in result.checks] == [("build", "inconclusive")]


@pytest.mark.docker
def test_a_bundle_without_a_check_script_skips_that_step(scaffold: Path, runner_image: str,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "starter"
    shutil.copytree(scaffold, folder)
    (folder / "candidate" / "check.py").unlink()
    assignment = load_assignment(folder, ceiling=CEILING)
    result = run_preflight(
        assignment=assignment, folder=folder,
        instance=Instance.demo().prepare(assignment, folder, tmp_path / "instances"),
        zip_path=zip_folder(folder / "reference" / "solution", tmp_path / "s.zip"),
        runner_image=runner_image, ceiling=CEILING, intake=IntakeRules(), rules=RULES)
    assert result.status == "passed"
    assert [(c.name, c.outcome) for c in result.checks] == [
        ("build", "passed"), ("serve", "passed"), ("check.py", "skipped")]


def test_a_zip_that_breaks_an_intake_rule_is_refused_before_anything_runs(
        check, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("no solution")
    with pytest.raises(IntakeError, match=r"solution\.py"):
        check(tmp_path, "no-such-image")


def test_each_invite_has_its_hourly_number_of_checks() -> None:
    now = [0.0]
    gate = PreflightGate(clock=lambda: now[0])
    rules = PreflightRules(per_hour=2)
    for _ in range(2):
        with gate.admit(1, rules):
            pass
    with pytest.raises(PreflightLimited, match=r"its 2 pre-flight checks .* about 60 minute"), \
            gate.admit(1, rules):
        pass
    with gate.admit(2, rules):  # another invite's count is its own
        pass
    now[0] = 3600.0  # the first two have left the hour
    with gate.admit(1, rules):
        pass


def test_checks_beyond_the_hosts_slots_are_turned_away_and_not_counted() -> None:
    gate = PreflightGate()
    rules = PreflightRules(per_hour=1, concurrency=1, budget_seconds=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.admit(1, rules):
            holding.set()
            release.wait(5)
    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    with pytest.raises(PreflightUnavailable, match="busy"), gate.admit(2, rules):
        pass
    release.set()
    holder.join()
    with gate.admit(2, rules):  # the refused attempt did not use invite 2's one check
        pass
