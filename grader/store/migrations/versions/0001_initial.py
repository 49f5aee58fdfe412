"""The service's first schema: reviewers, sessions, invites, submissions, jobs, reports.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", Id, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "reviewer_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_reviewer_sessions_reviewer_id", "reviewer_sessions", ["reviewer_id"])
    op.create_table(
        "invites",
        sa.Column("id", Id, primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("assignment_id", sa.String(100), nullable=False),
        sa.Column("cohort", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("allowance", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_invites_assignment_id", "invites", ["assignment_id"])
    op.create_table(
        "submissions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("invite_id", Id, sa.ForeignKey("invites.id"), nullable=False),
        sa.Column("assignment_id", sa.String(100), nullable=False),
        sa.Column("cohort", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("files_dir", sa.String(100), nullable=False,
                  comment="folder name under DATA_DIR/submissions"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("graded_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("files_dir"),
    )
    op.create_index("ix_submissions_invite_id", "submissions", ["invite_id"])
    op.create_index("ix_submissions_assignment_cohort", "submissions",
                    ["assignment_id", "cohort"])
    op.create_table(
        "jobs",
        sa.Column("id", Id, primary_key=True),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(), nullable=False),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_jobs_submission_id", "jobs", ["submission_id"])
    op.create_index("ix_jobs_claim", "jobs", ["state", "run_after"])
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("job_id", Id, sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False,
                  comment="JSON {metric: value}, for cohort charts"),
        sa.Column("body", sa.Text(), nullable=False, comment="the report's JSON document"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("job_id", name="uq_reports_job"),
    )
    op.create_index("ix_reports_submission_id", "reports", ["submission_id"])


def downgrade() -> None:
    for table in ("reports", "jobs", "submissions", "invites", "reviewer_sessions", "reviewers"):
        op.drop_table(table)
