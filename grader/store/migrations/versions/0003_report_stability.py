"""Report stability: each stored report set beside the submission's earlier gradings of the same
assignment content, instance and runner image (a JSON document; NULL when none shares its key).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column(
            "stability", sa.Text(), nullable=True,
            comment="JSON: the report set beside the submission's earlier gradings of the same "
                    "content, instance and runner image (grader.stability); NULL when none "
                    "shares it"))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("stability")
