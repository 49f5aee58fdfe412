"""A site over a temporary SQLite store, in process, holding what makes the report page hard to
lay out: a hidden test whose message is a long pytest repr, a build that raised (its container
ended "ok"), baselines a hair apart on the metric's axis, and a manual rubric. Reports are stored
as a worker stores them; no grading runs. Shared by the page tests (TestClient) and the browser
tests (the same app under uvicorn)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from grader.authoring import new_assignment
from grader.environment_fit import EnvironmentFit, ImportSite, RequirementLine, UnavailableImport
from grader.hidden import TestCaseResult
from grader.outcomes import CodeFrame
from grader.preflight import PreflightCheck, PreflightResult
from grader.report import MetricResult, PhaseResult, Report, ReportStatus, Reproduction
from grader.scoring import ComponentScore
from grader.settings import Settings
from grader.store import (
    accept_submission,
    claim_job,
    complete_job,
    create_reviewer,
    invite_candidate,
)
from grader.web import create_app
from support.web import MANUAL_RUBRIC

ASSIGNMENT = "starter"
EMAIL, PASSWORD = "reviewer@example.com", "a long enough password"
LONG_REPR = ("AssertionError: assert <generator object predict_batches.<locals>.gen at "
             "0x7f3a9c2b1d80> == [" + ",".join(f"'label_{i}'" for i in range(60)) + "]")
LONG_TEST = "test_predictions_are_stable_across_batch_sizes[" + "-".join(["batch"] * 12) + "]"
RAISED = "train() raised ValueError: could not convert string to float: 'n/a'"
# Three baselines within 1% of the axis of each other: their labels used to overprint.
BASELINES = {"majority": 0.501, "keyword rules": 0.503, "tf-idf + logistic": 0.505,
             "reference": 0.92}
SOLUTION = "def train(train_path, work_dir):\n    raise ValueError('n/a')\n"
# An import the environment lacks and a requirements.txt that differs: the candidate's section.
ENVIRONMENT = EnvironmentFit(
    missing_imports=[UnavailableImport(module="lightgbm", optional=False,
                                       used_in=[ImportSite(path="solution.py", line=1)])],
    requirements=[RequirementLine(line=1, text="lightgbm==4.5.0", status="missing",
                                  installed=None),
                  RequirementLine(line=2, text="numpy==1.26.4", status="differs",
                                  installed="2.4.6")],
    message="Your code imports lightgbm, which this environment does not provide: the import "
            "fails when the grader runs it. 2 line(s) of your requirements.txt differ from the "
            "environment (listed below); nothing is installed from it.")

# The pre-flight's answer (a POST's page, so not seeded in the store): check.py failing, with
# its output and frames, and the same environment section.
PREFLIGHT = PreflightResult(
    status="failed", message="Your code failed the pre-flight check: check.py failed. "
                             + ENVIRONMENT.message,
    checks=[PreflightCheck(name="build", outcome="passed", detail="train() ran to its end"),
            PreflightCheck(name="serve", outcome="passed", detail="load() ran to its end"),
            PreflightCheck(name="check.py", outcome="failed",
                           detail="check.py exited with status 1",
                           output=["Traceback (most recent call last):",
                                   "AssertionError: predict() returned 3 labels for 4 rows"],
                           frames=[CodeFrame(file="solution.py", line=12,
                                             function="predict")])],
    environment=ENVIRONMENT, wall_seconds=11.4)


@dataclass(frozen=True)
class Seeded:
    token: str            # the candidate's invite
    submission: int       # the report with everything above
    other: int            # a second candidate's, for the cohort's histogram


def graded_report(total: float, *, metric: float) -> Report:
    """A graded report of the starter on the demo instance, with a phase that raised."""
    return Report(
        status=ReportStatus.GRADED, message=f"Graded: {total:.1f} / 100. {RAISED}.",
        assignment_title="Starter", total=total,
        components=[ComponentScore(id="accuracy", title="Accuracy on hidden texts", weight=70,
                                   points=total * 0.7, fraction=total / 100,
                                   reason="0.52 between the majority baseline and the reference")],
        metrics=[MetricResult(name="accuracy.accuracy", value=metric, higher_is_better=True,
                              baselines=BASELINES)],
        hidden_tests=[
            TestCaseResult(suite="behaviour", name=LONG_TEST, outcome="failed",
                           duration_seconds=0.012, message=LONG_REPR),
            TestCaseResult(suite="behaviour", name="test_returns_one_label_per_text",
                           outcome="passed", duration_seconds=0.004, message="")],
        phases=[PhaseResult(name="build", outcome="ok", message=RAISED, wall_seconds=1.2,
                            cpu_seconds=0.9, peak_memory_bytes=50 << 20, work_bytes=0,
                            log="Traceback (most recent call last):\n  File \"solution.py\", "
                                "line 2, in train\nValueError: could not convert string to "
                                "float: 'n/a'\n"),
                PhaseResult(name="serve", outcome="ok", message="finished", wall_seconds=0.4,
                            cpu_seconds=0.3, peak_memory_bytes=40 << 20)],
        environment=ENVIRONMENT,
        reproduction=Reproduction(
            runner_image="grader-runner:test", runner_image_digest="sha256:" + "ab" * 32,
            assignment_id=ASSIGNMENT, assignment_version="1", assignment_sha256="cd" * 32,
            submission_sha256="ef" * 32, instance_id="demo", demo=True,
            public_data_sha256="12" * 32, seeds={"data": 1},
            limits={"build": {"cpus": 2, "memory": "2g", "timeout": 600}}))


def _store(app: FastAPI, invite_id: int, report: Report) -> int:
    service = app.state.service
    files_dir = hashlib.sha256(SOLUTION.encode() + bytes([invite_id])).hexdigest()[:16]
    (service.submissions_root / files_dir).mkdir(parents=True)
    (service.submissions_root / files_dir / "solution.py").write_text(SOLUTION)
    submission = accept_submission(service.db, invite_id=invite_id, sha256="0" * 64,
                                   size_bytes=len(SOLUTION), files_dir=files_dir)
    claim = claim_job(service.db, worker="test", lease_seconds=60,
                      max_attempts=service.settings.max_attempts)
    assert claim is not None and claim.submission_id == submission.id
    assert complete_job(service.db, claim, report)
    return submission.id


def app_for(root: Path) -> FastAPI:
    """The app over a store and the starter assignment under ``root``; run it inside a
    TestClient (or uvicorn) so its startup migrates the schema before ``seed``."""
    assignments = root / "assignments"
    new_assignment(assignments, ASSIGNMENT)
    with (assignments / ASSIGNMENT / "assignment.yaml").open("a") as spec:
        spec.write(MANUAL_RUBRIC)
    return create_app(Settings(data_dir=root / "data", assignments_dir=assignments, demo=True,
                               database_url=f"sqlite:///{root / 'grader.db'}"))


def add_graded(app: FastAPI, label: str, report: Report) -> int:
    """Another candidate of the cohort, graded with ``report``: their submission's id."""
    invite, _ = invite_candidate(app.state.service.db, assignment_id=ASSIGNMENT,
                                 max_submissions=3, cohort="spring", label=label,
                                 allowance=None, valid_days=1, created_by=EMAIL)
    return _store(app, invite.id, report)


def seed(app: FastAPI) -> Seeded:
    """The reviewer, two candidates and their graded reports."""
    db = app.state.service.db
    with db.write() as session:
        create_reviewer(session, EMAIL, PASSWORD)
    invite, token = invite_candidate(db, assignment_id=ASSIGNMENT, max_submissions=3,
                                     cohort="spring", label="Ada", allowance=None,
                                     valid_days=1, created_by=EMAIL)
    other, _ = invite_candidate(db, assignment_id=ASSIGNMENT, max_submissions=3,
                                cohort="spring", label="Grace", allowance=None, valid_days=1,
                                created_by=EMAIL)
    return Seeded(token, _store(app, invite.id, graded_report(36.4, metric=0.52)),
                  _store(app, other.id, graded_report(71.0, metric=0.81)))
