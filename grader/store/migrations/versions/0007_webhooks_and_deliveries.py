"""Outbound deliveries (webhooks, ATS callbacks) as a leased queue beside the jobs, each attempt
recorded, and the webhook endpoints reviewers or the settings register.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", Id, primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.String(500), nullable=False,
                  comment="space-separated event types it receives (grader.webhooks)"),
        sa.Column("secret", sa.String(200), nullable=False,
                  comment="signs each delivery (HMAC-SHA256); kept as is, since signing needs "
                          "it"),
        sa.Column("include_notes", sa.Boolean(), nullable=False,
                  comment="its payloads carry reviewers' notes"),
        sa.Column("source", sa.String(20), nullable=False,
                  comment="reviewer: registered on the API or pages; settings: "
                          "GRADER_DELIVERIES__WEBHOOK_URL"),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", Id, primary_key=True),
        sa.Column("purpose", sa.String(100), nullable=False,
                  comment="what it is for: a webhook's event type, an ATS callback"),
        sa.Column("endpoint_id", Id,
                  sa.ForeignKey("webhook_endpoints.id", ondelete="SET NULL"), nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True,
                  comment="the webhook event's id, the same on every replay"),
        sa.Column("replay_of", Id, sa.ForeignKey("deliveries.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False,
                  comment="JSON {name: value}, sent as they are"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signing_secret", sa.String(200), nullable=True,
                  comment="signs each attempt (Grader-Signature); NULL: unsigned"),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(), nullable=False),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_deliveries_claim", "deliveries", ["state", "run_after"])
    op.create_index("ix_deliveries_endpoint_id", "deliveries", ["endpoint_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True,
                  comment="NULL: no response (the error says why)"),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False,
                  comment="the start of the response's body, capped"),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_delivery_id", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_endpoint_id", table_name="deliveries")
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("webhook_endpoints")
