"""Engines for the three databases, and the one place driver errors become StoreError.

SQLite is the embedded default and must still work when several *processes* share one file
(`zohoauth serve --workers 4`, a CLI refresh next to a running app): every connection turns on
WAL (readers never block the writer), a busy timeout (writers queue instead of failing with
"database is locked") and foreign keys. sqlite3's own transaction handling is switched off and
SQLAlchemy emits BEGIN itself (the documented recipe), so a write transaction can start with
`BEGIN IMMEDIATE`: it takes the write lock up front instead of failing when a read-then-write
transaction tries to upgrade a stale snapshot.

PostgreSQL and MySQL get a modest pool and recycling under MySQL's default `wait_timeout`.
A dropped connection (server restart, a proxy or `pg_terminate_backend` killing it) is handled
optimistically rather than with SQLAlchemy's `pool_pre_ping`, whose `SELECT 1` on every checkout
was ~64 % of a cold token lookup on PostgreSQL (issue 11):

- a connection idle for more than `IDLE_PING_AFTER_S` is still pinged when checked out (servers
  and proxies drop *idle* connections; a busy pool is never idle that long, so the hot path
  pays nothing);
- a statement that fails because its connection was dropped invalidates the pool (SQLAlchemy
  does that for every disconnect error), and a *read* is run once more on a fresh connection
  (`retry_read`). A write is not retried: it may have been applied before the connection broke,
  so it surfaces as a StoreError (503 store_unavailable) and the caller decides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from ..errors import StoreError
from .files import prepare_sqlite_file
from .urls import ENV_VAR, mask_url, sqlite_path

SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_OPTION = "zohoauth_begin"  # SQLite: the statement that opens a transaction
#: A pooled PostgreSQL/MySQL connection idle longer than this is pinged before reuse.
IDLE_PING_AFTER_S = 10.0
_CHECKED_IN_AT = "zohoauth_checked_in_at"  # in a pool record's `info`: monotonic seconds
T = TypeVar("T")


def make_engine(
    url: URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    connect_timeout: float = 10.0,
    echo: bool = False,
) -> AsyncEngine:
    """An async engine for a normalised URL (see `urls.normalize_url`)."""
    dialect = url.get_backend_name()  # sqlite, postgresql or mysql
    kwargs: dict[str, Any] = {"echo": echo}
    if dialect == "sqlite":
        if sqlite_path(url) is None:
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
        else:
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_recycle=1800,
        )
        if dialect == "postgresql":
            kwargs["connect_args"] = {"timeout": connect_timeout}
        else:
            kwargs["connect_args"] = {"connect_timeout": int(connect_timeout)}
            # Same visibility as PostgreSQL's default: a retry after a lost insert race sees
            # the winner's row, and fewer gap locks mean fewer deadlocks.
            kwargs["isolation_level"] = "READ COMMITTED"
    engine = create_async_engine(url, **kwargs)
    if dialect == "sqlite":
        _install_sqlite_hooks(engine)
    else:
        _install_idle_ping(engine)
    return engine


def _install_idle_ping(engine: AsyncEngine) -> None:
    """Ping a pooled connection on checkout only when it sat idle for `IDLE_PING_AFTER_S`.

    Raising DisconnectionError from a checkout listener is SQLAlchemy's documented way to
    have the pool throw the connection away and hand out a fresh one."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_AFTER_S:
            return  # brand new, or in use a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("an idle pooled connection was dropped") from exc
        if not alive:
            raise DisconnectionError("an idle pooled connection was dropped")


