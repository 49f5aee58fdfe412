"""Job progress: the step a running grading is on, as its grading process reports it, so any web
process reading the store (SQLite or PostgreSQL) can show it to the candidate.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column(
            "progress", sa.String(200), nullable=True,
            comment="the running attempt's latest step (grader.pipeline's progress messages); "
                    "NULL before its first"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("progress")
