"""The token service: service keys (hashed), the audit log, webhooks and their outbox.

Revision ID: 0003s
Revises: 0002
Create Date: 2026-12-01

Four new tables, nothing changed in the token tables. Written out in full (not imported from
schema.py) so this revision never changes after release.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003s"
down_revision = "0002"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "zohoauth_service_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("pepper_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("connections", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=True),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.Column("last_used_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_service_keys"),
        sa.UniqueConstraint("key_hash", name="uq_zohoauth_service_keys_hash"),
        **_MYSQL,
    )
    op.create_table(
        "zohoauth_audit",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("key_name", sa.String(128), nullable=False),
        sa.Column("connection_id", sa.String(40), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_audit"),
        **_MYSQL,
    )
    op.create_index("ix_zohoauth_audit_at", "zohoauth_audit", ["at"])
    op.create_index("ix_zohoauth_audit_key", "zohoauth_audit", ["key_id", "at"])
    op.create_index("ix_zohoauth_audit_connection", "zohoauth_audit", ["connection_id", "at"])
    op.create_table(
        "zohoauth_webhooks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_webhooks"),
        **_MYSQL,
    )
    op.create_table(
        "zohoauth_webhook_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_webhook_deliveries"),
        **_MYSQL,
    )
    op.create_index(
        "ix_zohoauth_webhook_deliveries_due",
        "zohoauth_webhook_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        "ix_zohoauth_webhook_deliveries_created", "zohoauth_webhook_deliveries", ["created_at"]
    )


def downgrade() -> None:
    op.drop_table("zohoauth_webhook_deliveries")
    op.drop_table("zohoauth_webhooks")
    op.drop_table("zohoauth_audit")
    op.drop_table("zohoauth_service_keys")
