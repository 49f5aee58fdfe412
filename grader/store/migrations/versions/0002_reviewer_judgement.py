"""Reviewer judgement: manual rubric scores, when each reviewer saw the others', notes, decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "manual_scores",
        sa.Column("id", Id, primary_key=True),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False,
                  comment="the manual rubric item's id"),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("blind_points", sa.Float(), nullable=True,
                  comment="the points last given before this reviewer saw others' scores; NULL "
                          "when first given after"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("submission_id", "reviewer_id", "item_id",
                            name="uq_manual_scores_item"),
    )
    op.create_index("ix_manual_scores_submission_id", "manual_scores", ["submission_id"])
    op.create_table(
        "manual_reveals",
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id"), primary_key=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("revealed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "review_notes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_review_notes_submission_id", "review_notes", ["submission_id"])
    op.create_table(
        "decisions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_decisions_submission_id", "decisions", ["submission_id"])


def downgrade() -> None:
    for table in ("decisions", "review_notes", "manual_reveals", "manual_scores"):
        op.drop_table(table)
