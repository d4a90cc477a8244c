"""Refresh tokens a re-login replaced, waiting to be revoked at Zoho.

Revision ID: 0004
Revises: 0003s
Create Date: 2026-11-29

One new table, nothing changed in the others. Each re-login mints a new refresh token and Zoho
keeps at most 20 per user and client, silently deleting the oldest (docs/zoho-reference.md §4),
so the token a re-login replaces is revoked at Zoho; until that succeeds it waits here,
encrypted with the key ring like every other secret. No foreign key to the credential: a
replaced token stays live at Zoho even after its credential is deleted here. Written out in
full (not imported from schema.py) so this revision never changes after release.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003s"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "zohoauth_pending_revocations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("dc", sa.String(16), nullable=False),
        sa.Column("zuid", sa.String(64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("claimed_until", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_zohoauth_pending_revocations"),
        **_MYSQL,
    )
    op.create_index(
        "ix_zohoauth_pending_revocations_due",
        "zohoauth_pending_revocations",
        ["next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("zohoauth_pending_revocations")
