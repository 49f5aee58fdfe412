"""The store a command works on: the one the settings name, migrated first (a command may run
before the server or a worker ever has, on a fresh data directory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store is imported when a command opens it, for a quick --help
    from grader.store import Database


def open_database() -> Database:
    from grader.settings import get_settings
    from grader.store import Database, migrate

    db = Database(get_settings().resolved_database_url())
    migrate(db)
    return db
