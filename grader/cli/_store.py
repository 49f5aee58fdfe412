"""The store a command works on: the one the settings name, migrated first (a command may run
before the server or a worker ever has, on a fresh data directory)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store is imported when a command opens it, for a quick --help
    from grader.store import Database


@contextmanager
def open_database() -> Iterator[Database]:
    """The store, its connections closed when the command is done with it (an abort included)."""
    from grader.settings import get_settings
    from grader.store import Database, migrate

    db = Database(get_settings().resolved_database_url())
    try:
        migrate(db)
        yield db
    finally:
        db.dispose()