def is_dropped_connection(exc: BaseException) -> bool:
    """True when a statement failed because its connection was dropped (SQLAlchemy has then
    invalidated the connection and the pool): the statement may be run on a fresh one."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


async def retry_read(engine: AsyncEngine, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `read` (reads only: it is run twice when the first connection was dropped) on a
    `read_statement` connection, and once more on a fresh connection if the first one turns
    out to have been dropped (server restart, killed backend, a proxy's idle cut)."""
    try:
        async with read_statement(engine) as conn:
            return await read(conn)
    except DBAPIError as exc:
        if not is_dropped_connection(exc):
            raise
    async with read_statement(engine) as conn:
        return await read(conn)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    path = sqlite_path(engine.url)
    if path is not None:

        @event.listens_for(engine.sync_engine, "do_connect")
        def _before_connect(*_args: Any) -> None:
            # Before SQLite creates the file: the directory 0700 and the database 0600, so the
            # WAL and SHM files SQLite makes next to it get 0600 too (store/files.py).
            prepare_sqlite_file(path)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        begin = conn.get_execution_options().get(BEGIN_OPTION, "BEGIN")
        if begin:
            conn.exec_driver_sql(begin)

    # A read without BEGIN (`read_statement`) still ends with SQLAlchemy rolling back the
    # transaction it began for the connection, and every aiosqlite call is a hop to its thread
    # and back: a fifth of a cold lookup for a ROLLBACK SQLite would ignore (sqlite3's own
    # rollback() does nothing outside a transaction too). Skip the hop when no transaction is
    # open; a BEGIN that is still open is rolled back as always.
    dialect = engine.sync_engine.dialect
    rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            rollback(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction of several statements that writes: BEGIN IMMEDIATE on SQLite (take the
    write lock first, wait for it politely), a plain transaction elsewhere."""
    async with engine.connect() as conn:
        await conn.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for ONE statement (a read, or a conditional UPDATE), atomic on its own.

    No explicit transaction where that saves work: on SQLite the statement commits by itself,
    so the write lock is held for microseconds rather than across event-loop turns (24
    coroutines racing for a lease took ~1 s with BEGIN/UPDATE/COMMIT, ~50 ms this way); on
    PostgreSQL asyncpg's autocommit skips the BEGIN/COMMIT round trips (client-side flag).
    """
    async with engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            await conn.execution_options(**{BEGIN_OPTION: ""})
        elif dialect == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for ONE read (`single_statement` for the other engines).

    On SQLite a read needs no transaction at all, and each aiosqlite call is a round trip to
    its thread (~15% of a cold token lookup each): without `begin()` the read costs cursor,
    execute, fetch, close and the connection's own rollback on return — not also a COMMIT and
    then the pool's reset ROLLBACK.
    """
    if engine.dialect.name != "sqlite":
        async with single_statement(engine) as conn:
            yield conn
        return
    async with engine.connect() as conn:
        await conn.execution_options(**{BEGIN_OPTION: ""})  # no BEGIN: the read stands alone
        yield conn


def _where(url: URL) -> str:
    """Where the database is, for messages: host, port, database, user; never the password."""
    dialect = url.get_backend_name()  # sqlite, postgresql or mysql
    if dialect == "sqlite":
        path = sqlite_path(url)
        return f"SQLite database {str(path) if path else ':memory:'}"
    port = url.port or {"postgresql": 5432, "mysql": 3306}.get(dialect)
    user = f" as user {url.username!r}" if url.username else ""
    return f"{dialect} database {url.database!r} at {url.host or 'localhost'}:{port}{user}"


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's own message, first line only, with the password scrubbed (belt and braces)."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if url.password:
        text = text.replace(str(url.password), "***")
    return f"{type(orig).__name__}: {text[:300]}"


# PostgreSQL SQLSTATEs about getting in, not about a statement: connection exceptions (08...),
# bad credentials (28...), no such database, server starting up or full.
_PG_CONNECT_STATES = ("08", "28", "3D000", "57P03", "53300")
# MySQL error numbers for the same: access denied, unknown database, can't connect, gone away,
# lost connection, too many connections.
_MYSQL_CONNECT_ERRNOS = frozenset({1040, 1044, 1045, 1049, 2002, 2003, 2005, 2006, 2013})


def is_connect_error(exc: BaseException) -> bool:
    """True when the failure is about reaching or logging in to the server."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc.orig if isinstance(exc, DBAPIError) else exc
    while seen is not None:  # the driver's own error may hide behind SQLAlchemy's adapter
        if isinstance(seen, OSError | asyncio.TimeoutError):
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_PG_CONNECT_STATES):
            return True
        args = getattr(seen, "args", ())
        if args and isinstance(args[0], int) and args[0] in _MYSQL_CONNECT_ERRNOS:
            return True
        seen = seen.__cause__
    return False


def to_store_error(
    exc: BaseException, url: URL, action: str, *, connecting: bool = False
) -> StoreError:
    """Convert a driver/SQLAlchemy failure into a StoreError that says what to do.

    `connecting=True` when it happened while opening a connection (then it is about reaching
    or logging in to the server whatever the driver calls it)."""
    if connecting or is_connect_error(exc):
        return StoreError(
            f"cannot connect to the {_where(url)} ({_reason(exc, url)}); check that the server "
            f"is running and that the host, port, database, user and password in {ENV_VAR} "
            f"({mask_url(url)}) are right"
        )
    if isinstance(exc, SQLAlchemyError | OSError):
        return StoreError(
            f"token store could not {action} in the {_where(url)} ({_reason(exc, url)}); if the "
            "schema is out of date run `zohoauth db upgrade`"
        )
    return StoreError(f"token store could not {action}: {type(exc).__name__}")


__all__ = [
    "is_connect_error",
    "is_dropped_connection",
    "make_engine",
    "retry_read",
    "single_statement",
    "to_store_error",
    "write_transaction",
]
