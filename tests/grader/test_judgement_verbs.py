"""The judgement verbs (grader.judgement) in process, on a real migrated store: their refusals as
domain exceptions, the blind rule, agreement and combined points as each reviewer sees them, and
how a graded report tells code that failed from code that ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import judgement
from grader.authoring import new_assignment
from grader.judgement import (
    EmptyNote,
    LevelNotOffered,
    RubricUnreadable,
    UnknownAssignment,
    UnknownItem,
    UnknownSubmission,
)
from grader.outcomes import CodeFailure, FailureKind
from grader.report import Report, ReportStatus, Reproduction
from grader.spec import Assignment, load_assignment
from grader.store import (
    Database,
    Decision,
    accept_submission,
    create_reviewer,
    invite_candidate,
    migrate,
)
from sandbox import Limits

RUBRIC = """
manual_rubric:
  - id: readme
    title: README explains trade-offs
    levels:
      - {points: 0, description: None}
      - {points: 2, description: Names what was tried}
      - {points: 4, description: Weighs accuracy against cost}
  - id: structure
    title: Code is structured
    levels:
      - {points: 0, description: One long script}
      - {points: 3, description: Modules with tests}
"""


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Assignment:
    root = tmp_path_factory.mktemp("assignments")
    folder = new_assignment(root, "starter")
    with (folder / "assignment.yaml").open("a") as spec:
        spec.write(RUBRIC)
    return load_assignment(folder, ceiling=Limits())


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def reviewers(db: Database) -> tuple[int, int]:
    with db.write() as session:
        first, second = (create_reviewer(session, f"r{n}@example.com", "a long enough password")
                         for n in range(2))
        return first.id, second.id


@pytest.fixture
def submission(db: Database) -> int:
    invite, _ = invite_candidate(db, assignment_id="starter", max_submissions=3, cohort="c",
                                 label="Ada", allowance=None, valid_days=1, created_by="test")
    return accept_submission(db, invite_id=invite.id, sha256="0" * 64, size_bytes=1,
                             files_dir="s1").id


def _score(db: Database, starter: Assignment, viewer: int, submission: int, item: str,
           points: float) -> judgement.JudgementPublic:
    return judgement.score_item(db, lambda _id: starter, viewer_id=viewer,
                                submission_id=submission, item_id=item, points=points)


def test_refusals_are_domain_errors_and_write_nothing(db: Database, starter: Assignment,
                                                      reviewers, submission: int) -> None:
    first, _ = reviewers
    with pytest.raises(UnknownItem, match="no manual rubric item 'teamwork'; declared: readme, "
                                          "structure"):
        _score(db, starter, first, submission, "teamwork", 2)
    with pytest.raises(LevelNotOffered, match="3 is not a level of 'readme'; it offers 0, 2, 4"):
        _score(db, starter, first, submission, "readme", 3)
    with pytest.raises(UnknownSubmission, match="no submission 999"):
        _score(db, starter, first, 999, "readme", 2)
    with pytest.raises(RubricUnreadable, match="spec cannot be read"):
        judgement.score_item(db, lambda _id: None, viewer_id=first, submission_id=submission,
                             item_id="readme", points=2)
    with pytest.raises(EmptyNote):
        judgement.add_note(db, lambda _id: starter, viewer_id=first, submission_id=submission,
                           body="  \n ")
    for verb in (judgement.reveal, judgement.add_note, judgement.decide):
        extra = {"add_note": {"body": "x"}, "decide": {"decision": Decision.HOLD}}
        with pytest.raises(UnknownSubmission):
            verb(db, lambda _id: starter, viewer_id=first, submission_id=999,
                 **extra.get(verb.__name__, {}))
    seen = judgement.submission_judgement(db, lambda _id: starter, viewer_id=first,
                                          submission_id=submission)
    assert seen.scores == [] and seen.notes == [] and seen.decision is None


def test_blind_until_every_item_is_scored_then_agreement_and_combined_points(
        db: Database, starter: Assignment, reviewers, submission: int) -> None:
    first, second = reviewers
    _score(db, starter, second, submission, "readme", 4)
    _score(db, starter, second, submission, "structure", 3)  # second has scored all: revealed
    mine = _score(db, starter, first, submission, "readme", 2)
    assert not mine.revealed and mine.other_reviewers == 1
    assert [(s.item_id, s.points) for s in mine.scores] == [("readme", 2)]
    assert mine.points.manual == 2 and mine.points.combined is None and mine.agreement is None

    done = _score(db, starter, first, submission, "structure", 3)
    assert done.revealed and done.revealed_reason == "completed"
    assert done.points.manual == pytest.approx(3 + 3)  # readme (2 + 4) / 2, structure 3
    assert done.points.manual_max == 7 and done.points.combined_max == 107
    assert done.points.combined is None  # not graded: no automatic total to add to
    assert done.agreement is not None and done.agreement.items_compared == 2
    assert done.agreement.exact_share == 0.5 and done.agreement.mean_abs_diff == 1.0
    assert done.agreement.all_blind

    changed = _score(db, starter, first, submission, "readme", 4)  # after seeing the others'
    [readme] = [s for s in changed.scores if s.mine and s.item_id == "readme"]
    assert not readme.blind and readme.blind_points == 2
    assert changed.agreement.exact_share == 1.0 and not changed.agreement.all_blind


def test_an_assignment_is_known_when_offered_or_invited_to(db: Database, submission: int
                                                            ) -> None:
    with db.read() as session:
        judgement.require_assignment(session, "starter", offered=False)  # invited to
        judgement.require_assignment(session, "brand_new", offered=True)  # nobody invited yet
        with pytest.raises(UnknownAssignment, match="'nowhere'"):
            judgement.require_assignment(session, "nowhere", offered=False)


def _report(failure: CodeFailure | None) -> Report:
    return Report(
        status=ReportStatus.GRADED, message="Graded: 0.0 / 100.", assignment_title="Starter",
        total=0.0, components=[], metrics=[], hidden_tests=[], phases=[], failure=failure,
        reproduction=Reproduction(
            runner_image="runner:test", runner_image_digest=None, assignment_id="starter",
            assignment_version="1", assignment_sha256="0" * 64, submission_sha256=None,
            instance_id="demo", demo=True, public_data_sha256=None, seeds={}, limits={}))


def test_code_failure_is_the_reports_failure_in_a_sentence() -> None:
    crashed = CodeFailure(kind=FailureKind.EXCEPTION, phase="build",
                          summary="Your code raised ImportError while importing solution.py.")
    assert judgement.code_failure(_report(crashed)) == crashed.summary
    assert judgement.code_failure(_report(None)) is None  # ran, however weak its results
    assert judgement.code_failure(None) is None
