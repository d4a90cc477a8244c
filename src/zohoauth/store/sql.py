"""`SQLTokenStore`: the TokenStore on SQLAlchemy 2 Core (async) for SQLite, PostgreSQL, MySQL.

Every statement is portable SQL: no upserts, no RETURNING, no advisory locks. The lease is one
conditional UPDATE whose matched-row count says who won (SQLAlchemy's MySQL dialects set
CLIENT.FOUND_ROWS, and every such UPDATE changes a value anyway, so "matched" and "changed"
agree). Writes of credential content bump `version` and `updated_at`; taking or releasing the
lease does not, so a refresher may write with the version it read before taking the lease, and
`save_refreshed` also requires the lease, so the owner check is what keeps out a late writer.

Driver and SQLAlchemy errors become StoreError here, at the boundary (`guard`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import URL, RowMapping
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..credentials import (
    Connection,
    Credential,
    CredentialKey,
    Login,
    PendingRevocation,
    Status,
    TokenSet,
)
from ..crypto import KeyRing
from ..errors import DecryptionError, NotFoundError, StoreError, ZohoAuthError
from ..logs import get_logger
from . import queries as q
from .changes import ALL, ChangeFeed, Notice, asyncpg_dsn, connection_notice, key_notice
from .codec import (
    connection_from_row,
    credential_from_row,
    encrypt_tokens,
    key_of,
    pending_revocation_from_row,
)
from .engine import (
    make_engine,
    retry_read,
    single_statement,
    to_store_error,
    write_transaction,
)
from .files import loose_files
from .migrate import (
    current_revision_on,
    ensure_sqlite_dir,
    migrate_with,
    schema_problem,
)
from .schema import HEAD_REVISION
from .upsert import save_login, save_logins
from .urls import mask_url, normalize_url, sqlite_path

Clock = Callable[[], float]
T = TypeVar("T")
log = get_logger("zohoauth.store")


class SQLTokenStore:
    """The token store on a SQL database, tokens encrypted with `keyring`.

    `url` may be any spelling `urls.normalize_url` accepts. `open()` refuses a database whose
    schema is not at this version's Alembic head, unless `auto_migrate=True` (demo, tests),
    which upgrades it first. `clock` gives epoch seconds (lease expiry, timestamps).
    """

    def __init__(
        self,
        url: str | URL,
        keyring: KeyRing,
        *,
        auto_migrate: bool = False,
        clock: Clock = time.time,
        pool_size: int = 5,
        max_overflow: int = 10,
        echo: bool = False,
    ) -> None:
        self.url = normalize_url(url)
        self.keyring = keyring
        self.auto_migrate = auto_migrate
        self.clock = clock
        self._engine_options: dict[str, Any] = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "echo": echo,
        }
        self._engine: AsyncEngine | None = None

    def __repr__(self) -> str:
        return f"SQLTokenStore({mask_url(self.url)!r})"

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreError("the token store is not open: call `await store.open()` first")
        return self._engine

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    # -- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        if self._engine is not None:
            return
        ensure_sqlite_dir(self.url)
        engine = make_engine(self.url, **self._engine_options)
        try:
            current = await self._revision(engine)
            if self.auto_migrate and current != HEAD_REVISION:
                await migrate_with(engine)
                current = await self._revision(engine)
            problem = schema_problem(current)
            if problem is not None:
                raise StoreError(f"token store {mask_url(self.url)}: {problem}")
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        for loose in loose_files(sqlite_path(self.url)):
            log.warning(
                "the token store's file is open to other users (it holds emails, zuids and "
                "token ciphertexts); run the command in `fix`",
                path=str(loose.path),
                mode=f"{loose.mode:04o}",
                fix=loose.fix,
            )

    async def _revision(self, engine: AsyncEngine) -> str | None:
        """The schema revision; a failure to connect is reported as such (host, port, user)."""
        try:
            conn = await engine.connect()
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            raise to_store_error(exc, self.url, "connect", connecting=True) from exc
        try:
            return await current_revision_on(conn)
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            raise to_store_error(exc, self.url, "read the schema version") from exc
        finally:
            await conn.close()

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def __aenter__(self) -> SQLTokenStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def guard(self, action: str) -> AsyncIterator[None]:
        """Turn driver failures inside the block into StoreError naming `action`."""
        try:
            yield
        except ZohoAuthError:
            raise
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            raise to_store_error(exc, self.url, action) from exc

    @asynccontextmanager
    async def _one(self, action: str) -> AsyncIterator[AsyncConnection]:
        """For one statement: a read, or a write that is atomic on its own."""
        async with self.guard(action), single_statement(self.engine) as conn:
            yield conn

    async def _read(self, action: str, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run one read (on SQLite without a transaction: one driver call fewer), once more on
        a fresh connection if the pooled one had been dropped (`engine.retry_read`)."""
        async with self.guard(action):
            return await retry_read(self.engine, read)

    @asynccontextmanager
    async def _write(self, action: str) -> AsyncIterator[AsyncConnection]:
        async with self.guard(action), write_transaction(self.engine) as conn:
            yield conn

    # -- change notices (PostgreSQL) -----------------------------------------------------
    def change_feed(
        self, on_change: Callable[[Notice], None], on_reset: Callable[[], None]
    ) -> ChangeFeed | None:
        """A LISTEN feed of ended credentials and connections (`changes.py`); None on SQLite
        and MySQL, which have none (the token manager re-checks from the store instead)."""
        if self.dialect != "postgresql":
            return None
        return ChangeFeed(asyncpg_dsn(self.url), on_change, on_reset)

    async def _notify(self, conn: AsyncConnection, *notices: str) -> None:
        """Tell every process, at this transaction's commit (PostgreSQL; a no-op elsewhere)."""
        if conn.dialect.name == "postgresql":
            for notice in notices:
                await conn.execute(q.NOTIFY_CHANGE, {"notice": notice})

    async def _notify_now(self, action: str, *notices: str) -> None:
        if self.dialect == "postgresql":
            async with self._one(action) as conn:
                await self._notify(conn, *notices)

    # -- login ---------------------------------------------------------------------------
    async def save_login(self, login: Login, *, revoke_replaced: bool = False) -> list[Connection]:
        """Insert or update in place the credential and one connection per org (see base).
        A re-login replaces the tokens: every process is told to drop the ones it holds."""
        async with self.guard("save the login"):
            saved = await save_login(
                self.engine, self.keyring, self.clock(), login, revoke_replaced=revoke_replaced
            )
        await self._notify_now("announce the login", key_notice(login.key))
        return saved

    async def save_logins(self, logins: Sequence[Login]) -> list[list[Connection] | StoreError]:
        """Save many logins (`zohoauth tokens import-sdk`): one transaction for the batch, or,
        if that fails, one per login, so one bad login costs only itself. Returns each login's
        connections, or the StoreError that login met, in order."""
        try:
            async with self.guard("save logins"):
                saved: list[list[Connection] | StoreError] = list(
                    await save_logins(self.engine, self.keyring, self.clock(), logins)
                )
            await self._notify_now("announce the logins", ALL)
            return saved
        except StoreError:
            pass
        results: list[list[Connection] | StoreError] = []
        for login in logins:
            try:
                results.append(await self.save_login(login))
            except StoreError as exc:
                results.append(exc)
        return results

    # -- reads ---------------------------------------------------------------------------
    async def get_credential(self, key: CredentialKey) -> Credential | None:
        params = q.key_params(key)

        async def read(conn: AsyncConnection) -> RowMapping | None:
            return (await conn.execute(q.CREDENTIAL_BY_KEY, params)).mappings().first()

        row = await self._read("read a credential", read)
        return None if row is None else credential_from_row(self.keyring, row)

    async def get_connection(self, connection_id: str) -> Connection | None:
        async def read(conn: AsyncConnection) -> RowMapping | None:
            params = {"connection_id": connection_id}
            return (await conn.execute(q.CONNECTION_BY_ID, params)).mappings().first()

        row = await self._read("read a connection", read)
        return None if row is None else connection_from_row(row)

    async def get_connection_with_credential(
        self, connection_id: str
    ) -> tuple[Connection, Credential] | None:
        """A connection and its credential in one indexed query (the per-request hot path)."""

        async def read(conn: AsyncConnection) -> RowMapping | None:
            params = {"connection_id": connection_id}
            result = await conn.execute(q.CONNECTION_WITH_CREDENTIAL, params)
            found: RowMapping | None = result.mappings().first()
            return found

        row = await self._read("read a connection", read)
        if row is None:
            return None
        return connection_from_row(row, q.JOIN_PREFIX), credential_from_row(self.keyring, row)

    async def find_connections(
        self, *, email: str | None = None, org_id: str | None = None, client_id: str | None = None
    ) -> list[Connection]:
        """Connections matching every given filter (email compared case-insensitively)."""
        stmt = q.find_connections(email, org_id, client_id)
        async with self._one("find connections") as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [connection_from_row(row) for row in rows]

    async def connections_of(self, key: CredentialKey) -> list[Connection]:
        async with self._one("list connections") as conn:
            rows = (await conn.execute(q.CONNECTIONS_OF_KEY, q.key_params(key))).mappings().all()
        return [connection_from_row(row) for row in rows]

    async def iter_credentials(self, batch: int = 500) -> AsyncIterator[Credential]:
        """Every credential, decrypted, in key order; one short query per `batch` rows."""
        last: CredentialKey | None = None
        while True:
            stmt = q.credentials_page(last, batch)
            async with self._one("list credentials") as conn:
                rows = (await conn.execute(stmt)).mappings().all()
            for row in rows:
                yield credential_from_row(self.keyring, row)
            if len(rows) < batch:
                return
            last = key_of(rows[-1])

    async def connection_state(self, connection_id: str) -> tuple[Status, int] | None:
        """The status and version of the connection's credential (None: either is gone), in
        one indexed read without a secret: the check before a write."""

        async def read(conn: AsyncConnection) -> Any:
            return (
                await conn.execute(q.CONNECTION_STATE, {"connection_id": connection_id})
            ).first()

        row = await self._read("check a connection", read)
        return None if row is None else (Status(row[0]), int(row[1]))

    async def count_by_key_id(self) -> dict[str, int]:
        """How many stored secrets each encryption key id protects (rotation progress):
        credentials, and replaced refresh tokens waiting to be revoked."""
        counts: dict[str, int] = {}
        async with self._one("count credentials by key") as conn:
            for stmt in (q.count_by_key_id(), q.count_pending_by_key_id()):
                for kid, n in (await conn.execute(stmt)).all():
                    counts[str(kid)] = counts.get(str(kid), 0) + int(n)
        return counts

    # -- refresh lease -------------------------------------------------------------------
    async def try_acquire_lease(self, key: CredentialKey, owner: str, ttl: float) -> bool:
        """Take the lease if free or expired: one conditional UPDATE; True if this call won.

        NotFoundError if the credential does not exist (nobody could ever release it).
        """
        stmt = q.acquire_lease(key, owner, self.clock(), ttl)
        async with self._one("take the refresh lease") as conn:
            won = (await conn.execute(stmt)).rowcount == 1
            if not won:
                found = await conn.execute(q.CREDENTIAL_VERSION, q.key_params(key))
                if found.first() is None:
                    raise NotFoundError(f"no credential {key} in the token store")
        return won

    async def release_lease(self, key: CredentialKey, owner: str) -> None:
        """Release the lease only if `owner` still holds it (a no-op otherwise)."""
        stmt = q.release_lease(key, owner)
        async with self._one("release the refresh lease") as conn:
            await conn.execute(stmt)

    async def hold_back(self, key: CredentialKey, owner: str, marker: str, seconds: float) -> bool:
        """Replace `owner`'s lease by a back-off held by `marker` for `seconds` (the lease's
        clock, like every lease): no process refreshes before it ends. False (nothing
        written) if `owner` lost the lease."""
        stmt = q.hold_back(key, owner, marker, self.clock() + seconds)
        async with self._one("record the refresh back-off") as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def save_refreshed(
        self,
        key: CredentialKey,
        owner: str,
        expected_version: int,
        tokens: TokenSet,
        api_domain: str | None = None,
    ) -> bool:
        """Write refreshed tokens, bump the version, release the lease and end any throttle,
        only if `owner` holds the lease and the row is at `expected_version`."""
        values: dict[str, Any] = {
            "secret": encrypt_tokens(self.keyring, key, tokens),
            "key_id": self.keyring.active_kid,
            "expires_at": tokens.expires_at,
        }
        if api_domain is not None:
            values["api_domain"] = api_domain
        stmt = q.save_refreshed(key, owner, expected_version, self.clock(), **values)
        async with self._one("save refreshed tokens") as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def set_status(self, key: CredentialKey, status: Status) -> None:
        """Set the status (bumps the version); NotFoundError if there is no such credential.
        Every process is told at commit (a credential that is not active serves no token)."""
        stmt = q.update_content(key, self.clock(), status=Status(status).value)
        async with self._write("set the credential status") as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                raise NotFoundError(f"no credential {key} in the token store")
            await self._notify(conn, key_notice(key))

    async def set_throttled_until(self, key: CredentialKey, until: float | None) -> None:
        """Record Zoho's refresh throttle window (None clears it); NotFoundError if missing."""
        await self._update_content(key, "record the refresh throttle", throttled_until=until)

    async def _update_content(self, key: CredentialKey, action: str, **values: Any) -> None:
        stmt = q.update_content(key, self.clock(), **values)
        async with self._one(action) as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                raise NotFoundError(f"no credential {key} in the token store")

    # -- delete --------------------------------------------------------------------------
    async def delete_credential(self, key: CredentialKey) -> bool:
        """Delete the credential and all its connections; False if it did not exist."""
        params = q.key_params(key)
        async with self._write("delete a credential") as conn:
            await conn.execute(q.DELETE_CONNECTIONS_OF_KEY, params)
            result = await conn.execute(q.DELETE_CREDENTIAL, params)
            await self._notify(conn, key_notice(key))
        return result.rowcount > 0

    async def touch_connections(self, used: Mapping[str, float]) -> None:
        """Record when connections were last used (one batched UPDATE; missing ids ignored).
        Rows are updated in id order: apps flushing overlapping batches at once then lock
        them in one order, where their own orders would deadlock each other."""
        if not used:
            return
        rows = [{"cid": cid, "at": at} for cid, at in sorted(used.items())]
        async with self._write("record connection use") as conn:
            await conn.execute(q.TOUCH_CONNECTION, rows)

    async def delete_connection(self, connection_id: str) -> bool:
        """Delete one connection, and its credential when it was the last; False if missing."""
        async with self._write("delete a connection") as conn:
            row = (
                (await conn.execute(q.CONNECTION_BY_ID, {"connection_id": connection_id}))
                .mappings()
                .first()
            )
            if row is None:
                return False
            params = q.key_params(key_of(row))
            # Lock the credential first so two concurrent deletes of its last two connections
            # can't each see the other's connection and both leave the credential behind.
            await conn.execute(q.LOCK_CREDENTIAL, params)
            await conn.execute(q.DELETE_CONNECTION, {"connection_id": connection_id})
            remaining = await conn.scalar(q.COUNT_CONNECTIONS_OF_KEY, params)
            notices = [connection_notice(connection_id)]
            if not remaining:
                await conn.execute(q.DELETE_CREDENTIAL, params)
                notices.append(key_notice(key_of(row)))
            await self._notify(conn, *notices)
        return True

    # -- replaced refresh tokens waiting to be revoked (zohoauth/revocations.py) ----------
    async def pending_revocations(
        self,
        *,
        due_by: float | None = None,
        dc: str | None = None,
        key: CredentialKey | None = None,
        limit: int = 100,
    ) -> list[PendingRevocation]:
        """Pending revocations no process is trying now, longest-waiting first (see
        `queries.pending_revocations_page`).

        A row the key ring can't open is left out (logged without any token): nothing here
        can revoke it, and `zohoauth doctor` reports the missing key by its id."""
        stmt = q.pending_revocations_page(
            now=self.clock(), due_by=due_by, dc=dc, key=key, limit=limit
        )

        async def read(conn: AsyncConnection) -> Sequence[RowMapping]:
            rows: Sequence[RowMapping] = (await conn.execute(stmt)).mappings().all()
            return rows

        rows = await self._read("read pending revocations", read)
        found = []
        for row in rows:
            try:
                found.append(pending_revocation_from_row(self.keyring, row))
            except DecryptionError:
                log.warning(
                    "a replaced refresh token waiting for revocation can't be decrypted "
                    "(its key is not in ZOHOAUTH_ENCRYPTION_KEYS)",
                    key_id=row["key_id"],
                    dc=row["dc"],
                )
        return found

    async def claim_revocation(self, item: PendingRevocation, ttl: float) -> bool:
        """Count an attempt on `item` and keep others off it for `ttl` seconds; True if this
        call claimed it (no other process did since `item` was read)."""
        now = self.clock()
        stmt = q.claim_revocation(item.id, item.attempts, now, now + ttl)
        async with self._one("claim a pending revocation") as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def reschedule_revocation(self, item_id: str, attempts: int, at: float) -> bool:
        """Try the claimed row (now at `attempts`) again at `at`; False if claimed since."""
        stmt = q.reschedule_revocation(item_id, attempts, at)
        async with self._one("reschedule a pending revocation") as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def delete_revocation(self, item_id: str) -> bool:
        """Forget a pending revocation; False if it was gone already."""
        async with self._one("delete a pending revocation") as conn:
            result = await conn.execute(q.DELETE_PENDING_REVOCATION, {"rid": item_id})
        return result.rowcount > 0


if TYPE_CHECKING:
    from .base import TokenStore

    # mypy proves here that SQLTokenStore satisfies the TokenStore protocol.
    _SATISFIES_PROTOCOL: type[TokenStore] = SQLTokenStore

__all__ = ["SQLTokenStore"]
