"""API tokens for machines (scoped, revocable, hashed at rest) and the links between an applicant
tracking system's interviews and the invites made for them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", Id, primary_key=True),
        sa.Column("reviewer_id", Id, sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False,
                  comment="the token's first characters, not secret, to tell tokens apart"),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(500), nullable=False,
                  comment="space-separated scopes (grader.tokens.Scope)"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True, comment="NULL: never expires"),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("secret_sha256", name="uq_api_tokens_secret"),
    )
    op.create_index("ix_api_tokens_reviewer_id", "api_tokens", ["reviewer_id"])
    op.create_table(
        "ats_links",
        sa.Column("id", Id, primary_key=True),
        sa.Column("integration", sa.String(40), nullable=False,
                  comment="which applicant tracking system (grader.integrations)"),
        sa.Column("interview_id", sa.String(64), nullable=False,
                  comment="the id the ATS knows this invite by (Greenhouse's "
                          "partner_interview_id); made by the grader"),
        sa.Column("invite_id", Id, sa.ForeignKey("invites.id"), nullable=False),
        sa.Column("token_id", Id, sa.ForeignKey("api_tokens.id", ondelete="SET NULL"),
                  nullable=True,
                  comment="the API token the ATS sent the request with"),
        sa.Column("candidate_ref", sa.String(200), nullable=False, server_default="",
                  comment="the ATS's own reference to the candidate (a profile URL or id)"),
        sa.Column("callback_url", sa.Text(), nullable=True,
                  comment="where the ATS asked to be told of a result; NULL: it polls"),
        sa.Column("callback_authorization", sa.Text(), nullable=True,
                  comment="the Authorization header the callback carries, as the ATS asks "
                          "(Greenhouse: Basic with the key it sent us); NULL: none"),
        sa.Column("candidate_url", sa.Text(), nullable=True,
                  comment="the candidate's link, shown in the ATS until the first upload (the "
                          "grader sends no email); NULL after it"),
        sa.Column("last_status", sa.String(20), nullable=True,
                  comment="the status last reported to the ATS; NULL before any"),
        sa.Column("last_reported_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("integration", "interview_id", name="uq_ats_links_interview"),
    )
    op.create_index("ix_ats_links_invite_id", "ats_links", ["invite_id"])


def downgrade() -> None:
    op.drop_index("ix_ats_links_invite_id", table_name="ats_links")
    op.drop_table("ats_links")
    op.drop_index("ix_api_tokens_reviewer_id", table_name="api_tokens")
    op.drop_table("api_tokens")
