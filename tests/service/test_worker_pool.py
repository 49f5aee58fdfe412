"""The worker pool in this process over SQLite, grading through real child processes with the
fake grader: retries with backoff, crashes, the attempt cap, graceful stop, the CPU ceiling."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from support.fakes import fast_grade
from support.kit import TESTS, wait_for

from grader.settings import Settings
from grader.store import (
    Database,
    JobState,
    accept_submission,
    create_invite,
    jobs_for_submission,
    migrate,
    report_count,
)
from grader.worker import WorkerPool, max_concurrency, submissions_root


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    settings = Settings(data_dir=tmp_path / "data", poll_seconds=0.1, retry_backoff_seconds=0.2,
                        max_attempts=3, lease_seconds=3, limits={"cpus": 1})
    db = Database(settings.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=100, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id

    def submit(source: str) -> int:
        files_dir = uuid.uuid4().hex
        folder = submissions_root(settings) / files_dir
        folder.mkdir(parents=True)
        (folder / "solution.py").write_text(source)
        return accept_submission(db, invite_id=invite_id, sha256="0" * 64, size_bytes=1,
                                 files_dir=files_dir).id

    yield settings, db, submit
    db.dispose()


def _jobs(db: Database, submission_id: int):
    with db.read() as session:
        return jobs_for_submission(session, submission_id)


def _finished(db: Database, submission_id: int):
    jobs = _jobs(db, submission_id)
    return jobs if jobs[-1].state in (JobState.DONE, JobState.ERRORED) else None


def test_failures_retry_then_succeed_or_error_at_the_cap(setup) -> None:
    settings, db, submit = setup
    flaky = submit("# infra-fail: 2\n# score: 70\n")
    crashy = submit("# crash: 1\n# score: 40\n")
    broken = submit("# infra-fail: 99\n")
    pool = WorkerPool(settings, db, concurrency=2, grade=fast_grade).start()
    try:
        for submission_id in (flaky, crashy, broken):
            wait_for(lambda s=submission_id: _finished(db, s), timeout=90, what="grading")
    finally:
        pool.stop()
    [job] = _jobs(db, flaky)
    assert (job.state, job.attempts) == (JobState.DONE, 3)
    [job] = _jobs(db, crashy)
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    [job] = _jobs(db, broken)
    assert (job.state, job.attempts) == (JobState.ERRORED, 3)
    assert "attempt 3: fake engine outage on attempt 3" in job.last_error
    with db.read() as session:
        assert [report_count(session, s) for s in (flaky, crashy, broken)] == [1, 1, 0]


def test_stopping_gives_running_jobs_back(setup) -> None:
    settings, db, submit = setup
    slow = submit("# sleep: 30\n")
    pool = WorkerPool(settings, db, concurrency=1, grade=fast_grade).start()
    wait_for(lambda: _jobs(db, slow)[0].state == JobState.RUNNING, timeout=30, what="a claim")
    started = time.monotonic()
    pool.stop()
    assert time.monotonic() - started < 10
    [job] = _jobs(db, slow)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)


def test_concurrency_never_asks_for_more_cpus_than_the_host_has() -> None:
    assert max_concurrency(Settings(limits={"cpus": 2}), cpu_count=2) == 1
    assert max_concurrency(Settings(limits={"cpus": 1}), cpu_count=2) == 2
    assert max_concurrency(Settings(limits={"cpus": 1}, workers=8), cpu_count=2) == 2
    assert max_concurrency(Settings(limits={"cpus": 0.5}, workers=3), cpu_count=2) == 3
    assert max_concurrency(Settings(limits={"cpus": 4}), cpu_count=2) == 1


def test_a_grading_function_the_children_cannot_import_is_refused(setup) -> None:
    settings, db, _submit = setup
    with pytest.raises(ValueError, match="not a module-level function"):
        WorkerPool(settings, db, grade=lambda request, settings: fast_grade(request, settings))
