"""Connections remember when they were last used (for `zohoauth tokens list`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Nullable, so existing rows need no backfill; written at most once a minute per connection by
the token manager, off the request path.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("zohoauth_connections", sa.Column("last_used_at", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("zohoauth_connections", "last_used_at")
