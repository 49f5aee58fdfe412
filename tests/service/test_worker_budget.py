"""Every core used, never more: the worker pool's CPU budget, in this process over SQLite, with
real grading children running a stand-in that records when each grading ran; the budget's line
and the host's CPUs (cgroup quotas) on their own."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from support.kit import TESTS, wait_for
from support.spans import peak, read_spans, spans_grade

from grader.authoring import new_assignment
from grader.settings import Settings
from grader.store import (
    Database,
    JobState,
    accept_submission,
    create_invite,
    jobs_for_submission,
    migrate,
)
from grader.worker import (
    CpuBudget,
    WorkerPool,
    grading_cpus,
    host_cpus,
    max_concurrency,
    submissions_root,
)

CPUS_OF = {"one": 1.0, "two": 2.0}


def _assignment_with_cpus(root: Path, assignment_id: str, cpus: float) -> None:
    """A new assignment from the blank template, each phase limited to ``cpus``."""
    spec = new_assignment(root, assignment_id) / "assignment.yaml"
    text, phases = re.subn(r"limits: \{", f"limits: {{cpus: {cpus}, ", spec.read_text())
    assert phases == 2, "the template's two phases each declare limits"
    spec.write_text(text)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A store, two assignments (1 and 2 CPUs a grading) and a ``submit(assignment, source)``."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    spans = tmp_path / "spans"
    spans.mkdir()
    monkeypatch.setenv("SPANS_DIR", str(spans))
    for assignment_id, cpus in CPUS_OF.items():
        _assignment_with_cpus(tmp_path / "assignments", assignment_id, cpus)
    settings = Settings(data_dir=tmp_path / "data", assignments_dir=tmp_path / "assignments",
                        poll_seconds=0.1, lease_seconds=6, limits={"cpus": 4})
    db = Database(settings.resolved_database_url())
    migrate(db)
    invites = {}
    with db.write() as session:
        for assignment_id in CPUS_OF:
            invite, _ = create_invite(session, assignment_id=assignment_id, cohort="c", label="",
                                      allowance=100, valid_for=timedelta(days=1),
                                      created_by="t")
            invites[assignment_id] = invite.id

    def submit(assignment_id: str, source: str) -> int:
        files_dir = uuid.uuid4().hex
        folder = submissions_root(settings) / files_dir
        folder.mkdir(parents=True)
        (folder / "solution.py").write_text(source)
        return accept_submission(db, invite_id=invites[assignment_id], sha256="0" * 64,
                                 size_bytes=1, files_dir=files_dir).id

    yield settings, db, submit, spans
    db.dispose()


def _grade_all(settings: Settings, db: Database, submissions: list[int], spans: Path,
               cpus: float) -> list[dict]:
    pool = WorkerPool(settings, db, grade=spans_grade, cpus=cpus).start()
    try:
        def done() -> bool:
            with db.read() as session:
                return all(jobs_for_submission(session, s)[-1].state == JobState.DONE
                           for s in submissions)
        wait_for(done, timeout=120, what="every grading")
    finally:
        pool.stop()
    return read_spans(spans)


def test_one_cpu_assignments_run_four_at_once_on_four_cpus(host) -> None:
    settings, db, submit, spans = host
    submissions = [submit("one", "# gather: 4\n# sleep: 1\n") for _ in range(5)]
    ran = _grade_all(settings, db, submissions, spans, cpus=4)
    assert len(ran) == 5
    assert peak(ran, CPUS_OF) == 4


def test_two_cpu_assignments_run_two_at_once_on_four_cpus(host) -> None:
    settings, db, submit, spans = host
    submissions = [submit("two", "# gather: 2\n# sleep: 1\n") for _ in range(3)]
    ran = _grade_all(settings, db, submissions, spans, cpus=4)
    assert len(ran) == 3
    assert peak(ran, {"two": 1}) == 2  # gradings at once
    assert peak(ran, CPUS_OF) == 4


def test_a_mixed_queue_never_holds_more_cpus_than_the_host_has(host) -> None:
    settings, db, submit, spans = host
    order = ["two", "one", "one", "two", "one", "two", "one"]
    submissions = [submit(assignment_id, "# sleep: 0.5\n") for assignment_id in order]
    ran = _grade_all(settings, db, submissions, spans, cpus=4)
    assert len(ran) == len(order)
    assert peak(ran, CPUS_OF) <= 4


def test_slots_are_as_many_as_the_smallest_assignment_allows(host) -> None:
    settings, *_ = host
    assert grading_cpus(settings, "one") == 1
    assert grading_cpus(settings, "two") == 2
    assert grading_cpus(settings, "gone") == 4  # unreadable: at the ceiling; its grading says why
    assert max_concurrency(settings, cpu_count=4) == 4, "the spec of 'one' was read"
    assert max_concurrency(settings.model_copy(update={"workers": 2}), cpu_count=4) == 2


# --- the budget's line --------------------------------------------------------------------------

def _holder(budget: CpuBudget, cpus: float, log: list[str], name: str,
            release: threading.Event) -> threading.Thread:
    turn = budget.line_up(cpus)  # in line in the order the threads are made

    def hold() -> None:
        with turn:
            turn.wait(interval=0.05)
            log.append(name)
            release.wait(10)
    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_a_large_grading_waiting_for_cpus_is_not_passed_by_smaller_ones() -> None:
    budget, log = CpuBudget(4), []
    first, big, small = threading.Event(), threading.Event(), threading.Event()
    threads = [_holder(budget, 3, log, "first", first), _holder(budget, 2, log, "big", big),
               _holder(budget, 1, log, "small", small)]
    wait_for(lambda: log == ["first"], timeout=5, what="the first holder")
    time.sleep(0.3)
    assert log == ["first"], "the 1-CPU grading fits beside the first but waits behind the big one"
    assert not budget.has_room()
    first.set()
    wait_for(lambda: log == ["first", "big", "small"], timeout=5, what="the others, in order")
    assert budget.used == 3000
    big.set()
    small.set()
    for thread in threads:
        thread.join(5)
    assert budget.used == 0 and budget.has_room()


def test_a_grading_larger_than_the_host_runs_alone_and_fractions_add_up() -> None:
    budget, log, release = CpuBudget(2), [], threading.Event()
    _holder(budget, 8, log, "huge", release).join(0.5)
    assert log == ["huge"] and budget.used == budget.total
    release.set()
    wait_for(lambda: budget.used == 0, timeout=5, what="the CPUs given back")
    turns = [budget.line_up(0.1) for _ in range(20)]
    for turn in turns:
        turn.wait()
    assert budget.used == budget.total and not budget.has_room()
    for turn in turns:
        turn.__exit__(None, None, None)
    assert budget.used == 0


def test_giving_up_a_place_in_line_lets_the_next_one_in() -> None:
    budget = CpuBudget(1)
    holding = budget.line_up(1)
    holding.wait()
    quitter, next_one = budget.line_up(1), budget.line_up(1)

    def stop() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError), quitter:
        quitter.wait(every=stop, interval=0.01)
    holding.__exit__(None, None, None)
    next_one.wait(interval=0.01)
    assert budget.used == 1000


# --- the host's CPUs ----------------------------------------------------------------------------

def test_the_host_cpus_are_lowered_by_a_cgroup_v2_quota_above_the_process(tmp_path: Path) -> None:
    own = tmp_path / "cgroup"
    own.write_text("0::/worker.slice/grader\n")
    (tmp_path / "fs" / "worker.slice" / "grader").mkdir(parents=True)
    (tmp_path / "fs" / "worker.slice" / "grader" / "cpu.max").write_text("max 100000\n")
    affinity = float(len(os.sched_getaffinity(0)))
    assert host_cpus(tmp_path / "fs", own) == affinity
    (tmp_path / "fs" / "worker.slice" / "cpu.max").write_text("50000 100000\n")
    assert host_cpus(tmp_path / "fs", own) == min(affinity, 0.5)


def test_the_host_cpus_are_lowered_by_a_cgroup_v1_quota(tmp_path: Path) -> None:
    own = tmp_path / "cgroup"
    own.write_text("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n")
    folder = tmp_path / "fs" / "cpu,cpuacct" / "docker" / "abc"
    folder.mkdir(parents=True)
    (folder / "cpu.cfs_quota_us").write_text("-1\n")
    (folder / "cpu.cfs_period_us").write_text("100000\n")
    affinity = float(len(os.sched_getaffinity(0)))
    assert host_cpus(tmp_path / "fs", own) == affinity
    (folder / "cpu.cfs_quota_us").write_text("25000\n")
    assert host_cpus(tmp_path / "fs", own) == min(affinity, 0.25)
    assert host_cpus(tmp_path / "fs", tmp_path / "missing") == affinity


def test_stopping_gives_back_a_claim_still_waiting_for_cpus(host) -> None:
    settings, db, submit, spans = host
    running, waiting = (submit("two", "# sleep: 60\n") for _ in range(2))
    # Three slots (1-CPU assignments exist), CPUs for one 2-CPU grading and one CPU to spare:
    # the second is claimed (CPUs are free) and waits for a second one.
    pool = WorkerPool(settings, db, grade=spans_grade, cpus=3).start()
    try:
        def both_claimed() -> bool:
            with db.read() as session:
                return all(jobs_for_submission(session, s)[-1].state == JobState.RUNNING
                           for s in (running, waiting))
        wait_for(both_claimed, timeout=60, what="both jobs claimed")
        assert pool.budget.used == 2000 and len(pool.budget.line) == 1
    finally:
        started = time.monotonic()
        pool.stop()
    assert time.monotonic() - started < 10, "the waiting slot heard the stop at once"
    with db.read() as session:
        jobs = [jobs_for_submission(session, s)[-1] for s in (running, waiting)]
    assert [(job.state, job.attempts) for job in jobs] == [(JobState.QUEUED, 0)] * 2
    assert read_spans(spans) == []
