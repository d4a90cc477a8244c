"""Operating the token store: list what is stored, find a connection by a name people type,
refresh many credentials within Zoho's limits. (Revoking is `zohoauth.revoke`, one rule for
the CLI, the web app and the library.)

The CLI (`zohoauth tokens ...`) is a thin shell over these; scripts and the web app can use them
too. Nothing here returns or prints a token: rows carry who, where and when, never the secret.

Refreshing goes through `TokenManager.access_token`, so the lease, the single flight and Zoho's
throttle handling all apply: a CLI refresh next to a running app never refreshes twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..credentials import Connection, Credential, CredentialKey, Status, needs_refresh
from ..errors import (
    AmbiguousConnectionError,
    NotFoundError,
    ReauthRequiredError,
    StoreError,
    ThrottledError,
    TokenError,
    ZohoUnavailableError,
)
from ..events import Event, EventType
from ..manager import TokenManager, backoff_of
from ..store.base import TokenStore


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One connection as `tokens list` shows it (no secret in here)."""

    connection_id: str
    email: str
    org_id: str
    org_name: str
    dc: str
    client_id: str
    zuid: str
    status: str
    expires_at: float  # of the current access token; 0 when there is none
    refreshed_at: float | None
    last_used_at: float | None
    throttled_until: float | None
    api_domain: str
    scopes: tuple[str, ...]
    version: int
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, conn: Connection, cred: Credential) -> TokenRow:
        return cls(
            connection_id=conn.id,
            email=cred.email,
            org_id=conn.org_id,
            org_name=conn.org_name,
            dc=conn.dc,
            client_id=cred.key.client_id,
            zuid=cred.key.zuid,
            status=cred.status.value,
            expires_at=cred.tokens.expires_at if cred.tokens.access_token else 0.0,
            refreshed_at=cred.refreshed_at,
            last_used_at=conn.last_used_at,
            throttled_until=cred.throttled_until,
            api_domain=cred.api_domain,
            scopes=cred.scopes,
            version=cred.version,
            created_at=conn.created_at,
            updated_at=cred.updated_at,
        )


async def list_rows(store: TokenStore) -> list[TokenRow]:
    """Every connection with its credential's state, sorted by email, DC and org.

    Two passes over the store (all connections, then all credentials in key-order batches),
    joined in memory: two queries per 500 credentials instead of one per connection.
    """
    by_key: dict[CredentialKey, list[Connection]] = {}
    for conn in await store.find_connections():
        by_key.setdefault(conn.credential, []).append(conn)
    rows: list[TokenRow] = []
    async for cred in store.iter_credentials():
        rows.extend(TokenRow.of(conn, cred) for conn in by_key.get(cred.key, ()))
    rows.sort(key=lambda r: (r.email.lower(), r.dc, r.org_name, r.org_id))
    return rows


async def resolve(store: TokenStore, ref: str) -> Connection:
    """The one connection `ref` names: a connection id (`conn_...`), an email, `email:org_id`
    (the official SDK's user name), or a credential key `client_id:dc:zuid` with one org.

    NotFoundError when nothing matches; AmbiguousConnectionError when several do (listing
    their ids to choose from).
    """
    ref = ref.strip()
    if not ref:
        raise NotFoundError("give a connection id, an email or email:org_id")
    if ref.startswith("conn_"):
        found = await store.get_connection(ref)
        if found is None:
            raise NotFoundError(f"no connection {ref}; `zohoauth tokens list` shows them")
        return found
    if "@" in ref:
        email, _, org_id = ref.partition(":") if ref.count(":") == 1 else (ref, "", "")
        matches = await store.find_connections(email=email, org_id=org_id or None)
    else:
        parts = ref.rsplit(":", 2)
        if len(parts) != 3:
            raise NotFoundError(
                f"{ref!r} is neither a connection id, an email nor client_id:dc:zuid"
            )
        matches = await store.connections_of(CredentialKey(*parts))
    if not matches:
        raise NotFoundError(f"nothing stored for {ref}; `zohoauth tokens list` shows what is")
    if len(matches) > 1:
        ids = ", ".join(f"{c.id} ({c.email}, {c.dc}, org {c.org_id})" for c in matches)
        raise AmbiguousConnectionError(
            f"{ref} matches {len(matches)} connections: {ids}; pick one by id"
        )
    return matches[0]


async def credential_of(store: TokenStore, conn: Connection) -> Credential:
    cred = await store.get_credential(conn.credential)
    if cred is None:
        raise NotFoundError(f"the credential of {conn.id} was deleted meanwhile")
    return cred


# -- refresh -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What happened to one credential. `outcome` is one of OUTCOMES."""

    key: CredentialKey
    email: str
    outcome: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("refreshed", "fresh")


OUTCOMES = (
    "refreshed",  # a new access token was stored
    "fresh",  # not due yet (or another worker refreshed it meanwhile): nothing sent to Zoho
    "skipped",  # not refreshable here (another client, needs a login, throttled window open)
    "reauth_required",  # Zoho rejected the refresh token: the user must log in again
    "throttled",  # Zoho answered "Access Denied": retry after its window
    "unavailable",  # Zoho could not be reached (after the manager's bounded retries)
    "failed",  # anything else, with the reason
)


