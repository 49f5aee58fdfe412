"""A grading's steps travel from its child process, over the child's stdout, to the job row while
it runs, where any web process reads them; what else the child prints is not a step."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

from support.kit import TESTS, wait_for
from support.staged import staged_grade

from grader.settings import Settings
from grader.store import (
    Database,
    JobState,
    accept_submission,
    create_invite,
    grading_progress,
    jobs_for_submission,
    migrate,
)
from grader.worker import WorkerPool, submissions_root


def test_each_reported_step_reaches_the_store_while_the_grading_runs(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    settings = Settings(data_dir=tmp_path / "data", poll_seconds=0.1, lease_seconds=30,
                        limits={"cpus": 1})
    db = Database(settings.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=5, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    files_dir = uuid.uuid4().hex
    folder = submissions_root(settings) / files_dir
    folder.mkdir(parents=True)
    (folder / "solution.py").write_text("# steps: 2\n")
    submission_id = accept_submission(db, invite_id=invite_id, sha256="0" * 64, size_bytes=1,
                                      files_dir=files_dir).id

    def step() -> str | None:
        with db.read() as session:
            progress = grading_progress(session, submission_id)
        return progress.step if progress else None

    pool = WorkerPool(settings, db, concurrency=1, grade=staged_grade).start()
    try:
        assert wait_for(lambda: step() == "step 1", timeout=60, what="step 1")
        (folder / "go-1").touch()
        assert wait_for(lambda: step() == "step 2", timeout=30, what="step 2")
        (folder / "go-2").touch()
        wait_for(lambda: step() is None, timeout=30, what="the end of the grading")
    finally:
        pool.stop()
        db.dispose()
    with db.read() as session:
        [job] = jobs_for_submission(session, submission_id)
    assert job.state == JobState.DONE and job.progress == "step 2"
