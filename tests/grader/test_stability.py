"""Nondeterminism you can see: a re-grade is set beside the submission's earlier gradings of the
same assignment content, instance and runner image when it is stored; a quality metric that moved
flags it (naming the metric, old and new), timings never do. In process: the store over SQLite in
a temporary folder, fake reports; one test through the worker pool's child processes (the fast
fake grader), one through the reviewer pages."""

from __future__ import annotations

import csv
import functools
import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.fakes import fast_grade
from support.kit import TESTS, wait_for

from grader.authoring import new_assignment
from grader.report import MetricResult, Report, ReportStatus, Reproduction
from grader.settings import Settings
from grader.stability import Stability, compare, comparer, is_timing, moved_metrics
from grader.store import (
    Database,
    JobState,
    accept_submission,
    claim_job,
    complete_job,
    create_invite,
    create_reviewer,
    enqueue_regrade,
    jobs_for_submission,
    latest_stability,
    migrate,
)
from grader.web import create_app
from grader.worker import WorkerPool, submissions_root

DIGEST = "sha256:" + "ab" * 32
EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"


def _report(metrics: dict[str, float | None], *, digest: str | None = DIGEST,
            content: str = "c" * 64, instance: str = "inst") -> Report:
    return Report(
        status=ReportStatus.GRADED, message="Graded: 50.0 / 100.", assignment_title="Starter",
        total=50.0, components=[], hidden_tests=[], phases=[],
        metrics=[MetricResult(name=name, value=value, higher_is_better=not is_timing(name),
                              baselines={}) for name, value in metrics.items()],
        reproduction=Reproduction(
            runner_image="runner:test", runner_image_digest=digest, assignment_id="starter",
            assignment_version="0.1.0", assignment_sha256=content, submission_sha256="f" * 64,
            instance_id=instance, demo=False, public_data_sha256=None, seeds={}, limits={}))


QUALITY = {"quality.accuracy": 0.7, "quality.ece": 0.0312}
TIMINGS = {"quality.latency_p50_ms": 12.5, "quality.model_mib": 3.0, "build.train_seconds": 4.2}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Database, int]]:
    db = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="Ada",
                                  allowance=10, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    yield db, invite_id
    db.dispose()


def _graded(db: Database, submission_id: int, report: Report) -> Stability | None:
    """Store ``report`` as a worker would (a re-grade after the first), and its stability."""
    with db.read() as session:
        pending = [j for j in jobs_for_submission(session, submission_id)
                   if j.state == JobState.QUEUED]
    if not pending:
        enqueue_regrade(db, submission_id)
    claim = claim_job(db, worker="t", lease_seconds=60, max_attempts=3)
    assert claim is not None and claim.submission_id == submission_id
    assert complete_job(db, claim, report, compare=functools.partial(compare))
    with db.read() as session:
        found = latest_stability(session, submission_id)
    return Stability.model_validate_json(found) if found is not None else None


def _submission(db: Database, invite_id: int) -> int:
    return accept_submission(db, invite_id=invite_id, sha256="f" * 64, size_bytes=1,
                             files_dir=uuid.uuid4().hex).id


def test_a_first_grading_or_one_of_another_key_is_not_compared(store) -> None:
    db, invite_id = store
    submission = _submission(db, invite_id)
    assert _graded(db, submission, _report(QUALITY)) is None
    # Other runner image, other content, other instance: other gradings, nothing to compare.
    for other in (_report(QUALITY | {"quality.accuracy": 0.9}, digest="sha256:" + "cd" * 32),
                  _report(QUALITY | {"quality.accuracy": 0.9}, content="d" * 64),
                  _report(QUALITY | {"quality.accuracy": 0.9}, instance="other")):
        assert compare(other, [(1, _report(QUALITY))]) is None
    rejected = _report(QUALITY).model_copy(update={"status": ReportStatus.REJECTED})
    assert compare(rejected, [(1, _report(QUALITY))]) is None


