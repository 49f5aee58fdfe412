"""Time-boxed invites: a working-time limit that starts at the first download of the starter
bundle, an accommodation (extra time as a percentage of the limit) and reviewers' extensions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-19
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column(
            "time_limit_seconds", sa.Integer(), nullable=True,
            comment="working time from the first bundle download; NULL: only the window applies"))
        batch.add_column(sa.Column(
            "extra_time_percent", sa.Integer(), nullable=False, server_default="0",
            comment="an accommodation: the working-time limit lengthened by this percentage"))
        batch.add_column(sa.Column(
            "extension_seconds", sa.Integer(), nullable=False, server_default="0",
            comment="working time reviewers added after the invite was made"))
        batch.add_column(sa.Column(
            "started_at", sa.DateTime(), nullable=True,
            comment="the first download of the starter bundle; NULL until then"))


def downgrade() -> None:
    # Not a batch: on SQLite a batch copies the table, and dropping the old copy is refused while
    # submissions refer to it; SQLite (3.35 and later) drops a column in place.
    for column in ("started_at", "extension_seconds", "extra_time_percent",
                   "time_limit_seconds"):
        op.drop_column("invites", column)
