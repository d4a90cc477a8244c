"""TokenManager: a valid access token for any connection, refreshed exactly once.

The path of `access_token()`:

1. in-process cache (a dict lookup; no I/O) while the token is outside the refresh skew;
2. otherwise one coroutine per credential goes on (single-flight), the rest await its result;
3. it re-reads the store: another process may have refreshed already;
4. still stale: it takes the cross-process lease (conditional UPDATE), re-reads once more, asks
   Zoho, and writes the new token only if it still owns the lease at the version it read.
   Processes that lose the lease race *wait and re-read*; they never refresh on their own. A
   crashed holder's lease expires and the next waiter takes over.

Failures (docs/zoho-reference.md §2c, §4): `invalid_code` → the credential is marked
`reauth_required` once, an event is emitted and no further request goes to Zoho for it;
"Access Denied" → no refresh until Zoho's window ends, and a still-valid token keeps being
served; network errors and 5xx → bounded retries with jitter (`retry.ON_UNAVAILABLE`), then
ZohoUnavailableError (a still-valid token is served instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp

from . import oauth
from ._http import ZohoHTTP, as_http
from .credentials import Connection, Credential, CredentialKey, Status, TokenSet, needs_refresh
from .datacenters import DataCenterRegistry
from .errors import (
    LeaseTimeoutError,
    NotFoundError,
    ReauthRequiredError,
    ThrottledError,
    ZohoUnavailableError,
)
from .events import Event, EventBus, EventType
from .logs import get_logger
from .metrics import LEASE_WAITS, REFRESHES, TOKEN_CACHE
from .oauth import OAuthClient
from .retry import ON_UNAVAILABLE, RetryPolicy, failure_of
from .revoke import RevokeResult, revoke_credential
from .store.base import TokenStore

log = get_logger("zohoauth.manager")
_NO_CONNECTION = "no such connection; it was deleted or never existed — log in again"
_HIT = TOKEN_CACHE.labels("hit")
_FROM_STORE = TOKEN_CACHE.labels("store")


@dataclass(frozen=True, slots=True)
class ManagerConfig:
    skew: float = 300.0  # refresh this many seconds before expiry (5 minutes)
    lease_ttl: float = 60.0  # must exceed a refresh with all its retries
    lease_wait: float = 75.0  # how long a waiter waits for another worker's refresh
    poll_interval: float = 0.05  # first re-read interval while waiting (doubles up to 0.5 s)
    max_attempts: int = ON_UNAVAILABLE.attempts  # network errors / 5xx: tries per refresh
    retry_base: float = ON_UNAVAILABLE.base  # seconds: the first retry waits base/2..base
    # (equal jitter), each later one up to twice as long (retry.py)
    connection_cache_size: int = 100_000
    use_record_interval: float = 60.0  # write a connection's "last used" at most this often

    @property
    def retry(self) -> RetryPolicy:
        """How a refresh is retried: `retry.ON_UNAVAILABLE` with these attempts and base."""
        return replace(ON_UNAVAILABLE, attempts=max(1, self.max_attempts), base=self.retry_base)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """What a CRM call needs: the token, where to send it, and which org."""

    token: str
    api_domain: str
    expires_at: float
    connection_id: str
    org_id: str
    dc: str

    def __repr__(self) -> str:  # never show the token
        return f"AccessToken(connection_id={self.connection_id!r}, dc={self.dc!r}, ...)"


@dataclass(frozen=True, slots=True)
class _Cached:
    token: str
    api_domain: str
    expires_at: float


class TokenManager:
    """Valid access tokens for connections in a `TokenStore`. One per process is plenty."""

    def __init__(
        self,
        store: TokenStore,
        registry: DataCenterRegistry,
        client: OAuthClient,
        *,
        http: ZohoHTTP | aiohttp.ClientSession | None = None,
        config: ManagerConfig | None = None,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.registry = registry
        self.client = client
        self.config = config or ManagerConfig()
        self.events = events or EventBus()
        self.clock = clock
        # Alone (no `http`), its own transport: 10 s per token call, 5 to connect.
        self._http = as_http(http, timeout=aiohttp.ClientTimeout(total=10.0, sock_connect=5.0))
        self._own_http = http is None
        self._tokens: dict[CredentialKey, _Cached] = {}
        self._connections: dict[str, Connection] = {}
        # connection id -> the AccessToken answered last; an entry lives while its connection
        # is cached and is dropped with it (`forget`). After a sibling connection (same
        # credential, other org) refreshed, it may still answer the previous token until the
        # skew: that token stays valid at Zoho, and a 401 on it (`stale`) bypasses this cache.
        self._served: dict[str, AccessToken] = {}
        self._inflight: dict[CredentialKey, asyncio.Future[_Cached]] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.refresh_count = 0  # refresh requests this process sent (for tests and metrics)
        self._used: dict[str, float] = {}  # connection id -> last use noted
        self._pending_uses: dict[str, float] = {}  # noted, not yet written
        self._flusher: asyncio.Task[None] | None = None

    @property
    def http(self) -> ZohoHTTP:
        """The transport token calls go through (its aiohttp session opens per loop)."""
        return self._http

    async def aclose(self) -> None:
        task, self._flusher = self._flusher, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._flush_uses()
        if self._own_http:
            await self._http.aclose()

    # -- lookups ----------------------------------------------------------------------------
    async def connection(self, connection_id: str) -> Connection:
        """The connection (cached: connections never change but for deletion)."""
        found = self._connections.get(connection_id)
        if found is None:
            found = await self.store.get_connection(connection_id)
            if found is None:
                raise NotFoundError(_NO_CONNECTION)
            self._remember(found)
        return found

    def forget(self, connection_id: str | None = None, key: CredentialKey | None = None) -> None:
        """Drop cached entries (after a delete, a logout or a re-login)."""
        if connection_id is not None:
            self._served.pop(connection_id, None)
            conn = self._connections.pop(connection_id, None)
            if conn is not None and key is None:
                key = conn.credential
        if key is not None:
            self._tokens.pop(key, None)
            for cid in [c for c, v in self._connections.items() if v.credential == key]:
                del self._connections[cid]
                self._served.pop(cid, None)

    # -- the hot path -----------------------------------------------------------------------
    async def access_token(self, connection_id: str, *, stale: str | None = None) -> AccessToken:
        """A valid access token for the connection.

        `stale`: a token Zoho just rejected (401 INVALID_TOKEN); forces a refresh unless
        someone already replaced it.
        """
        now = self.clock()
        if now - self._used.get(connection_id, 0.0) >= self.config.use_record_interval:
            self._note_use(connection_id, now)
        # The answer given last time, while it is outside the skew: one dict lookup and one
        # object, so the cost does not grow with the number of users cached (fewer objects
        # touched = fewer CPU cache misses in dicts of 100k entries).
        served = self._served.get(connection_id)
        if (
            served is not None
            and served.expires_at - self.config.skew > now
            and (stale is None or served.token != stale)
        ):
            _HIT.inc()
            return served
        conn = self._connections.get(connection_id)
        if conn is None:
            got = await self._cold(connection_id, stale)
        else:
            key = conn.credential
            cached = self._tokens.get(key)
            if (
                cached is not None
                and cached.expires_at - self.config.skew > now
                and (stale is None or cached.token != stale)
            ):
                _HIT.inc()
            else:
                cached = await self._single_flight(key, stale)
            got = AccessToken(
                cached.token, cached.api_domain, cached.expires_at, conn.id, conn.org_id, key.dc
            )
        if connection_id in self._connections:  # not forgotten while we waited
            self._served[connection_id] = got
        return got

    # -- last use (for `zohoauth tokens list`), recorded off the request path ---------------------
    def _note_use(self, connection_id: str, now: float) -> None:
        """Remember a use; a background task writes the batch about a second later."""
        self._used[connection_id] = now
        self._pending_uses[connection_id] = now
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(1.0)
        await self._flush_uses()

    async def _flush_uses(self) -> None:
        batch, self._pending_uses = self._pending_uses, {}
        if not batch:
            return
        try:
            await self.store.touch_connections(batch)
        except Exception as exc:  # bookkeeping only: never fail or slow a token lookup
            log.warning("could not record connection use", error=type(exc).__name__)

    async def _cold(self, connection_id: str, stale: str | None) -> AccessToken:
        """First use of a connection in this process: one joined read gives the connection and
        its credential; most of the time the stored token is fresh and that is all."""
        pair = await self.store.get_connection_with_credential(connection_id)
        if pair is None:
            raise NotFoundError(_NO_CONNECTION)
        conn, cred = pair
        self._remember(conn)
        key = conn.credential
        if cred.status is Status.ACTIVE and self._usable(cred, stale) and key not in self._inflight:
            got = self._tokens[key] = self._cached(cred)
            _FROM_STORE.inc()
        else:
            got = await self._single_flight(key, stale)
        return AccessToken(got.token, got.api_domain, got.expires_at, conn.id, conn.org_id, key.dc)

    def _remember(self, conn: Connection) -> None:
        if len(self._connections) >= self.config.connection_cache_size:
            self._connections.clear()
            self._served.clear()
        self._connections[conn.id] = conn

    async def _single_flight(self, key: CredentialKey, stale: str | None) -> _Cached:
        pending = self._inflight.get(key)
        if pending is not None:
            result = await asyncio.shield(pending)
            if stale is None or result.token != stale:
                return result
        fut: asyncio.Future[_Cached] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await self._obtain(key, stale)
            fut.set_result(result)
            self._tokens[key] = result
            return result
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: nobody may be waiting
            raise
        finally:
            if self._inflight.get(key) is fut:
                del self._inflight[key]

    # -- store + lease ----------------------------------------------------------------------
    def _usable(self, cred: Credential, stale: str | None) -> bool:
        t = cred.tokens
        if t.access_token is None or (stale is not None and t.access_token == stale):
            return False
        return not needs_refresh(t, self.clock(), self.config.skew)

    def _still_valid(self, cred: Credential, stale: str | None) -> bool:
        """Not fresh enough to skip a refresh, but Zoho would still accept it."""
        t = cred.tokens
        return (
            t.access_token is not None
            and t.access_token != stale
            and t.expires_at > self.clock() + 5
        )

    @staticmethod
    def _cached(cred: Credential) -> _Cached:
        assert cred.tokens.access_token is not None
        return _Cached(cred.tokens.access_token, cred.api_domain, cred.tokens.expires_at)

    async def _read(self, key: CredentialKey) -> Credential:
        cred = await self.store.get_credential(key)
        if cred is None:
            self.forget(key=key)
            raise NotFoundError("the credential was deleted; log in again")
        if cred.status is not Status.ACTIVE:
            raise ReauthRequiredError(
                f"{cred.email} must log in again (the Zoho grant is {cred.status.value})"
            )
        return cred

    async def _obtain(self, key: CredentialKey, stale: str | None) -> _Cached:
        cred = await self._read(key)
        if self._usable(cred, stale):
            _FROM_STORE.inc()
            return self._cached(cred)
        started = time.monotonic()
        deadline = started + self.config.lease_wait
        interval = self.config.poll_interval
        while True:
            if cred.throttled_until and cred.throttled_until > self.clock():
                if self._still_valid(cred, stale):
                    return self._cached(cred)
                raise ThrottledError(
                    "Zoho is throttling refreshes for this user; try again later",
                    cred.throttled_until,
                )
            if await self.store.try_acquire_lease(key, self.owner, self.config.lease_ttl):
                if time.monotonic() > started + 0.001:
                    LEASE_WAITS.observe(time.monotonic() - started)
                return await self._refresh_holding_lease(key, stale)
            if time.monotonic() > deadline:
                raise LeaseTimeoutError(
                    "another worker is refreshing this token and did not finish in time; retry"
                )
            await asyncio.sleep(interval * (0.5 + random.random()))
            interval = min(interval * 2, 0.5)
            cred = await self._read(key)
            if self._usable(cred, stale):
                LEASE_WAITS.observe(time.monotonic() - started)
                _FROM_STORE.inc()
                return self._cached(cred)

    async def _refresh_holding_lease(self, key: CredentialKey, stale: str | None) -> _Cached:
        released = False
        try:
            cred = await self._read(key)  # someone may have finished just before we got the lease
            if self._usable(cred, stale):
                return self._cached(cred)
            try:
                grant = await self._refresh_with_retries(cred)
            except ReauthRequiredError:
                await self.store.set_status(key, Status.REAUTH_REQUIRED)
                self.forget(key=key)
                await self._emit(EventType.REAUTH_REQUIRED, cred, "refresh token rejected")
                raise
            except ThrottledError as exc:
                await self.store.set_throttled_until(key, exc.retry_after)
                await self._emit(EventType.REFRESH_FAILED, cred, "throttled by Zoho")
                if self._still_valid(cred, stale):
                    return self._cached(cred)
                raise
            except ZohoUnavailableError as exc:
                await self._emit(EventType.REFRESH_FAILED, cred, str(exc))
                if self._still_valid(cred, stale):
                    return self._cached(cred)
                raise
            tokens = TokenSet(cred.tokens.refresh_token, grant.access_token, grant.expires_at)
            saved = await self.store.save_refreshed(
                key, self.owner, cred.version, tokens, grant.api_domain
            )
            released = saved
            if not saved:
                # Our lease expired and another worker refreshed; theirs is the stored one.
                log.warning("refresh lease lost before saving", credential=str(key))
                newer = await self._read(key)
                if self._usable(newer, stale):
                    return self._cached(newer)
            TOKEN_CACHE.labels("refresh").inc()
            await self._emit(EventType.REFRESHED, cred)
            return _Cached(grant.access_token, grant.api_domain, grant.expires_at)
        finally:
            if not released:
                await self.store.release_lease(key, self.owner)

    async def refresh_leased(self, key: CredentialKey, current: str | None) -> float:
        """For the background refresher (`zohoauth.refresher`), which claimed `key`'s lease as
        `self.owner`: refresh unless the stored access token is no longer `current` (then
        someone already replaced it), through the request path's own refresh, save, events and
        metrics; the lease is released either way. Returns the expiry of the token now stored.
        Raises what a refresh raises (ReauthRequiredError, ThrottledError, ...)."""
        return (await self._refresh_holding_lease(key, current)).expires_at

    async def _refresh_with_retries(self, cred: Credential) -> oauth.TokenGrant:
        dc = self.registry.get(cred.key.dc)
        policy = self.config.retry
        tries = 0
        while True:
            tries += 1
            try:
                self.refresh_count += 1
                grant = await oauth.refresh_access_token(
                    self.http,
                    self.registry,
                    self.client,
                    dc,
                    cred.tokens.refresh_token,
                    self.clock(),
                )
            except ReauthRequiredError:
                REFRESHES.labels(dc.code, "reauth_required").inc()
                raise
            except ThrottledError:
                REFRESHES.labels(dc.code, "throttled").inc()
                raise
            except ZohoUnavailableError as exc:
                REFRESHES.labels(dc.code, "unavailable").inc()
                delay = policy.next_delay(failure_of(exc), tries)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
            else:
                REFRESHES.labels(dc.code, "ok").inc()
                return grant

    async def _emit(self, kind: EventType, cred: Credential, detail: str = "") -> None:
        log.info("token event", kind=kind.value, credential=str(cred.key), dc=cred.key.dc)
        await self.events.emit(Event(kind, str(cred.key), cred.email, cred.key.dc, detail))

    # -- revoke / delete --------------------------------------------------------------------
    async def revoke(self, connection_id: str) -> RevokeResult:
        """Revoke the connection's grant at Zoho, by `zohoauth.revoke`'s rule: the credential
        and all its connections are deleted once Zoho no longer honours it; otherwise they are
        kept, marked revoke_pending, and the result says why. No token is served after either."""
        conn = await self.connection(connection_id)
        try:
            return await revoke_credential(self.store, self.registry, self.http, conn.credential)
        finally:
            self.forget(key=conn.credential)

    async def delete(self, connection_id: str) -> bool:
        """Forget one connection locally (the grant at Zoho stays)."""
        conn = self._connections.get(connection_id) or await self.store.get_connection(
            connection_id
        )
        deleted = await self.store.delete_connection(connection_id)
        self.forget(connection_id, conn.credential if conn else None)
        return deleted
