"""The integrations core against SQLite: callbacks queued link by link when a report is stored,
and an ATS's retried send answered with the candidate's open interview, never a second invite."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grader import deliveries, integrations
from grader.integrations import greenhouse
from grader.settings import Settings
from grader.store import (
    Database,
    Invite,
    accept_submission,
    ats_links_for_invite,
    create_api_token,
    create_ats_link,
    create_reviewer,
    list_deliveries,
    migrate,
)
from grader.tokens import Scope


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'grader.db'}")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _token(db: Database) -> tuple[int, int]:
    """A reviewer and a Greenhouse token of theirs: (reviewer id, token id)."""
    with db.write() as session:
        reviewer = create_reviewer(session, "lead@example.com", "a long enough password")
        token, _secret = create_api_token(session, reviewer_id=reviewer.id, name="greenhouse",
                                          scopes=[Scope.GREENHOUSE], expires_at=None)
        return reviewer.id, token.id


def _send(db: Database, settings: Settings, token_id: int, reviewer_id: int,
          callback_url: str | None = None) -> integrations.Sent:
    return integrations.send(
        db, settings, integration=greenhouse.NAME, assignment_id="starter", max_submissions=2,
        label="Ada Lovelace", candidate_ref="https://app.greenhouse.io/people/1",
        callback_url=callback_url, callback_authorization=None, token_id=token_id,
        reviewer_id=reviewer_id,
        created_by="lead@example.com (greenhouse)")


def test_a_refused_callback_does_not_cost_the_other_links_theirs(
        db: Database, settings: Settings) -> None:
    reviewer_id, token_id = _token(db)
    sent = _send(db, settings, token_id, reviewer_id, callback_url="https://ats.example/cb")
    with db.write() as session:
        # A second link on the same invite whose URL (stored before today's rules, say) is one
        # deliveries refuse.
        (link,) = ats_links_for_invite(session, sent.invite_id)
        create_ats_link(session, integration=greenhouse.NAME, invite=link.invite,
                        token_id=token_id, candidate_ref="other",
                        callback_url="ftp://ats.example/cb", callback_authorization=None,
                        candidate_url=None)
    submission = accept_submission(db, invite_id=sent.invite_id, sha256="0" * 64, size_bytes=1,
                                   files_dir="x")

    integrations.report_stored(db, settings, submission.id)

    with db.read() as session:
        queued = [(d.url, d.method) for d in list_deliveries(session)]
        reported = {link.callback_url: link.last_status
                    for link in ats_links_for_invite(session, sent.invite_id)}
    assert queued == [("https://ats.example/cb", "PATCH")]
    assert reported == {"https://ats.example/cb": "submitted", "ftp://ats.example/cb": None}


def test_concurrent_retries_of_one_send_make_one_invite(db: Database, settings: Settings) -> None:
    reviewer_id, token_id = _token(db)
    retries = 6
    start = threading.Barrier(retries)
    answers: list[integrations.Sent] = []

    def retry() -> None:
        start.wait()
        answers.append(_send(db, settings, token_id, reviewer_id))

    threads = [threading.Thread(target=retry) for _ in range(retries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == retries
    assert len({sent.interview_id for sent in answers}) == 1
    assert sorted(sent.reused for sent in answers) == [False] + [True] * (retries - 1)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Invite)) == 1


def test_a_callback_url_deliveries_refuse_is_refused_at_send(
        db: Database, settings: Settings) -> None:
    reviewer_id, token_id = _token(db)
    with pytest.raises(deliveries.DeliveryRefused, match="callback url"):
        _send(db, settings, token_id, reviewer_id, callback_url="ftp://ats.example/cb")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Invite)) == 0
