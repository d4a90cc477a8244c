"""The token store: the `TokenStore` protocol and its SQL implementation (SQLite, PostgreSQL,
MySQL/MariaDB), with packaged Alembic migrations and key rotation."""

from .base import TokenStore
from .migrate import current_revision, upgrade, upgrade_async
from .rotate import rotate_keys
from .schema import HEAD_REVISION
from .sql import SQLTokenStore
from .urls import mask_url, normalize_url, sqlite_url

__all__ = [
    "HEAD_REVISION",
    "SQLTokenStore",
    "TokenStore",
    "current_revision",
    "mask_url",
    "normalize_url",
    "rotate_keys",
    "sqlite_url",
    "upgrade",
    "upgrade_async",
]
