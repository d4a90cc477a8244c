"""Run and check the token store's Alembic migrations from code (`zohoauth db upgrade`, tests).

The migrations ship inside the package (`store/migrations`), so no alembic.ini is needed: a
Config is built here, and the async engine's connection is handed to `env.py`. The version
table is `zohoauth_alembic_version`, separate from any Alembic history of the host app.
"""

from __future__ import annotations

import asyncio
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import StoreError
from ..logs import get_logger
from . import queries as q
from .engine import make_engine, to_store_error, write_transaction
from .files import private_dir
from .schema import HEAD_REVISION, VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only where a migration runs or its scripts are read: it costs about a
# second of import time, and opening a store (every script, every worker) needs neither.
from .urls import mask_url, normalize_url, sqlite_path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = get_logger("zohoauth.store")


def alembic_config(url: URL | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option(
            "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def script_head() -> str | None:
    """The head revision according to the packaged Alembic scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def _current(sync_conn: Connection) -> str | None:
    """Read Alembic's version table directly (what MigrationContext would, without Alembic)."""
    if not inspect(sync_conn).has_table(VERSION_TABLE):
        return None
    rows = sync_conn.execute(q.SCHEMA_REVISION).scalars().all()
    return rows[0] if len(rows) == 1 else None


async def current_revision_on(conn: AsyncConnection) -> str | None:
    """The revision the database is at (None when zohoauth's tables were never created)."""
    return await conn.run_sync(_current)


def schema_problem(current: str | None) -> str | None:
    """Why a database at `current` can't be used by this code, or None if it can (pure)."""
    head = HEAD_REVISION
    if current == head:
        return None
    if current is None:
        return "the database has no zohoauth tables yet: run `zohoauth db upgrade`"
    if current not in known_revisions():
        return (
            f"the database schema is at revision {current!r}, which this zohoauth does not know "
            "(written by a newer version?): upgrade zohoauth"
        )
    return (
        f"the database schema is at revision {current!r} but this zohoauth needs {head!r}: "
        "run `zohoauth db upgrade`"
    )


async def _serialize(conn: AsyncConnection) -> None:
    """Let one migrator at a time through, so app workers that all start with auto_migrate
    don't race to create the same tables (the others then find the schema at head).

    SQLite needs nothing: the write transaction's BEGIN IMMEDIATE already serializes. MySQL's
    lock is session-level: released when the migration's connection closes (engine disposed).
    """
    lock = q.MIGRATION_LOCKS.get(conn.dialect.name)
    if lock is not None:
        await conn.execute(lock)


def ensure_sqlite_dir(url: URL) -> None:
    """Create a SQLite file's directory, 0700 (the data dir may not exist yet; the file itself
    is made 0600 just before SQLite opens it: `store/files.py`)."""
    path = sqlite_path(url)
    if path is not None:
        try:
            private_dir(path.parent)
        except OSError as exc:
            raise to_store_error(exc, url, "create the database directory") from exc


async def migrate_with(
    engine: AsyncEngine, action: str = "upgrade", revision: str = "head"
) -> None:
    """Run `action` ("upgrade"/"downgrade") to `revision` on an engine the caller owns (the
    store's own, so an in-memory SQLite database is migrated where it will be used)."""
    url = engine.url
    cfg = alembic_config(url)

    from alembic import command

    def run(sync_conn: Connection) -> tuple[str | None, str | None]:
        before = _current(sync_conn)
        cfg.attributes["connection"] = sync_conn
        if action == "upgrade":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)
        return before, _current(sync_conn)

    try:
        async with write_transaction(engine) as conn:
            await _serialize(conn)
            before, after = await conn.run_sync(run)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        raise to_store_error(exc, url, f"{action} the schema") from exc
    if before != after:
        log.info(f"schema {action}d", database=mask_url(url), before=before, after=after)


async def _run(url: str | URL, action: str, revision: str) -> None:
    parsed = normalize_url(url)
    ensure_sqlite_dir(parsed)
    engine = make_engine(parsed, pool_size=1, max_overflow=0)
    try:
        await migrate_with(engine, action, revision)
    finally:
        await engine.dispose()


async def upgrade_async(url: str | URL, revision: str = "head") -> None:
    """Create or upgrade zohoauth's tables (idempotent: at head it does nothing)."""
    await _run(url, "upgrade", revision)


async def downgrade_async(url: str | URL, revision: str) -> None:
    """Downgrade to `revision` (`base` drops zohoauth's tables and everything in them)."""
    await _run(url, "downgrade", revision)


async def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at, or None."""
    parsed = normalize_url(url)
    engine = make_engine(parsed, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return await current_revision_on(conn)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        raise to_store_error(exc, parsed, "read the schema version") from exc
    finally:
        await engine.dispose()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Blocking `upgrade_async`, for the CLI and scripts (not from inside an event loop)."""
    asyncio.run(upgrade_async(url, revision))


def upgrade_sql(url: str | URL, revision: str = "head") -> str:
    """The DDL `upgrade` would run, as SQL text for a DBA (Alembic offline mode)."""
    from alembic import command

    parsed = normalize_url(url)
    cfg = alembic_config(parsed)
    buffer = io.StringIO()
    cfg.output_buffer = buffer
    try:
        command.upgrade(cfg, revision, sql=True)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not render the schema DDL: {type(exc).__name__}") from exc
    return buffer.getvalue()


__all__ = [
    "current_revision",
    "downgrade_async",
    "migrate_with",
    "schema_problem",
    "upgrade",
    "upgrade_async",
    "upgrade_sql",
]
