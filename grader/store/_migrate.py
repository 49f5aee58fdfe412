"""Schema migrations with Alembic, run programmatically at startup (``migrate(database)``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from grader.store._engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: serve and worker processes starting together migrate one after the other.
_PG_LOCK = 7_700_701


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(database: Database) -> str:
    """Bring the schema to the newest revision; returns it. Safe to run from several processes."""
    config = _config()
    connect = database.engine.connect().execution_options(grader_immediate=True)
    with connect as connection, connection.begin():
        if not database.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
