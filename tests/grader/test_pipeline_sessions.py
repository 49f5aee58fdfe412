"""Serve sessions of one grading: shared by its parts (``serve.shared``) and side by side.

A scaffolded assignment with three hidden suites (warmup, behaviour, stability) and a harness,
graded with and without a shared serve session, with one or two serve sessions at once; the
reports must agree wherever the candidate's answers decide them.
"""

from __future__ import annotations

import contextlib
import shutil
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import sandbox
from grader.authoring import new_assignment, zip_folder
from grader.instance import Instance
from grader.intake import IntakeRules
from grader.pipeline import _Budget, grade_zip
from grader.report import Report
from grader.spec import load_assignment

SUITES = '''hidden_tests:
  - name: warmup
    path: hidden/warmup
  - name: behaviour
    path: hidden/tests
  - name: stability
    path: hidden/stability
'''

WARMUP = '''
def test_a_label_per_text(candidate):
    assert len(candidate.predict(["a b", "a b c d e f g h i j k l"])) == 2
'''

STABILITY = '''
def test_repeated_calls_are_stable(candidate):
    texts = ["a b", "a b c d e f g h i j k l"]
    assert candidate.predict(texts) == candidate.predict(texts)
'''

# The scaffold's reference, but a batch it has answered before gets the other labels: caught by
# the stability suite in a session of its own, where its two calls are the first two.
CHANGES_ITS_ANSWER = '''
_seen = set()
def predict(texts):
    labels = ["long" if len(t.split()) > _threshold else "short" for t in texts]
    if tuple(texts) in _seen:
        return ["short" if label == "long" else "long" for label in labels]
    _seen.add(tuple(texts))
    return labels
'''

# The reference, but its process ends at the 7th call: within any one part's calls (at most 5),
# not within all of them (9).
ENDS_AT_THE_SEVENTH_CALL = '''
_calls = 0
def predict(texts):
    global _calls
    _calls += 1
    if _calls == 7:
        import os
        os._exit(3)
    return ["long" if len(t.split()) > _threshold else "short" for t in texts]
'''


