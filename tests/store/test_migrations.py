"""Migrations: the newest revision is exactly the models, migrating again changes nothing, and
revisions 0002 (reviewer judgement), 0003 (report stability) and 0004 (time-boxed invites) upgrade
a store holding data and downgrade cleanly.

A store at an older revision is seeded with SQL of that revision's shape: the models are always
the newest schema, so they cannot read or write an older one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from support.kit import database_url

import grader.store
from grader.store import (
    Base,
    Database,
    Decision,
    create_reviewer,
    create_webhook_endpoint,
    current_revision,
    enqueue_delivery,
    get_submission,
    head_revision,
    list_deliveries,
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


def _seed_submission(db) -> int:
    """An invite, its submission and a queued job, as revision 0001 stores them; the submission's
    id."""
    with db.write() as session:
        session.execute(text(
            "INSERT INTO invites (token_sha256, assignment_id, cohort, label, allowance, "
            "expires_at, created_at, created_by) VALUES ('t', 'starter', 'c', 'x', 3, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'test')"))
        session.execute(text(
            "INSERT INTO submissions (invite_id, assignment_id, cohort, sha256, size_bytes, "
            "files_dir, status, created_at) SELECT id, 'starter', 'c', :sha, 1, 'old', 'queued', "
            "CURRENT_TIMESTAMP FROM invites"), {"sha": "0" * 64})
        session.execute(text(
            "INSERT INTO jobs (submission_id, state, attempts, run_after, last_error, created_at) "
            "SELECT id, 'queued', 0, CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP FROM submissions"))
        return session.execute(text("SELECT id FROM submissions")).scalar_one()


def test_revision_0002_adds_judgement_beside_existing_data(empty_db) -> None:
    _to_revision(empty_db, "0001")
    with empty_db.write() as session:
        reviewer_id = create_reviewer(session, "old@example.com", "a long enough password").id
    submission_id = _seed_submission(empty_db)
    assert current_revision(empty_db) == "0001"
    assert "manual_scores" not in inspect(empty_db.engine).get_table_names()

    _to_revision(empty_db, "0002")
    assert current_revision(empty_db) == "0002"
    assert {"manual_scores", "manual_reveals", "review_notes", "decisions"} <= set(
        inspect(empty_db.engine).get_table_names())
    migrate(empty_db)
    record_manual_score(empty_db, submission_id=submission_id, reviewer_id=reviewer_id,
                        item_id="readme", points=2.0, item_ids=["readme"])
    record_decision(empty_db, submission_id=submission_id, reviewer_id=reviewer_id,
                    decision=Decision.HOLD)
    with empty_db.read() as session:
        assert [s.points for s in manual_scores(session, submission_id)] == [2.0]
        assert get_submission(session, submission_id).files_dir == "old"

    _to_revision(empty_db, "0001", down=True)
    tables = set(inspect(empty_db.engine).get_table_names())
    assert not tables & {"manual_scores", "manual_reveals", "review_notes", "decisions"}
    assert {"submissions", "reviewers"} <= tables
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_revision_0003_adds_report_stability_beside_stored_reports(empty_db) -> None:
    _to_revision(empty_db, "0002")
    submission_id = _seed_submission(empty_db)
    with empty_db.write() as session:
        job_id = session.execute(text("SELECT id FROM jobs")).scalar_one()
        session.execute(text(
            "INSERT INTO reports (submission_id, job_id, status, total, metrics, body, "
            "created_at) VALUES (:s, :j, 'graded', 1.0, '{}', '{}', CURRENT_TIMESTAMP)"),
            {"s": submission_id, "j": job_id})
    assert "stability" not in {c["name"] for c in inspect(empty_db.engine).get_columns("reports")}

    _to_revision(empty_db, "0003")
    with empty_db.read() as session:
        assert session.execute(text("SELECT total, stability FROM reports")).one() == (1.0, None)

    _to_revision(empty_db, "0002", down=True)
    assert "stability" not in {c["name"] for c in inspect(empty_db.engine).get_columns("reports")}
    with empty_db.read() as session:
        assert session.execute(text("SELECT total FROM reports")).scalar_one() == 1.0
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_revision_0004_gives_existing_invites_no_time_box(empty_db) -> None:
    _to_revision(empty_db, "0003")
    submission_id = _seed_submission(empty_db)
    invite_columns = ("time_limit_seconds", "extra_time_percent", "extension_seconds",
                      "started_at")
    assert not set(invite_columns) & {
        c["name"] for c in inspect(empty_db.engine).get_columns("invites")}

    _to_revision(empty_db, "0004")
    with empty_db.read() as session:
        assert session.execute(text(f"SELECT {', '.join(invite_columns)} FROM invites")
                               ).one() == (None, 0, 0, None)

    _to_revision(empty_db, "0003", down=True)
    assert not set(invite_columns) & {
        c["name"] for c in inspect(empty_db.engine).get_columns("invites")}
    with empty_db.read() as session:
        assert session.execute(text("SELECT id FROM submissions")).scalar_one() == submission_id
    migrate(empty_db)
    assert current_revision(empty_db) == head_revision()
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_revision_0006_adds_tokens_and_ats_links_beside_invites(empty_db) -> None:
    _to_revision(empty_db, "0005")
    submission_id = _seed_submission(empty_db)
    with empty_db.write() as session:
        reviewer_id = create_reviewer(session, "ops@example.com", "a long enough password").id
    assert not {"api_tokens", "ats_links"} & set(inspect(empty_db.engine).get_table_names())

    _to_revision(empty_db, "0006")
    with empty_db.write() as session:
        session.execute(text(
            "INSERT INTO api_tokens (reviewer_id, name, prefix, secret_sha256, scopes, "
            "created_at) VALUES (:r, 'greenhouse', 'grt_abcdefgh', :sha, "
            "'integration:greenhouse', CURRENT_TIMESTAMP)"), {"r": reviewer_id, "sha": "1" * 64})
        session.execute(text(
            "INSERT INTO ats_links (integration, interview_id, invite_id, token_id, "
            "candidate_ref, created_at) SELECT 'greenhouse', 'abc', invites.id, api_tokens.id, "
            "'', CURRENT_TIMESTAMP FROM invites, api_tokens"))
    migrate(empty_db)
    with empty_db.read() as session:
        assert session.execute(text("SELECT interview_id, last_status FROM ats_links")
                               ).one() == ("abc", None)

    _to_revision(empty_db, "0005", down=True)
    assert not {"api_tokens", "ats_links"} & set(inspect(empty_db.engine).get_table_names())
    with empty_db.read() as session:
        assert session.execute(text("SELECT id FROM submissions")).scalar_one() == submission_id
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_revision_0007_adds_deliveries_beside_existing_data(empty_db) -> None:
    tables = {"webhook_endpoints", "deliveries", "delivery_attempts"}
    _to_revision(empty_db, "0006")
    submission_id = _seed_submission(empty_db)
    assert not tables & set(inspect(empty_db.engine).get_table_names())

    _to_revision(empty_db, "0007")
    migrate(empty_db)
    with empty_db.write() as session:
        endpoint = create_webhook_endpoint(session, url="https://example.com/h",
                                           events=["decision.made"], secret="s",
                                           include_notes=False, created_by="test")
        enqueue_delivery(session, purpose="test", url="https://example.com/h", method="POST",
                         body=b"\x00{}", headers={}, endpoint_id=endpoint.id)
    with empty_db.read() as session:
        [delivery] = list_deliveries(session)
    assert delivery.body == b"\x00{}" and delivery.state == "queued"

    _to_revision(empty_db, "0006", down=True)
    assert not tables & set(inspect(empty_db.engine).get_table_names())
    with empty_db.read() as session:
        assert session.execute(text("SELECT id FROM submissions")).scalar_one() == submission_id
    migrate(empty_db)
    with empty_db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
