"""The background refresher's plan: when each credential is looked at next, indexed.

Revision ID: 0005w
Revises: 0004
Create Date: 2026-11-29

`next_refresh_at` (epoch seconds) is written by `zohoauth worker` (zohoauth.refresher) after it
looks at a credential, and set a minute on by every refresh so the plan follows the new expiry.
0 means "plan me": existing rows and new logins get it from the server default, so no backfill
and no change to the login upsert. The (status, next_refresh_at) index makes claiming due work
one index range scan, `ORDER BY next_refresh_at LIMIT n FOR UPDATE SKIP LOCKED`, whatever N.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005w"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "zohoauth_credentials",
        sa.Column("next_refresh_at", sa.Double(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_zohoauth_credentials_due", "zohoauth_credentials", ["status", "next_refresh_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_zohoauth_credentials_due", table_name="zohoauth_credentials")
    op.drop_column("zohoauth_credentials", "next_refresh_at")
