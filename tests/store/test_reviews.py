"""Reviewer judgement in the store, on each backend: scores and who saw whose, notes, decisions,
and the cohort roll-up the CSV export reads."""

from __future__ import annotations

import threading

import pytest

from grader.store import (
    Database,
    Decision,
    RevealReason,
    ReviewRefused,
    accept_submission,
    add_review_note,
    cohort_judgements,
    create_reviewer,
    decisions,
    latest_submissions,
    manual_reveals,
    manual_scores,
    record_decision,
    record_manual_score,
    reveal_manual_scores,
    review_notes,
)

ITEMS = ("readme", "structure")


@pytest.fixture
def reviewers(db: Database) -> list[int]:
    with db.write() as session:
        return [create_reviewer(session, f"r{n}@example.com", "a long enough password").id
                for n in range(2)]


@pytest.fixture
def submission(db: Database, invite) -> int:
    return accept_submission(db, invite_id=invite(), sha256="0" * 64, size_bytes=1,
                             files_dir="s1").id


def _score(db: Database, submission: int, reviewer: int, item: str, points: float) -> None:
    record_manual_score(db, submission_id=submission, reviewer_id=reviewer, item_id=item,
                        points=points, item_ids=ITEMS)


def test_scoring_every_item_reveals_and_later_changes_keep_the_blind_points(
        db: Database, reviewers: list[int], submission: int) -> None:
    first, second = reviewers
    _score(db, submission, first, "readme", 2)
    _score(db, submission, first, "readme", 4)  # changed while still blind
    with db.read() as session:
        assert manual_reveals(session, submission) == {}
    _score(db, submission, first, "structure", 1)
    _score(db, submission, first, "readme", 0)  # changed after the reveal
    _score(db, submission, second, "readme", 2)
    with db.read() as session:
        reveals = manual_reveals(session, submission)
        scores = {(s.reviewer_id, s.item_id): s for s in manual_scores(session, submission)}
    assert set(reveals) == {first} and reveals[first].reason == RevealReason.COMPLETED
    readme = scores[(first, "readme")]
    assert (readme.points, readme.blind_points) == (0, 4)
    assert readme.updated_at >= readme.created_at and readme.reviewer.email == "r0@example.com"
    assert scores[(first, "structure")].blind_points == 1
    assert scores[(second, "readme")].blind_points == 2


def test_asking_to_reveal_is_recorded_once_and_later_scores_are_not_blind(
        db: Database, reviewers: list[int], submission: int) -> None:
    first, _ = reviewers
    assert reveal_manual_scores(db, submission_id=submission, reviewer_id=first) is True
    assert reveal_manual_scores(db, submission_id=submission, reviewer_id=first) is False
    _score(db, submission, first, "readme", 2)
    with db.read() as session:
        assert manual_reveals(session, submission)[first].reason == RevealReason.REQUESTED
        [score] = manual_scores(session, submission)
    assert score.blind_points is None


def test_racing_scores_record_one_row_per_item_and_one_reveal(
        db: Database, reviewers: list[int], submission: int) -> None:
    first, _ = reviewers
    errors: list[BaseException] = []

    def run(item: str, points: float) -> None:
        try:
            _score(db, submission, first, item, points)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item, float(n)))
               for n in range(4) for item in ITEMS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as session:
        assert sorted(s.item_id for s in manual_scores(session, submission)) == list(ITEMS)
        assert list(manual_reveals(session, submission)) == [first]


def test_notes_and_decisions_keep_their_history(db: Database, reviewers: list[int],
                                                submission: int) -> None:
    first, second = reviewers
    add_review_note(db, submission_id=submission, reviewer_id=first, body="one")
    add_review_note(db, submission_id=submission, reviewer_id=second, body="two")
    record_decision(db, submission_id=submission, reviewer_id=first, decision=Decision.ADVANCE)
    record_decision(db, submission_id=submission, reviewer_id=second, decision=Decision.REJECT)
    with db.read() as session:
        assert [(n.body, n.reviewer.email) for n in review_notes(session, submission)] == [
            ("one", "r0@example.com"), ("two", "r1@example.com")]
        assert [d.decision for d in decisions(session, submission)] == ["reject", "advance"]
    for write in (lambda: add_review_note(db, submission_id=10**9, reviewer_id=first, body="x"),
                  lambda: record_decision(db, submission_id=10**9, reviewer_id=first,
                                          decision=Decision.HOLD),
                  lambda: reveal_manual_scores(db, submission_id=10**9, reviewer_id=first),
                  lambda: _score(db, 10**9, first, "readme", 1)):
        with pytest.raises(ReviewRefused, match="no submission"):
            write()


def test_the_cohort_roll_up_and_each_invites_latest_submission(
        db: Database, reviewers: list[int], invite) -> None:
    first, second = reviewers
    one, other = invite(), invite()
    early = accept_submission(db, invite_id=one, sha256="1" * 64, size_bytes=1,
                              files_dir="early").id
    late = accept_submission(db, invite_id=one, sha256="2" * 64, size_bytes=1,
                             files_dir="late").id
    alone = accept_submission(db, invite_id=other, sha256="3" * 64, size_bytes=1,
                              files_dir="alone").id
    _score(db, late, first, "readme", 2)
    _score(db, late, second, "readme", 4)
    _score(db, late, second, "structure", 3)
    record_decision(db, submission_id=late, reviewer_id=first, decision=Decision.HOLD)
    record_decision(db, submission_id=late, reviewer_id=second, decision=Decision.ADVANCE)
    add_review_note(db, submission_id=alone, reviewer_id=first, body="x")
    with db.read() as session:
        rolled = cohort_judgements(session, "starter", "c")
        assert cohort_judgements(session, "starter", "other cohort") == {}
        assert cohort_judgements(session, "another_assignment") == {}
        latest = [s.id for s in latest_submissions(session, "starter", "c")]
        assert rolled[late].decision.decision == "advance"
        assert rolled[late].decision.reviewer.email == "r1@example.com"
    assert set(rolled) == {late, alone} and early not in rolled
    assert len(rolled[late].scores) == 3 and rolled[late].revealed == {second}
    assert (rolled[alone].notes, rolled[alone].decision, rolled[late].notes) == (1, None, 0)
    assert latest == [late, alone]
