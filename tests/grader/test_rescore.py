"""Re-scoring stored reports on an assignment's current rubric and anchors: the table of what moved
(old total, new total, why), nothing written without --apply, everything the table re-placed
written with it; a new version re-places a report only when its baselines score the same now.
In process: the blank template's assignment, the pipeline's report step on a finished grading (no
containers), the store over SQLite in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.anchors import anchors_for, measure_missing
from grader.cli import app
from grader.pipeline import _Grading
from grader.report import Report, TestCaseResult
from grader.settings import Settings, get_settings
from grader.spec import Assignment, Baseline, load_assignment
from grader.stability import RescoreState, rescore_assignment, rescore_report
from grader.store import (
    Database,
    accept_submission,
    claim_job,
    complete_job,
    create_invite,
    get_submission,
    latest_report,
    migrate,
)
from sandbox import Limits

SECRET = "0123456789abcdef" * 4
DIGEST = "sha256:" + "ab" * 32
KEY = "quality.accuracy"
# The blank template: accuracy (70) between constant (0%) and reference (100%), recorded at 0.6
# and 1.0, and behaviour tests (30). Measured on the instance here: 0.4 and 0.8.
MEASURED = {"constant": {KEY: 0.4}, "reference": {KEY: 0.8}}


@dataclass
class World:
    settings: Settings
    folder: Path
    db: Database
    invite_id: int

    @property
    def assignment(self) -> Assignment:
        return load_assignment(self.folder, ceiling=Limits())

    def report(self, accuracy: float, *, measured: bool = False, passed: int = 2) -> Report:
        """The pipeline's report step on a finished grading: this accuracy, ``passed`` of 2
        behaviour tests."""
        anchors = (anchors_for(self.settings, self.assignment, self.folder, DIGEST)
                   if measured or not self.settings.demo else None)
        grading = _Grading(self.assignment, self.folder,
                           self.settings.assignment_instance(self.assignment, self.folder),
                           self.folder, "runner", Limits(), lambda _m: None, anchors)
        grading.ledger.metrics = {KEY: accuracy}
        grading.ledger.tests = [TestCaseResult(suite="behaviour", name=f"t{i}",
                                        outcome="passed" if i < passed else "failed",
                                        duration_seconds=0.0, message="") for i in range(2)]
        return grading.report(DIGEST, "f" * 64)

    def store(self, report: Report) -> int:
        submission = accept_submission(self.db, invite_id=self.invite_id, sha256="f" * 64,
                                       size_bytes=1, files_dir=f"s{report.total}-{id(report)}")
        claim = claim_job(self.db, worker="t", lease_seconds=60, max_attempts=3)
        assert claim is not None and claim.submission_id == submission.id
        assert complete_job(self.db, claim, report)
        return submission.id

    def stored(self, submission_id: int) -> tuple[Report, float | None]:
        with self.db.read() as session:
            report = latest_report(session, submission_id)
            submission = get_submission(session, submission_id)
        assert report is not None and submission is not None
        return report, submission.total

    def measure(self) -> None:
        def grade(baseline: Baseline):
            return MEASURED[baseline.name]
        assert measure_missing(self.settings, self.assignment, self.folder, grade=grade,
                               image_digest=DIGEST).complete

    def edit(self, old: str, new: str) -> None:
        spec = self.folder / "assignment.yaml"
        text = spec.read_text()
        assert old in text
        spec.write_text(text.replace(old, new))


def _world(tmp_path: Path, **settings) -> Iterator[World]:
    from grader.authoring import new_assignment

    root = tmp_path / "assignments"
    folder = new_assignment(root, "starter")
    made = Settings(data_dir=tmp_path / "data", assignments_dir=root, **settings)
    db = Database(made.resolved_database_url())
    migrate(db)
    with db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="Ada",
                                  allowance=10, valid_for=timedelta(days=1), created_by="t")
        invite_id = invite.id
    yield World(made, folder, db, invite_id)
    db.dispose()


@pytest.fixture
def private(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, instance_secret=SECRET)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, demo=True)


def _rescore(world: World, *, apply: bool = False):
    return rescore_assignment(settings=world.settings, db=world.db, assignment=world.assignment,
                              folder=world.folder, apply=apply)


def test_the_table_lists_old_and_new_totals_with_reasons_and_apply_writes_them(
        private: World) -> None:
    # Graded before this instance's anchors were measured: provisional, on the recorded ones.
    weak, strong = private.store(private.report(0.7)), private.store(private.report(0.9))
    before = {s: private.stored(s)[0].total for s in (weak, strong)}
    private.measure()
    expected = {weak: private.report(0.7, measured=True).total,
                strong: private.report(0.9, measured=True).total}
    assert expected != before

    planned = _rescore(private)
    assert not planned.applied and planned.written == 0
    rows = {row.submission_id: row for row in planned.rows}
    for submission in (weak, strong):
        row = rows[submission]
        assert row.state == RescoreState.MOVED and row.label == "Ada" and row.latest
        assert (row.old_total, row.new_total) == (before[submission], expected[submission])
        assert row.why.startswith("placed on this instance's measured anchors; ")
        [change] = [c for c in row.changes if c.id == "accuracy"]
        assert f"Accuracy on hidden texts {change.new - change.old:+.2f}" in row.why  # type: ignore[operator]
    # A dry run writes nothing.
    assert {s: private.stored(s)[0].total for s in (weak, strong)} == before

    applied = _rescore(private, apply=True)
    assert applied.applied and applied.written == 2
    for submission in (weak, strong):
        report, total = private.stored(submission)
        assert report.total == total == expected[submission]
        assert report.anchors is not None and report.anchors.source == "instance"
        assert not report.anchors.provisional
    again = _rescore(private)
    assert [row.state for row in again.rows] == [RescoreState.UNCHANGED] * 2
    assert all(row.why == "no component moved" for row in again.rows)


def test_a_new_version_is_re_placed_only_when_its_baselines_score_the_same(demo: World) -> None:
    # Half the accuracy scale, half the behaviour tests (scaled by that quality fraction).
    submission = demo.store(demo.report(0.8, passed=1))
    old_total = demo.stored(submission)[0].total
    # Version 0.2.0 weighs accuracy more; the baselines' recorded scores are unchanged.
    demo.edit('version: "0.1.0"', 'version: "0.2.0"')
    demo.edit("weight: 70", "weight: 80")
    demo.edit("weight: 30", "weight: 20")
    [row] = _rescore(demo).rows
    assert row.state == RescoreState.MOVED and row.assignment_version == "0.1.0"
    assert row.old_total == old_total
    assert row.new_total == demo.report(0.8, passed=1).total != old_total
    assert row.why.startswith("content changed (version 0.1.0 → 0.2.0), its metrics hold: the "
                              "baselines score the same (2 values compared); ")
    assert "Accuracy on hidden texts" in row.why and "Hidden behaviour tests" in row.why

    # A baseline that scores otherwise now: the evaluation changed, only a re-grade can tell.
    demo.edit("scores: {quality.accuracy: 0.6}", "scores: {quality.accuracy: 0.5}")
    [row] = _rescore(demo, apply=True).rows
    assert row.state == RescoreState.NEEDS_REGRADE and row.new_total is None
    assert row.why == ("content changed: needs a re-grade (version 0.1.0 → 0.2.0; its baselines "
                       "score otherwise now: constant quality.accuracy 0.6 → 0.5)")
    assert demo.stored(submission) == (demo.stored(submission)[0], old_total)
    assert demo.stored(submission)[0].total == old_total


def test_reports_that_cannot_be_placed_here_are_left_alone(private: World) -> None:
    private.measure()
    placed = private.report(0.7)  # on this instance's measured anchors
    assert placed.anchors is not None and not placed.anchors.provisional
    # Its anchors gone (or another runner image's): never moved back onto provisional ones.
    kept = rescore_report(placed, private.assignment,
                          assignment_sha256=placed.reproduction.assignment_sha256, anchors=None)
    assert kept.state == RescoreState.NOT_PLACED and kept.report is None
    assert "not all measured yet" in kept.why
    # Another instance's report.
    other = placed.model_copy(update={"reproduction": placed.reproduction.model_copy(
        update={"instance_id": "elsewhere"})})
    private.store(other)
    [row] = _rescore(private).rows
    assert row.state == RescoreState.NOT_PLACED
    assert row.why.startswith("graded on instance elsewhere")


def test_the_command_prints_the_table_and_writes_only_with_apply(
        demo: World, monkeypatch: pytest.MonkeyPatch) -> None:
    submission = demo.store(demo.report(0.8, passed=1))
    old_total = demo.stored(submission)[0].total
    demo.edit('version: "0.1.0"', 'version: "0.2.0"')
    demo.edit("weight: 70", "weight: 80")
    demo.edit("weight: 30", "weight: 20")
    monkeypatch.chdir(demo.settings.data_dir)  # no .env
    for key, value in {"GRADER_DATA_DIR": str(demo.settings.data_dir),
                       "GRADER_ASSIGNMENTS_DIR": str(demo.settings.assignments_dir),
                       "GRADER_DEMO": "true"}.items():
        monkeypatch.setenv(key, value)

    def grader(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args))
        finally:
            get_settings.cache_clear()

    shown = grader("assignment", "rescore", "starter")
    assert shown.exit_code == 0, shown.output
    assert "old total" in shown.output and "new total" in shown.output and "Ada" in shown.output
    assert "1 graded report(s) of starter: 1 moved, 0 unchanged" in shown.output
    assert "nothing written" in shown.output
    assert demo.stored(submission)[1] == old_total

    printed = json.loads(grader("assignment", "rescore", "starter", "--json").stdout)
    [row] = printed["rows"]
    assert (row["old_total"], row["state"]) == (old_total, "moved")
    new_total = row["new_total"]
    assert new_total != old_total and printed["applied"] is False

    written = grader("assignment", "rescore", "starter", "--apply")
    assert written.exit_code == 0 and "written: 1 report(s)" in written.output
    assert demo.stored(submission)[1] == new_total == demo.stored(submission)[0].total
    unknown = grader("assignment", "rescore", "nope")
    assert unknown.exit_code == 1