@pytest.fixture(scope="module")
def assignments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The scaffold with three suites, as it is (``separate``) and with ``serve.shared``."""
    root = tmp_path_factory.mktemp("assignments")
    base = new_assignment(root, "sessions")
    spec = base / "assignment.yaml"
    text = spec.read_text()
    assert "hidden_tests:\n  - name: behaviour\n    path: hidden/tests\n" in text
    spec.write_text(text.replace("hidden_tests:\n  - name: behaviour\n    path: hidden/tests\n",
                                 SUITES))
    for name, source in (("warmup", WARMUP), ("stability", STABILITY)):
        (base / "hidden" / name).mkdir()
        (base / "hidden" / name / f"test_{name}.py").write_text(source)
    # The folder's name is the assignment's id: each variant in a root of its own.
    shared = root / "shared" / "sessions"
    shutil.copytree(base, shared)
    spec = shared / "assignment.yaml"
    spec.write_text(spec.read_text().replace("    call_timeout: 20\n",
                                             "    call_timeout: 20\n    shared: true\n"))
    # One serve CPU of two: two sessions at once.
    side_by_side = root / "side_by_side" / "sessions"
    shutil.copytree(base, side_by_side)
    spec = side_by_side / "assignment.yaml"
    spec.write_text(spec.read_text().replace("limits: {memory: 512m, timeout: 300}",
                                             "limits: {memory: 512m, timeout: 300, cpus: 1}"))
    return {"separate": base, "shared": shared, "side_by_side": side_by_side}


@pytest.fixture(scope="module")
def grade(assignments: dict[str, Path], runner_image: str,
          tmp_path_factory: pytest.TempPathFactory):
    def run(variant: str, predict: str | None = None, cpus: float = 1,
            preload: tuple[str, ...] = sandbox.RUNNER_MODULES) -> Report:
        folder = assignments[variant]
        assignment = load_assignment(folder, ceiling=sandbox.Limits())
        solution = tmp_path_factory.mktemp("solution")
        shutil.copytree(folder / "reference" / "solution", solution, dirs_exist_ok=True)
        if predict is not None:
            source = (solution / "solution.py").read_text()
            source = source[:source.index("def predict(")] + textwrap.dedent(predict)
            (solution / "solution.py").write_text(source)
        archive = zip_folder(solution, tmp_path_factory.mktemp("zip") / "submission.zip")
        instance = Instance.demo().prepare(assignment, folder, tmp_path_factory.mktemp("inst"))
        return grade_zip(assignment=assignment, folder=folder, instance=instance,
                         zip_path=archive, runner_image=runner_image,
                         ceiling=sandbox.Limits(memory="1g", cpus=cpus, timeout=300),
                         intake=IntakeRules(), preload=preload)
    return run


def _verdicts(report: Report) -> dict[str, Any]:
    """What the candidate's answers decide: scores, metrics, each test's outcome, the failure."""
    return {"total": report.total,
            "components": [(c.id, c.points, c.reason) for c in report.components],
            "metrics": [(m.name, m.value, m.reason) for m in report.metrics],
            "tests": [(t.suite, t.name, t.outcome) for t in report.hidden_tests],
            "failure": report.failure}


def _content(report: Report) -> dict[str, Any]:
    """The whole report but what varies run to run (times, sizes, memory) and its reproduction
    section (which cites the ceiling that made the runs differ)."""
    def stable(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: stable(v) for k, v in value.items()
                    if not k.endswith(("_seconds", "_bytes", "_ms", "_at"))}
        if isinstance(value, list):
            return [stable(v) for v in value]
        return value
    document = report.model_dump(mode="json", exclude={"reproduction"})
    for metric in document["metrics"]:  # a latency's interval is a time too
        metric.pop("interval", None)
    return stable(document)


@pytest.fixture(scope="module")
def separate_reference(grade) -> Report:
    return grade("separate")


@pytest.mark.docker
def test_a_shared_session_loads_once_and_grades_as_separate_sessions_do(
        grade, separate_reference: Report) -> None:
    shared = grade("shared")
    assert [p.name for p in shared.phases] == ["build",
                                               "serve: warmup, behaviour, stability, quality"]
    assert [p.name for p in separate_reference.phases] == [
        "build", "serve: warmup", "serve: behaviour", "serve: stability", "serve: quality"]
    assert _verdicts(shared) == _verdicts(separate_reference)
    assert separate_reference.total == 100.0


@pytest.mark.docker
def test_an_answer_changed_the_second_time_is_caught_whichever_part_asked_first(grade) -> None:
    separate = grade("separate", CHANGES_ITS_ANSWER)
    shared = grade("shared", CHANGES_ITS_ANSWER)
    failed = {(t.suite, t.outcome) for t in separate.hidden_tests if t.outcome != "passed"}
    assert failed == {("stability", "failed")}
    # Shared, the warmup asked first: the stability suite's two calls are the second and third.
    assert {(t.suite, t.outcome) for t in shared.hidden_tests if t.outcome != "passed"} == failed
    stability = next(t for t in shared.hidden_tests if t.suite == "stability")
    assert "differently from the first time" in stability.message


@pytest.mark.docker
def test_a_shared_session_that_ends_hands_the_rest_to_sessions_of_their_own(
        grade, separate_reference: Report) -> None:
    report = grade("shared", ENDS_AT_THE_SEVENTH_CALL)
    assert _verdicts(report) == _verdicts(separate_reference)
    assert [(p.name, p.outcome) for p in report.phases][1:] == [
        ("serve: warmup, behaviour, stability, quality", "nonzero_exit"),
        ("serve: stability", "ok"), ("serve: quality", "ok")]


@pytest.mark.docker
def test_sessions_side_by_side_give_the_report_one_at_a_time_gives(grade) -> None:
    one_at_a_time = grade("side_by_side", CHANGES_ITS_ANSWER, cpus=1)
    side_by_side = grade("side_by_side", CHANGES_ITS_ANSWER, cpus=2)
    assert side_by_side.reproduction.limits["build"]["cpus"] == 2
    assert side_by_side.reproduction.limits["serve"]["cpus"] == 1
    assert _content(side_by_side) == _content(one_at_a_time)
    assert [p.name for p in side_by_side.phases] == [
        "build", "serve: warmup", "serve: behaviour", "serve: stability", "serve: quality"]


@pytest.mark.docker
def test_sessions_started_ahead_give_the_report_cold_sessions_give(grade) -> None:
    warm = grade("separate", CHANGES_ITS_ANSWER)
    cold = grade("separate", CHANGES_ITS_ANSWER, preload=())
    assert _content(warm) == _content(cold)


def _overlapping(budget: _Budget, jobs: list[tuple[str, float]]) -> int:
    """The most jobs of ``jobs`` (a turn, or container work of so many CPUs) seen at once."""
    inside, most, lock = 0, 0, threading.Lock()
    entered = threading.Barrier(len(jobs), timeout=1)

    def job(kind: str, cpus: float) -> None:
        nonlocal inside, most
        with budget.turn() if kind == "turn" else budget.container(cpus):
            with lock:
                inside += 1
                most = max(most, inside)
            # Wait a moment for the others to come in, if the budget lets them.
            with contextlib.suppress(threading.BrokenBarrierError):
                entered.wait()
            with lock:
                inside -= 1

    threads = [threading.Thread(target=job, args=spec) for spec in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return most


@pytest.mark.parametrize(("cpus", "jobs", "most"), [
    (2, [("container", 1), ("container", 1)], 2),
    (2, [("container", 1), ("container", 1), ("container", 1)], 2),
    (1, [("container", 1), ("container", 1)], 1),
    (2, [("container", 2), ("container", 1)], 1),
    (4, [("turn", 0), ("turn", 0)], 1),
    (2, [("turn", 0), ("container", 1)], 2),
    (2, [("turn", 0), ("container", 2)], 1),
])
def test_the_budget_holds_container_work_and_one_turn_within_its_cpus(
        cpus: float, jobs: list[tuple[str, float]], most: int) -> None:
    assert _overlapping(_Budget(cpus), jobs) == most


def test_container_work_gives_the_turn_up_and_takes_it_back() -> None:
    budget = _Budget(2)
    released = threading.Event()

    def other_part() -> None:
        with budget.turn():
            released.set()

    with budget.turn():
        thread = threading.Thread(target=other_part)
        thread.start()
        with budget.container(1):
            assert released.wait(2), "the turn was not given up during container work"
        thread.join(2)
    assert not thread.is_alive()
