"""Initial schema: encrypted credentials and their per-org connections.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out in full (not imported from schema.py) so this revision never changes after release;
`tests/store/test_migrations.py` checks the two agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "zohoauth_credentials",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("dc", sa.String(16), nullable=False),
        sa.Column("zuid", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("api_domain", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", sa.Double(), nullable=True),
        sa.Column("throttled_until", sa.Double(), nullable=True),
        sa.Column("refreshed_at", sa.Double(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "dc", "zuid", name="pk_zohoauth_credentials"),
        **_MYSQL,
    )
    op.create_index("ix_zohoauth_credentials_key_id", "zohoauth_credentials", ["key_id"])
    op.create_table(
        "zohoauth_connections",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("dc", sa.String(16), nullable=False),
        sa.Column("zuid", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("org_name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_norm", sa.String(320), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_connections"),
        sa.UniqueConstraint(
            "client_id", "dc", "zuid", "org_id", name="uq_zohoauth_connections_key_org"
        ),
        sa.ForeignKeyConstraint(
            ["client_id", "dc", "zuid"],
            [
                "zohoauth_credentials.client_id",
                "zohoauth_credentials.dc",
                "zohoauth_credentials.zuid",
            ],
            name="fk_zohoauth_connections_credential",
            ondelete="CASCADE",
        ),
        **_MYSQL,
    )
    op.create_index(
        "ix_zohoauth_connections_email_norm", "zohoauth_connections", ["email_norm", "org_id"]
    )
    op.create_index("ix_zohoauth_connections_org_id", "zohoauth_connections", ["org_id"])


def downgrade() -> None:
    op.drop_table("zohoauth_connections")
    op.drop_table("zohoauth_credentials")
