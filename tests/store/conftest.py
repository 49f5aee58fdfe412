"""A migrated store on each backend: SQLite in a temp folder, and the run's PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support.kit import database_url

from grader.store import Database, create_invite, migrate


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path):
    database = Database(database_url(request.param, tmp_path))
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def invite(db: Database):
    def make(allowance: int = 100, days: float = 1.0) -> int:
        with db.write() as session:
            created, _ = create_invite(session, assignment_id="starter", cohort="c",
                                       label="x", allowance=allowance,
                                       valid_for=timedelta(days=days), created_by="test")
            return created.id
    return make
