"""Migrations: the newest revision is exactly the models, migrating again changes nothing, and
revisions 0002 (reviewer judgement) and 0003 (report stability) upgrade a store holding data and
downgrade cleanly."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from _kit import database_url
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import grader.store
from grader.store import (
    Base,
    Database,
    Decision,
    accept_submission,
    create_invite,
    create_reviewer,
    current_revision,
    get_submission,
    head_revision,
    manual_scores,
    migrate,
    record_decision,
    record_manual_score,
)


def test_migrations_match_the_models(db) -> None:
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert current_revision(db) == head_revision()


def test_migrating_again_and_concurrently_is_harmless(db) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert current_revision(db) == head_revision()


def test_public_names() -> None:
    assert set(grader.store.__all__) == {
        name for name in dir(grader.store) if not name.startswith("_")
        and name not in ("annotations",) and not _is_module(name)}


def _is_module(name: str) -> bool:
    import types

    return isinstance(getattr(grader.store, name), types.ModuleType)


def _to_revision(db, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    from grader.store._migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.connect().execution_options(grader_immediate=True) as connection, \
            connection.begin():
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path):
    database = Database(database_url(request.param, tmp_path))
    yield database
    database.dispose()


def test_revision_0002_adds_judgement_beside_existing_data(empty_db) -> None:
    _to_revision(empty_db, "0001")
    with empty_db.write() as session:
        reviewer = create_reviewer(session, "old@example.com", "a long enough password")
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="x",
                                  allowance=3, valid_for=timedelta(days=1), created_by="test")
        reviewer_id, invite_id = reviewer.id, invite.id
    submission = accept_submission(empty_db, invite_id=invite_id, sha256="0" * 64, size_bytes=1,
                                   files_dir="old")
    assert current_revision(empty_db) == "0001"
    assert "manual_scores" not in inspect(empty_db.engine).get_table_names()

    _to_revision(empty_db, "0002")
    assert current_revision(empty_db) == "0002"
    assert {"manual_scores", "manual_reveals", "review_notes", "decisions"} <= set(
        inspect(empty_db.engine).get_table_names())
    record_manual_score(empty_db, submission_id=submission.id, reviewer_id=reviewer_id,
                        item_id="readme", points=2.0, item_ids=["readme"])
    record_decision(empty_db, submission_id=submission.id, reviewer_id=reviewer_id,
                    decision=Decision.HOLD)
    with empty_db.read() as session:
        assert [s.points for s in manual_scores(session, submission.id)] == [2.0]
        assert get_submission(session, submission.id).files_dir == "old"

    _to_revision(empty_db, "0001", down=True)
    tables = set(inspect(empty_db.engine).get_table_names())
    assert not tables & {"manual_scores", "manual_reveals", "review_notes", "decisions"}
    assert {"submissions", "reviewers"} <= tables
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_revision_0003_adds_report_stability_beside_stored_reports(empty_db) -> None:
    from sqlalchemy import text

    _to_revision(empty_db, "0002")
    with empty_db.write() as session:
        invite, _ = create_invite(session, assignment_id="starter", cohort="c", label="x",
                                  allowance=3, valid_for=timedelta(days=1), created_by="test")
        invite_id = invite.id
    submission = accept_submission(empty_db, invite_id=invite_id, sha256="0" * 64, size_bytes=1,
                                   files_dir="old")
    with empty_db.write() as session:
        job_id = session.execute(text("SELECT id FROM jobs")).scalar_one()
        session.execute(text(
            "INSERT INTO reports (submission_id, job_id, status, total, metrics, body, "
            "created_at) VALUES (:s, :j, 'graded', 1.0, '{}', '{}', CURRENT_TIMESTAMP)"),
            {"s": submission.id, "j": job_id})
    assert "stability" not in {c["name"] for c in inspect(empty_db.engine).get_columns("reports")}

    migrate(empty_db)
    assert current_revision(empty_db) == head_revision() == "0003"
    with empty_db.read() as session:
        assert session.execute(text("SELECT total, stability FROM reports")).one() == (1.0, None)

    _to_revision(empty_db, "0002", down=True)
    assert "stability" not in {c["name"] for c in inspect(empty_db.engine).get_columns("reports")}
    with empty_db.read() as session:
        assert session.execute(text("SELECT total FROM reports")).scalar_one() == 1.0
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