def test_a_regrade_with_identical_metrics_is_not_flagged(store) -> None:
    db, invite_id = store
    submission = _submission(db, invite_id)
    _graded(db, submission, _report(QUALITY | TIMINGS))
    # The same values, up to a float's last bits.
    again = _graded(db, submission, _report(QUALITY | TIMINGS | {
        "quality.accuracy": 0.7 * (1 + 1e-12)}))
    assert again is not None and not again.nondeterministic
    assert again.moved == [] and again.compared == 1
    assert again.message.startswith("Stable: the quality metrics match 1 earlier grading")


def test_a_regrade_whose_quality_metric_moved_is_flagged_naming_it(store) -> None:
    db, invite_id = store
    submission = _submission(db, invite_id)
    _graded(db, submission, _report(QUALITY | TIMINGS))
    moved = _graded(db, submission, _report(QUALITY | TIMINGS | {"quality.accuracy": 0.71}))
    assert moved is not None and moved.nondeterministic
    assert [(m.name, m.old, m.new) for m in moved.moved] == [("quality.accuracy", 0.7, 0.71)]
    assert "quality.accuracy 0.7 → 0.71" in moved.message
    assert moved.message.startswith("Nondeterministic: 1 quality metric moved")
    # A value lost (None) moves too; a tiny move is shown with the digits that tell it apart.
    lost = moved_metrics(_report({"quality.accuracy": 0.7}), _report({"quality.accuracy": None}))
    assert [(m.old, m.new) for m in lost] == [(0.7, None)]
    tiny = compare(_report({"quality.accuracy": 0.70000001}),
                   [(7, _report({"quality.accuracy": 0.7}))])
    assert tiny is not None and tiny.nondeterministic and tiny.against_report == 7
    assert "0.7 → 0.70000001" in tiny.message


def test_timings_moving_do_not_flag(store) -> None:
    db, invite_id = store
    submission = _submission(db, invite_id)
    _graded(db, submission, _report(QUALITY | TIMINGS))
    slower = _graded(db, submission, _report(QUALITY | {
        "quality.latency_p50_ms": 40.0, "quality.model_mib": 3.5, "build.train_seconds": 9.1}))
    assert slower is not None and not slower.nondeterministic and slower.moved == []
    assert slower.timings == sorted(TIMINGS)
    # A metric the rubric gives the latency role is a timing whatever its name.
    speed = {"quality.speedup": 1.0}
    assert compare(_report(QUALITY | {"quality.speedup": 2.0}), [(1, _report(QUALITY | speed))],
                   latency={"quality.speedup"}).nondeterministic is False  # type: ignore[union-attr]


def test_a_regrade_is_flagged_when_it_differs_from_any_earlier_grading(store) -> None:
    db, invite_id = store
    submission = _submission(db, invite_id)
    _graded(db, submission, _report(QUALITY))
    assert _graded(db, submission, _report(QUALITY | {"quality.ece": 0.05})).nondeterministic
    third = _graded(db, submission, _report(QUALITY | {"quality.ece": 0.05}))
    # The same as the second grading, not as the first: still not reproducible.
    assert third is not None and third.nondeterministic and third.compared == 2
    assert [(m.name, m.old, m.new) for m in third.moved] == [("quality.ece", 0.0312, 0.05)]


