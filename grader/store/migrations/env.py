"""Alembic's environment: always given an open connection by grader.store.migrate()."""

from __future__ import annotations

from alembic import context

from grader.store._models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through grader.store.migrate(), which passes a connection")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
context.run_migrations()