def refresh_plan(
    cred: Credential, client_id: str, now: float, skew: float, force: bool
) -> RefreshResult | None:
    """Why `cred` must not be refreshed now (a result to report), or None to go ahead (pure)."""
    if cred.key.client_id != client_id:
        return RefreshResult(
            cred.key,
            cred.email,
            "skipped",
            f"belongs to client {cred.key.client_id}; ZOHOAUTH_CLIENT_ID is {client_id or 'unset'}",
        )
    if cred.status is not Status.ACTIVE:
        return RefreshResult(
            cred.key, cred.email, "skipped", f"status {cred.status.value}: the user must log in"
        )
    if cred.throttled_until and cred.throttled_until > now:
        left = format_duration(cred.throttled_until - now)
        return RefreshResult(
            cred.key, cred.email, "skipped", f"Zoho throttles this user's refreshes for {left}"
        )
    held = backoff_of(cred.lease_owner)
    if held is not None and cred.lease_expires_at is not None and cred.lease_expires_at > now:
        # A refresh failed with Zoho unavailable moments ago: every process waits it out.
        left = format_duration(cred.lease_expires_at - now)
        valid = cred.tokens.access_token is not None and cred.tokens.expires_at > now
        return RefreshResult(
            cred.key,
            cred.email,
            "unavailable",
            f"Zoho's accounts server did not answer the last refresh; the next try is in {left}"
            + ("; the current token stays valid" if valid else ""),
        )
    if not force and not needs_refresh(cred.tokens, now, skew):
        left = format_duration(cred.tokens.expires_at - now)
        return RefreshResult(cred.key, cred.email, "fresh", f"valid for {left}")
    return None


async def refresh_credentials(
    manager: TokenManager,
    targets: Sequence[tuple[Credential, Connection]],
    *,
    force: bool = False,
    concurrency: int = 4,
    on_result: Callable[[RefreshResult], None] | None = None,
) -> list[RefreshResult]:
    """Refresh each credential at most once, `concurrency` at a time, in the given order.

    Only due ones are refreshed unless `force`; credentials of another client, ones that need
    a new login and ones inside Zoho's throttle window are skipped without a request, and so
    are ones in the back-off after Zoho was unavailable (reported `unavailable`). Results
    come back in `targets` order; `on_result` sees each as it finishes (progress bars).
    """
    failures: dict[str, str] = {}

    def note(event: Event) -> None:
        failures[event.credential] = event.detail

    unsubscribe = manager.events.subscribe(EventType.REFRESH_FAILED, note)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(cred: Credential, conn: Connection) -> RefreshResult:
        async with gate:
            result = await _refresh_one(manager, cred, conn, force, failures)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(cred, conn) for cred, conn in targets)))
    finally:
        unsubscribe()


async def _refresh_one(
    manager: TokenManager,
    cred: Credential,
    conn: Connection,
    force: bool,
    failures: dict[str, str],
) -> RefreshResult:
    skip = refresh_plan(cred, manager.client.client_id, manager.clock(), manager.config.skew, force)
    if skip is not None:
        return skip
    before = cred.tokens.access_token
    key, email = cred.key, cred.email
    try:
        got = await manager.access_token(conn.id, stale=before if force else None)
    except ReauthRequiredError:
        return RefreshResult(key, email, "reauth_required", "Zoho rejected the refresh token")
    except ThrottledError as exc:
        left = format_duration(exc.retry_after - manager.clock())
        return RefreshResult(key, email, "throttled", f"Zoho said Access Denied; retry in {left}")
    except ZohoUnavailableError as exc:
        return RefreshResult(key, email, "unavailable", str(exc))
    except (TokenError, StoreError) as exc:  # LeaseTimeoutError, a client Zoho refuses, ...
        return RefreshResult(key, email, "failed", str(exc))
    if got.token != before:
        return RefreshResult(key, email, "refreshed", f"valid for {_left(got.expires_at, manager)}")
    reason = failures.get(str(key))
    if reason:  # the manager kept serving a still-valid token after a failed refresh
        # It records Zoho's throttle window on the credential before it reports the failure;
        # any other failed refresh that still serves a token was Zoho being unavailable.
        now = await manager.store.get_credential(key)
        window = now.throttled_until if now is not None else None
        throttled = window is not None and window > manager.clock()
        return RefreshResult(
            key,
            email,
            "throttled" if throttled else "unavailable",
            f"{reason}; the current token stays valid",
        )
    return RefreshResult(key, email, "fresh", f"valid for {_left(got.expires_at, manager)}")


def _left(expires_at: float, manager: TokenManager) -> str:
    return format_duration(expires_at - manager.clock())


# -- formatting ----------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`42s`, `17m`, `3h05m`, `2d04h` (pure; negative durations as `-...`)."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600:02d}h"


def format_time(at: float | None, now: float | None = None) -> str:
    """`5m ago` / `in 5m` / `never`."""
    if not at:
        return "never"
    delta = at - (time.time() if now is None else now)
    return f"in {format_duration(delta)}" if delta >= 0 else f"{format_duration(-delta)} ago"


__all__ = [
    "OUTCOMES",
    "RefreshResult",
    "TokenRow",
    "credential_of",
    "format_duration",
    "format_time",
    "list_rows",
    "refresh_credentials",
    "refresh_plan",
    "resolve",
]