def test_the_worker_flags_a_regrade_whose_metric_moved(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the pool's child processes: the fast fake grader's accuracy is its score / 100."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    settings = Settings(data_dir=tmp_path / "data", poll_seconds=0.1, lease_seconds=10,
                        limits={"cpus": 1})
    db = Database(settings.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=10, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    folder = submissions_root(settings) / "s1"
    folder.mkdir(parents=True)
    (folder / "solution.py").write_text("# score: 60\n")
    submission = accept_submission(db, invite_id=invite_id, sha256="0" * 64, size_bytes=1,
                                   files_dir="s1").id

    def graded(count: int) -> Stability | None:
        def done():
            with db.read() as session:
                jobs = jobs_for_submission(session, submission)
                return len(jobs) == count and jobs[-1].state == JobState.DONE
        wait_for(done, timeout=60, what="grading")
        with db.read() as session:
            found = latest_stability(session, submission)
        return Stability.model_validate_json(found) if found is not None else None

    pool = WorkerPool(settings, db, concurrency=1, grade=fast_grade, anchors=False).start()
    try:
        assert graded(1) is None
        enqueue_regrade(db, submission)
        same = graded(2)
        assert same is not None and not same.nondeterministic
        (folder / "solution.py").write_text("# score: 61\n")
        enqueue_regrade(db, submission)
        moved = graded(3)
    finally:
        pool.stop()
        db.dispose()
    assert moved is not None and moved.nondeterministic
    assert [(m.name, m.old, m.new) for m in moved.moved] == [("quality.accuracy", 0.6, 0.61)]


def test_comparer_sets_aside_the_assignments_latency_metrics(tmp_path: Path) -> None:
    new_assignment(tmp_path, "starter")
    check = comparer(Settings(data_dir=tmp_path / "data", assignments_dir=tmp_path), "starter")
    assert check(_report(QUALITY | {"quality.latency_p50_ms": 99.0}),
                 [(1, _report(QUALITY | TIMINGS))]).nondeterministic is False  # type: ignore
    # An unknown assignment still knows timings by their names.
    unknown = comparer(Settings(data_dir=tmp_path / "data", assignments_dir=tmp_path), "nope")
    assert unknown(_report(QUALITY | {"quality.accuracy": 0.1}),
                   [(1, _report(QUALITY))]).nondeterministic  # type: ignore[union-attr]


def test_reviewers_see_the_flag_on_the_report_and_cohort_pages_json_and_csv(
        tmp_path: Path) -> None:
    root = tmp_path / "assignments"
    new_assignment(root, "starter")
    data = tmp_path / "data"
    settings = Settings(data_dir=data, assignments_dir=root, demo=True,
                        database_url=f"sqlite:///{data / 'grader.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        db = app.state.service.db
        with db.write() as session:
            create_reviewer(session, EMAIL, PASSWORD)
            invite, _ = create_invite(session, assignment_id="starter", cohort="spring",
                                      label="Ada", allowance=10, valid_for=timedelta(days=1),
                                      created_by=EMAIL)
            invite_id = invite.id
        steady, shaky = _submission(db, invite_id), _submission(db, invite_id)
        _graded(db, steady, _report(QUALITY | TIMINGS))
        _graded(db, shaky, _report(QUALITY))
        _graded(db, steady, _report(QUALITY | {"quality.latency_p50_ms": 30.0}))
        _graded(db, shaky, _report(QUALITY | {"quality.accuracy": 0.75}))
        assert client.post("/api/review/login",
                           json={"email": EMAIL, "password": PASSWORD}).status_code == 200

        page = client.get(f"/review/submissions/{shaky}").text
        assert 'id="stability-flag"' in page and 'id="moved-metrics"' in page
        assert "quality.accuracy 0.7 → 0.75" in page
        calm = client.get(f"/review/submissions/{steady}").text
        assert 'id="stability"' in calm and "Stable: the quality metrics match" in calm
        assert 'id="stability-flag"' not in calm

        cohort = client.get("/review/assignments/starter").text
        assert 'id="stability-summary"' in cohort and "1 nondeterministic" in cohort
        assert f'href="/review/submissions/{shaky}#stability"' in cohort

        rows = {r["id"]: r for r in client.get(
            "/api/review/assignments/starter/submissions").json()}
        assert rows[shaky]["stability"]["nondeterministic"] is True
        assert rows[shaky]["stability"]["moved"] == [
            {"name": "quality.accuracy", "old": 0.7, "new": 0.75}]
        assert rows[steady]["stability"]["nondeterministic"] is False
        detail = client.get(f"/api/review/submissions/{shaky}").json()
        assert detail["submission"]["stability"]["nondeterministic"] is True

        exported = list(csv.DictReader(io.StringIO(client.get(
            "/api/review/assignments/starter/export.csv").text)))
        by_id = {int(r["submission_id"]): r for r in exported}
        assert by_id[shaky]["nondeterministic"] == "true"
        assert by_id[shaky]["moved_metrics"] == "quality.accuracy 0.7 -> 0.75"
        assert (by_id[steady]["nondeterministic"], by_id[steady]["moved_metrics"]) == ("false", "")
