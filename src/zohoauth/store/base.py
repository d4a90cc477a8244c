"""The `TokenStore` protocol: what the library, the web app and the CLI need from storage.

It declares exactly the methods callers use: the login and import paths (`save_login`,
`save_logins`), the token manager (reads, lease, status, use times, deletes), `ZohoAuth` and
the web routes through it, and `ops.admin` for the CLI. Code that constructs the store itself
may use more of `SQLTokenStore` (the CLI's key commands: `count_by_key_id`, `keyring`, key
rotation on its engine); everything else is typed against this protocol, so mypy proves both
that callers need nothing more and that `SQLTokenStore` satisfies it (`store/sql.py`).

One implementation ships (`store.sql.SQLTokenStore`: SQLAlchemy 2 Core, async, for SQLite,
PostgreSQL and MySQL/MariaDB). Secrets are encrypted before they reach it and decrypted after;
the store never sees a client secret.

The lease methods are the cross-process half of "refresh exactly once": a conditional UPDATE
takes the lease only if it is free or expired, and only its owner can release it or write the
refreshed tokens (which also requires the version it read, so a stale writer never wins).
Taking and releasing the lease do not bump the version (the version counts changes to what the
credential says), so a refresher may read, take the lease, and save with the version it read;
it should still re-read after taking the lease in case another worker just finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from ..credentials import (
    Connection,
    Credential,
    CredentialKey,
    Login,
    PendingRevocation,
    Status,
    TokenSet,
)
from ..errors import StoreError

if TYPE_CHECKING:
    from .changes import ChangeFeed, Notice


class TokenStore(Protocol):
    async def open(self) -> None:
        """Connect and check the schema is migrated (StoreError saying what to run if not)."""

    async def close(self) -> None: ...

    # -- login ---------------------------------------------------------------------------
    async def save_login(self, login: Login, *, revoke_replaced: bool = False) -> list[Connection]:
        """Insert or update in place the credential and one connection per org.

        Logging in again keeps connection ids, sets status active, bumps the version, clears
        any lease or throttle. Returns the connections for `login.orgs`, in that order. With
        `revoke_replaced` (Login with Zoho), a different refresh token it replaces is queued
        in the same transaction as a pending revocation (`zohoauth.revocations`).
        """
        ...

    async def save_logins(self, logins: Sequence[Login]) -> list[list[Connection] | StoreError]:
        """Save many logins (bulk imports), in order: a later login of the same user wins.

        Each login's connections, or the StoreError that login met (one bad login costs only
        itself)."""
        ...

    # -- reads ---------------------------------------------------------------------------
    async def get_credential(self, key: CredentialKey) -> Credential | None: ...

    async def get_connection(self, connection_id: str) -> Connection | None: ...

    async def get_connection_with_credential(
        self, connection_id: str
    ) -> tuple[Connection, Credential] | None:
        """A connection and its credential in one query (the per-request hot path)."""
        ...

    async def find_connections(
        self, *, email: str | None = None, org_id: str | None = None, client_id: str | None = None
    ) -> list[Connection]:
        """Connections matching every given filter (email compared case-insensitively)."""
        ...

    async def connections_of(self, key: CredentialKey) -> list[Connection]: ...

    async def connection_state(self, connection_id: str) -> tuple[Status, int] | None:
        """The status and version of the connection's credential, None if either is gone
        (one indexed read, no secret: the token manager's check before a write)."""
        ...

    def change_feed(
        self, on_change: Callable[[Notice], None], on_reset: Callable[[], None]
    ) -> ChangeFeed | None:
        """A feed of ended credentials and connections from other processes (PostgreSQL's
        LISTEN/NOTIFY), or None where the database has none."""
        ...

    def iter_credentials(self, batch: int = 500) -> AsyncIterator[Credential]:
        """Every credential, decrypted, in key order (CLI listing, refresh --all)."""
        ...

    # -- refresh lease -------------------------------------------------------------------
    async def try_acquire_lease(self, key: CredentialKey, owner: str, ttl: float) -> bool:
        """Take the refresh lease if free or expired (conditional UPDATE). True if taken.

        Not re-entrant: an owner that already holds it gets False. NotFoundError if the
        credential does not exist."""
        ...

    async def release_lease(self, key: CredentialKey, owner: str) -> None:
        """Release the lease only if `owner` still holds it."""
        ...

    async def hold_back(self, key: CredentialKey, owner: str, marker: str, seconds: float) -> bool:
        """Turn `owner`'s lease into a back-off held by `marker` for `seconds`: nobody
        refreshes before it ends. False if `owner` no longer held the lease."""
        ...

    async def save_refreshed(
        self,
        key: CredentialKey,
        owner: str,
        expected_version: int,
        tokens: TokenSet,
        api_domain: str | None = None,
    ) -> bool:
        """Write refreshed tokens and release the lease, only if `owner` holds it and the row is
        still at `expected_version`. Returns False (and writes nothing) otherwise."""
        ...

    async def set_status(self, key: CredentialKey, status: Status) -> None:
        """Set the status (bumps the version). NotFoundError if there is no such credential."""
        ...

    async def set_throttled_until(self, key: CredentialKey, until: float | None) -> None:
        """Record (or with None clear) Zoho's refresh throttle; bumps the version.
        NotFoundError if there is no such credential."""
        ...

    # -- delete --------------------------------------------------------------------------
    async def delete_credential(self, key: CredentialKey) -> bool:
        """Delete the credential and all its connections."""
        ...

    async def touch_connections(self, used: Mapping[str, float]) -> None:
        """Record when connections were last used ({connection id: epoch seconds})."""
        ...

    async def delete_connection(self, connection_id: str) -> bool:
        """Delete one connection; the credential goes too when it was the last one."""
        ...

    # -- replaced refresh tokens waiting to be revoked (zohoauth.revocations) -------------
    async def pending_revocations(
        self,
        *,
        due_by: float | None = None,
        dc: str | None = None,
        key: CredentialKey | None = None,
        limit: int = 100,
    ) -> list[PendingRevocation]:
        """Pending revocations, longest-waiting first: due by `due_by` (None: all), of one DC
        or one credential if given."""
        ...

    async def claim_revocation(self, item: PendingRevocation, ttl: float) -> bool:
        """Count an attempt and keep other processes off `item` for `ttl` seconds (conditional on
        the attempts it was read with, and on no other claim running). True if this call
        claimed it."""
        ...

    async def reschedule_revocation(self, item_id: str, attempts: int, at: float) -> bool:
        """Release a claimed row (now at `attempts`) to be tried again at `at`."""
        ...

    async def delete_revocation(self, item_id: str) -> bool:
        """Forget a pending revocation (revoked, dead at Zoho, or given up)."""
        ...
