"""Migrations: the newest revision is exactly the models, and migrating again changes nothing."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import grader.store
from grader.store import Base, current_revision, head_revision, migrate


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
