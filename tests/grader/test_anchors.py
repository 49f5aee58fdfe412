"""Anchors measured on the instance: the state machine, the lock, provisional reports and their
re-scoring. A fake grade function stands in for the pipeline except in the one Docker test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

import sandbox
from grader.anchors import (
    PROVISIONAL_NOTE,
    AnchorsBusy,
    AnchorState,
    MeasureFailed,
    anchors_for,
    anchors_overview,
    anchors_path,
    measure_missing,
    measured_scores,
    rescored,
)
from grader.authoring import find_assignment, new_assignment
from grader.instance import folder_sha256, open_instance
from grader.jobs.grading import GradingRequest, grade_request
from grader.pipeline import _Grading
from grader.report import Report, TestCaseResult
from grader.settings import Settings
from grader.spec import Assignment, Baseline, load_assignment
from grader.store import (
    Database,
    accept_submission,
    claim_job,
    complete_job,
    create_invite,
    create_reviewer,
    get_submission,
    latest_report,
    migrate,
)
from grader.worker import WorkerPool, submissions_root
from sandbox import Limits

SECRET = "0123456789abcdef" * 4
DIGEST = "sha256:" + "ab" * 32
KEY = "quality.accuracy"
# The blank template's rubric: accuracy (70) between constant (0%) and reference (100%), and
# behaviour tests (30). Recorded: constant 0.6, reference 1.0.
MEASURED = {"constant": {KEY: 0.4}, "reference": {KEY: 0.8}}


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_assignment(tmp_path_factory.mktemp("assignments"), "starter")


@pytest.fixture
def assignment(scaffold: Path) -> Assignment:
    return load_assignment(scaffold, ceiling=Limits())


@pytest.fixture
def settings(tmp_path: Path, scaffold: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", assignments_dir=scaffold.parent,
                    instance_secret=SECRET)


class FakeGrade:
    """Grades a baseline instantly with MEASURED's scores, or fails the names in ``failing``."""

    def __init__(self, failing: Mapping[str, Exception] | None = None) -> None:
        self.calls: list[str] = []
        self.failing = dict(failing or {})

    def __call__(self, baseline: Baseline) -> Mapping[str, float]:
        self.calls.append(baseline.name)
        if baseline.name in self.failing:
            raise self.failing[baseline.name]
        return MEASURED[baseline.name]


def measure(settings: Settings, assignment: Assignment, folder: Path, grade: FakeGrade,
            **kwargs):
    return measure_missing(settings, assignment, folder, grade=grade, image_digest=DIGEST,
                           **kwargs)


def test_the_demo_instance_anchors_on_the_recorded_scores(tmp_path: Path, scaffold: Path,
                                                          assignment: Assignment) -> None:
    demo = Settings(data_dir=tmp_path, demo=True)
    grade = FakeGrade()
    anchors = measure(demo, assignment, scaffold, grade)
    assert grade.calls == []
    assert anchors.source == "recorded" and anchors.complete
    assert anchors.scores == {"constant": {KEY: 0.6}, "reference": {KEY: 1.0}}
    assert anchors_for(demo, assignment, scaffold, DIGEST) == anchors
    assert "demo" in anchors.summary()


def test_missing_anchors_are_measured_once_and_stored_per_key(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    before = anchors_for(settings, assignment, scaffold, DIGEST)
    assert not before.complete and before.source == "instance"
    assert {b.state for b in before.baselines.values()} == {AnchorState.QUEUED}
    assert "queued" in before.summary()

    grade, said = FakeGrade(), []
    anchors = measure(settings, assignment, scaffold, grade, progress=said.append)
    assert grade.calls == ["constant", "reference"]
    assert anchors.complete and anchors.scores == MEASURED
    assert all(b.started_at and b.finished_at for b in anchors.baselines.values())
    assert any("grading baseline reference" in line and "2 of 2" in line for line in said)
    path = anchors_path(settings, settings.instance().id, "starter", folder_sha256(scaffold),
                        DIGEST)
    assert path.is_file() and path.parent == (settings.data_dir / "instances"
                                              / settings.instance().id / "anchors")
    assert anchors_for(settings, assignment, scaffold, DIGEST) == anchors
    assert "measured on this instance" in anchors_overview(settings, assignment,
                                                           scaffold).summary()

    again = FakeGrade()
    assert measure(settings, assignment, scaffold, again) == anchors
    assert again.calls == []
    # Another runner image is another key: nothing measured for it yet.
    assert not anchors_for(settings, assignment, scaffold, "sha256:" + "cd" * 32).complete


def test_an_errored_baseline_says_why_and_is_retried_only_when_asked(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    grade = FakeGrade({"constant": MeasureFailed("no value for quality.accuracy: crashed")})
    anchors = measure(settings, assignment, scaffold, grade)
    assert grade.calls == ["constant", "reference"]
    assert not anchors.complete and anchors.scores == {"reference": MEASURED["reference"]}
    errored = anchors.baselines["constant"]
    assert errored.state == AnchorState.ERRORED and "crashed" in errored.reason
    assert "errored" in anchors.summary() and "constant: no value" in anchors.summary()

    quiet = FakeGrade()
    assert not measure(settings, assignment, scaffold, quiet).complete
    assert not measure(settings, assignment, scaffold, quiet, retry_errored_after=3600).complete
    assert quiet.calls == []
    # The background pass retries it once it errored long enough ago (an outage passes).
    later = FakeGrade({"constant": MeasureFailed("still broken")})
    assert not measure(settings, assignment, scaffold, later, retry_errored_after=0).complete
    assert later.calls == ["constant"]
    retried = FakeGrade()
    assert measure(settings, assignment, scaffold, retried, retry_errored=True).complete
    assert retried.calls == ["constant"]


def test_progress_is_visible_while_measuring_and_a_crash_leaves_it_to_measure_again(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    seen: list[str] = []

    class Crash(Exception):
        pass

    def grade(baseline: Baseline) -> Mapping[str, float]:
        seen.append(anchors_overview(settings, assignment, scaffold).summary())
        if baseline.name == "reference":
            raise Crash  # the process dies in the middle of a grading
        return MEASURED[baseline.name]

    with pytest.raises(Crash):
        measure_missing(settings, assignment, scaffold, grade=grade, image_digest=DIGEST)
    assert seen == ["measuring 1 of 2 (constant); reports are provisional until all are",
                    "measuring 2 of 2 (reference); reports are provisional until all are"]
    left = anchors_for(settings, assignment, scaffold, DIGEST)
    assert left.baselines["reference"].state == AnchorState.MEASURING
    # The lock went with the failure; the next pass measures what was left.
    grade_again = FakeGrade()
    assert measure(settings, assignment, scaffold, grade_again).complete
    assert grade_again.calls == ["reference"]


def test_a_held_lock_keeps_a_second_process_out_and_a_stale_one_is_taken_over(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    path = anchors_path(settings, settings.instance().id, "starter", folder_sha256(scaffold),
                        DIGEST)
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True)
    lock.write_text("otherhost 123 0\n")
    grade = FakeGrade()
    with pytest.raises(AnchorsBusy, match="another process"):
        measure(settings, assignment, scaffold, grade)
    assert grade.calls == []

    # Held by a process of this host that is gone (a killed server): taken over at once.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    lock.write_text(f"{socket.gethostname()} {gone} 0\n")
    assert measure(settings, assignment, scaffold, grade).complete
    assert not lock.exists()
    path.unlink()

    lock.write_text("otherhost 123 0\n")
    three_hours_ago = time.time() - 3 * 3600
    os.utime(lock, (three_hours_ago, three_hours_ago))
    assert measure(settings, assignment, scaffold, grade).complete
    assert not lock.exists()


def _graded(settings: Settings, assignment: Assignment, folder: Path, anchors,
            accuracy: float = 0.7) -> Report:
    """The pipeline's report step on a finished grading (no containers): the accuracy given,
    the behaviour suite 2 of 2."""
    grading = _Grading(assignment, folder, settings.assignment_instance(assignment, folder),
                       folder, "runner", Limits(), lambda _m: None, anchors)
    grading.ledger.metrics = {KEY: accuracy}
    grading.ledger.tests = [TestCaseResult(suite="behaviour", name=f"t{i}", outcome="passed",
                                    duration_seconds=0.0, message="") for i in range(2)]
    return grading.report(DIGEST, "f" * 64)


def test_a_report_before_its_anchors_is_provisional_and_is_re_scored_when_they_land(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    early = _graded(settings, assignment, scaffold,
                    anchors_for(settings, assignment, scaffold, DIGEST))
    assert early.anchors is not None and early.anchors.provisional
    assert early.anchors.source == "recorded"
    assert early.anchors.instance_id == settings.instance().id
    assert early.anchors.image_digest == DIGEST
    # Recorded: constant 0.6 .. reference 1.0, so 0.7 earns a quarter of 70, and the behaviour
    # tests (2 of 2) a quarter of 30: supporting points are scaled by the quality fraction.
    assert early.total == pytest.approx(70 * 0.25 + 30 * 0.25)
    assert early.message.endswith(PROVISIONAL_NOTE)
    assert early.metrics[0].baselines == {"constant": 0.6, "reference": 1.0}

    anchors = measure(settings, assignment, scaffold, FakeGrade())
    late = rescored(early, assignment, anchors)
    assert late is not None and late.anchors is not None
    assert late.anchors.source == "instance" and not late.anchors.provisional
    # Measured: constant 0.4 .. reference 0.8, so 0.7 earns three quarters of 70 (and of 30).
    assert late.total == pytest.approx(70 * 0.75 + 30 * 0.75)
    assert late.message == f"Graded: {late.total:.1f} / 100."
    assert late.metrics[0].baselines == {"constant": 0.4, "reference": 0.8}
    assert "between constant (0.400, 0%) and reference (0.800, 100%)" in (
        late.components[0].reason)
    # The tests component keeps its graded result and is scaled by the new quality fraction.
    assert (early.components[1].unscaled, late.components[1].unscaled) == (1.0, 1.0)
    assert late.components[1].reason == early.components[1].reason.replace(
        "0.250", "0.750").replace("become 25.0%", "become 75.0%")
    # Graded after they landed, the same submission scores the same and cites them.
    now = _graded(settings, assignment, scaffold,
                  anchors_for(settings, assignment, scaffold, DIGEST))
    assert now.anchors == late.anchors and now.total == late.total
    assert now.components == late.components
    # Not provisional any more: nothing to do; another image's report: only a re-grade helps.
    assert rescored(late, assignment, anchors) is None
    other = early.model_copy(update={"reproduction": early.reproduction.model_copy(
        update={"runner_image_digest": "sha256:" + "cd" * 32})})
    assert rescored(other, assignment, anchors) is None


def test_a_demo_report_is_never_provisional(tmp_path: Path, scaffold: Path,
                                            assignment: Assignment) -> None:
    demo = Settings(data_dir=tmp_path, demo=True)
    report = _graded(demo, assignment, scaffold, anchors_for(demo, assignment, scaffold, DIGEST))
    assert report.anchors is not None and not report.anchors.provisional
    assert report.anchors.source == "recorded" and report.anchors.instance_id == "demo"
    assert PROVISIONAL_NOTE not in report.message


def fake_child_grade(request: GradingRequest, settings: Settings) -> Report:
    """The pool test's grading function: a baseline scores MEASURED's accuracy."""
    assignment, folder = find_assignment(settings.assignments_dir, request.assignment_id,
                                         ceiling=settings.limits)
    assert request.baseline is not None, "only baselines are graded in this test"
    return _graded(settings, assignment, folder, None, MEASURED[request.baseline][KEY])


def test_the_worker_pool_measures_in_child_processes_and_re_scores_stored_reports(
        settings: Settings, scaffold: Path, assignment: Assignment,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])))
    monkeypatch.setattr("sandbox.image_digest", lambda _tag: DIGEST)
    db = Database(settings.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=10, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    submission = accept_submission(db, invite_id=invite_id, sha256="f" * 64, size_bytes=1,
                                   files_dir="s1")
    claim = claim_job(db, worker="t", lease_seconds=60, max_attempts=3)
    assert claim is not None and claim.submission_id == submission.id
    provisional = _graded(settings, assignment, scaffold,
                          anchors_for(settings, assignment, scaffold, DIGEST))
    assert complete_job(db, claim, provisional)

    pool = WorkerPool(settings, db, concurrency=1, grade=fake_child_grade, anchors=True)
    pool.measure_anchors_once()

    anchors = anchors_for(settings, assignment, scaffold, DIGEST)
    assert anchors.complete and anchors.scores == MEASURED
    with db.read() as session:
        stored = latest_report(session, submission.id)
        total = get_submission(session, submission.id).total  # type: ignore[union-attr]
    assert stored is not None and stored.anchors is not None
    assert stored.anchors.source == "instance" and not stored.anchors.provisional
    assert stored.total == total == pytest.approx(70 * 0.75 + 30 * 0.75)
    assert provisional.total == pytest.approx(70 * 0.25 + 30 * 0.25)
    db.dispose()


def racing_child_grade(request: GradingRequest, settings: Settings) -> Report:
    """The pool's grading function: a submission graded while its instance's anchors land, so
    it reads them incomplete (provisional) and they are complete before its report is stored."""
    assignment, folder = find_assignment(settings.assignments_dir, request.assignment_id,
                                         ceiling=settings.limits)
    early = anchors_for(settings, assignment, folder, DIGEST)
    assert measure(settings, assignment, folder, FakeGrade()).complete
    return _graded(settings, assignment, folder, early)


def test_a_report_stored_after_its_anchors_landed_is_placed_on_them(
        settings: Settings, scaffold: Path, assignment: Assignment,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep that follows the last anchor ran before this report was stored: storing it
    places it, or it would stay provisional for good."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])))
    db = Database(settings.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="",
                                  allowance=10, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    (submissions_root(settings) / "s1").mkdir(parents=True)
    submission = accept_submission(db, invite_id=invite_id, sha256="f" * 64, size_bytes=1,
                                   files_dir="s1")
    pool = WorkerPool(settings, db, concurrency=1, grade=racing_child_grade,
                      anchors=False).start()
    try:
        deadline = time.monotonic() + 60
        while _latest(db, submission.id) is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        pool.stop()  # joins the slot: what it does once the report is stored is done too
    stored = _latest(db, submission.id)
    assert stored is not None and stored.anchors is not None
    assert stored.anchors.source == "instance" and not stored.anchors.provisional
    assert stored.total == pytest.approx(70 * 0.75 + 30 * 0.75)
    db.dispose()


def _latest(db: Database, submission_id: int) -> Report | None:
    with db.read() as session:
        return latest_report(session, submission_id)


@pytest.mark.docker
def test_a_new_private_instance_measures_its_anchors_and_reports_cite_them(
        scaffold: Path, tmp_path: Path, runner_image: str) -> None:
    """The real thing: `grader assignment anchors` grades the scaffold's baselines in containers
    on a fresh private instance, and the worker's grading of a submission is placed on them."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GRADER_")},
           "GRADER_DATA_DIR": str(tmp_path / "data"),
           "GRADER_ASSIGNMENTS_DIR": str(scaffold.parent), "GRADER_RUNNER_IMAGE": runner_image}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "assignment", "anchors",
                           "starter", "--json"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["complete"] and printed["source"] == "instance"
    assert "grading baseline constant on instance" in done.stderr
    instance_id = open_instance(tmp_path / "data").id
    assert printed["instance_id"] == instance_id
    measured = {name: b["scores"] for name, b in printed["baselines"].items()}
    assert set(measured) == {"constant", "reference"}

    settings = Settings(data_dir=tmp_path / "data", assignments_dir=scaffold.parent,
                        runner_image=runner_image)
    request = GradingRequest(
        job_id=1, attempt=1, submission_id=1, assignment_id="starter",
        submission_dir=scaffold / "reference" / "solution", sha256="f" * 64,
        result_path=tmp_path / "outcome.json", settings={})
    report = grade_request(request, settings)
    assert report.anchors is not None
    assert report.anchors.source == "instance" and not report.anchors.provisional
    assert report.anchors.instance_id == instance_id == report.reproduction.instance_id
    assert report.anchors.image_digest == sandbox.image_digest(runner_image)
    assert report.metrics[0].baselines == {name: s[KEY] for name, s in measured.items()}
    assert PROVISIONAL_NOTE not in report.message


def test_reviewers_see_each_assignments_anchors_on_the_home_page(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    from fastapi.testclient import TestClient

    from grader.web import create_app

    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.service.db.write() as session:
            create_reviewer(session, "r@example.com", "a long enough password")
        response = client.post("/api/review/login", json={"email": "r@example.com",
                                                          "password": "a long enough password"})
        assert response.status_code == 200, response.text

        def home() -> str:
            page = client.get("/review")
            assert page.status_code == 200
            return page.text

        assert "Anchors: queued: 0 of 2 measured" in home()
        measure(settings, assignment, scaffold,
                FakeGrade({"reference": MeasureFailed("the build phase failed")}))
        assert "errored (1 of 2 measured; reports stay provisional): reference: the build" in (
            home())
        measure(settings, assignment, scaffold, FakeGrade(), retry_errored=True)
        assert "Anchors: measured on this instance (2 baselines" in home()


def test_a_baseline_without_values_errs_with_the_harness_reason(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    grading = _Grading(assignment, scaffold, settings.assignment_instance(assignment, scaffold),
                       scaffold, "runner", Limits(), lambda _m: None, None)
    grading.ledger.metrics = {KEY: None}
    grading.ledger.failures = {"quality": "the evaluation stopped: KeyError: 'label'"}
    with pytest.raises(MeasureFailed) as failed:
        measured_scores(assignment, grading.report(DIGEST, None))
    assert str(failed.value) == ("no value for quality.accuracy: the evaluation stopped: "
                                 "KeyError: 'label'")


def test_re_scoring_places_the_integrity_metric_findings_on_the_anchors_too(
        settings: Settings, scaffold: Path, assignment: Assignment) -> None:
    early = _graded(settings, assignment, scaffold,
                    anchors_for(settings, assignment, scaffold, DIGEST), accuracy=0.9)
    assert early.integrity is not None and early.integrity.checked
    assert early.integrity.metrics == []  # 0.9 is short of the recorded reference's 1.0
    late = rescored(early, assignment, measure(settings, assignment, scaffold, FakeGrade()))
    assert late is not None and late.integrity is not None
    # ... and 0.1 beyond this instance's reference (0.8).
    assert [(f.metric, f.kind) for f in late.integrity.metrics] == [(KEY, "beyond_reference")]
    assert late.integrity.flagged
