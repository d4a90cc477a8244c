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
served; network errors and 5xx → bounded retries with jitter (`retry.ON_UNAVAILABLE`), then a
back-off that every process honours (the lease becomes `~backoff:<seconds>` until it ends:
5 s, doubling to 5 minutes, one try each), during which a still-valid token is served, else
ZohoUnavailableError with `retry_after` — so an outage costs Zoho at most ~10 token requests
per user in 10 minutes (docs/zoho-reference.md §4).

Ended connections (logout, delete, revoke, reauth-required in any process): see
`token_cache.py`. On PostgreSQL a change feed (`store/changes.py`) makes every process forget
within milliseconds; without a live feed a cached answer older than `recheck_interval` is
confirmed from the store before it is served; and `verify=True` (every CRM write) confirms it
always, on every engine.

A lease whose release failed (the store went away mid-refresh) is released again in the
background as soon as the store answers, and before this process next takes it: no request
waits for its own process's stranded lease to expire.
"""

from __future__ import annotations

import asyncio
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
    StoreError,
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
from .store.changes import ChangeFeed, Notice
from .token_cache import AccessToken, Entry, TokenCache
from .usage import UsageRecorder

log = get_logger("zohoauth.manager")
_NO_CONNECTION = "no such connection; it was deleted or never existed — log in again"
_HIT = TOKEN_CACHE.labels("hit")
_FROM_STORE = TOKEN_CACHE.labels("store")
_CHECKED = TOKEN_CACHE.labels("checked")
#: A lease held by this "owner" is a back-off after a failed refresh, not a refresher ("~" is
#: never in a host name, so no real owner starts with it); the seconds it lasted follow.
BACKOFF_OWNER = "~backoff:"


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
    # Without a live change feed, confirm a cached token from the store when it was last
    # confirmed longer ago than this (seconds): how long another process's logout may go
    # unnoticed by reads here. Writes are confirmed every time.
    recheck_interval: float = 1.0
    use_change_feed: bool = True  # on PostgreSQL, LISTEN for ended connections
    # After a refresh fails with Zoho unavailable: no process tries again for this long,
    # doubling after each failed try up to `unavailable_backoff_max` (seconds).
    unavailable_backoff: float = 5.0
    unavailable_backoff_max: float = 300.0

    @property
    def retry(self) -> RetryPolicy:
        """How a refresh is retried: `retry.ON_UNAVAILABLE` with these attempts and base."""
        return replace(ON_UNAVAILABLE, attempts=max(1, self.max_attempts), base=self.retry_base)


def backoff_of(lease_owner: str | None) -> float | None:
    """The seconds of the back-off a lease holder names (`~backoff:<seconds>`), else None."""
    if lease_owner is None or not lease_owner.startswith(BACKOFF_OWNER):
        return None
    try:
        return float(lease_owner[len(BACKOFF_OWNER) :])
    except ValueError:
        return None


def next_backoff(previous: float | None, first: float, cap: float) -> float:
    """The back-off after a failed refresh: `first`, then twice the previous one, up to `cap`."""
    return first if previous is None else min(cap, max(first, previous * 2))


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
        # After a sibling connection (same credential, other org) refreshed, a connection's
        # served answer may still be the previous token until the skew: that token stays valid
        # at Zoho, and a 401 on it (`stale`) bypasses the cache.
        self.cache = TokenCache(self.config.connection_cache_size)
        self._inflight: dict[CredentialKey, asyncio.Future[Entry]] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.refresh_count = 0  # refresh requests this process sent (for tests and metrics)
        self.usage = UsageRecorder(store, self.config.use_record_interval)
        self._feed: ChangeFeed | None = None
        self._feed_possible = self.config.use_change_feed
        self._stranded: set[CredentialKey] = set()  # leases whose release failed
        self._releaser: asyncio.Task[None] | None = None

    @property
    def http(self) -> ZohoHTTP:
        """The transport token calls go through (its aiohttp session opens per loop)."""
        return self._http

    @property
    def feed_live(self) -> bool:
        """Ended connections reach this process within milliseconds (a live change feed)."""
        return self._feed is not None and self._feed.live

    async def aclose(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            await feed.aclose()
        task, self._releaser = self._releaser, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._release_stranded()
        await self.usage.aclose()
        if self._own_http:
            await self._http.aclose()

    # -- lookups ----------------------------------------------------------------------------
    async def connection(self, connection_id: str) -> Connection:
        """The connection (cached: connections never change but for deletion)."""
        found = self.cache.connections.get(connection_id)
        if found is None:
            generation = self.cache.generation
            found = await self.store.get_connection(connection_id)
            if found is None:
                raise NotFoundError(_NO_CONNECTION)
            self.cache.remember(found, generation)
        return found

    def forget(self, connection_id: str | None = None, key: CredentialKey | None = None) -> None:
        """Drop cached entries (after a delete, a logout or a re-login)."""
        self.cache.forget(connection_id, key)

    def _on_change(self, notice: Notice) -> None:
        """Another process (or this one) ended something: forget it (from the change feed)."""
        if notice.key is None and notice.connection_id is None:
            self.cache.clear()
        else:
            self.cache.forget(notice.connection_id, notice.key)

    def _start_feed(self) -> None:
        """Listen for ended connections, where the store can (PostgreSQL), on this loop."""
        if self._feed is not None and self._feed.running:
            return
        feed = self.store.change_feed(self._on_change, self.cache.clear)
        if feed is None:
            self._feed_possible = False
            return
        self._feed = feed
        feed.start()

    # -- the hot path -----------------------------------------------------------------------
    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken:
        """A valid access token for the connection.

        `stale`: a token Zoho just rejected (401 INVALID_TOKEN); forces a refresh unless
        someone already replaced it. `verify`: confirm from the store that the connection is
        still live (not logged out, deleted, revoked or reauth-required in any process) before
        answering — one indexed read; every CRM write asks for it.
        """
        now = self.clock()
        self.usage.note(connection_id, now)
        # The answer given last time, while it is outside the skew: one dict lookup and one
        # object, so the cost does not grow with the number of users cached (fewer objects
        # touched = fewer CPU cache misses in dicts of 100k entries).
        served = self.cache.served.get(connection_id)
        trusted = self._feed is not None and self._feed.live
        if not trusted and self._feed_possible:
            self._start_feed()
        if (
            served is not None
            and served.answer.expires_at - self.config.skew > now
            and (stale is None or served.answer.token != stale)
        ):
            if not verify and (trusted or now - served.checked < self.config.recheck_interval):
                _HIT.inc()
                return served.answer
            try:
                confirmed = await self._confirm(connection_id, served.version)
            except StoreError:
                if verify:
                    raise  # a write is never sent unconfirmed
                # A read while the store is unreachable: nobody could commit a logout through
                # it either, so the answer not known to be ended is served (fail open for
                # reads only; the next read past the interval asks again).
                _HIT.inc()
                return served.answer
            if confirmed:
                served.checked = now
                _CHECKED.inc()
                return served.answer
        generation = self.cache.generation
        conn = self.cache.connections.get(connection_id) if trusted and not verify else None
        if conn is None:
            # Not trusted or asked to verify: the joined read is the confirmation.
            got, version = await self._cold(connection_id, stale)
        else:
            key = conn.credential
            cached = self.cache.tokens.get(key)
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
            version = cached.version
        self.cache.serve(got, version, now, generation)
        return got

    async def _confirm(self, connection_id: str, version: int) -> bool:
        """The store still has the connection, active, at `version`; else it is forgotten."""
        state = await self.store.connection_state(connection_id)
        if state is not None and state[0] is Status.ACTIVE and state[1] == version:
            return True
        conn = self.cache.connections.get(connection_id)
        self.cache.forget(connection_id, conn.credential if conn is not None else None)
        return False

    async def _cold(self, connection_id: str, stale: str | None) -> tuple[AccessToken, int]:
        """A connection not (or no longer) trusted in this process: one joined read gives the
        connection and its credential; most of the time the stored token is fresh and that is
        all."""
        generation = self.cache.generation
        pair = await self.store.get_connection_with_credential(connection_id)
        if pair is None:
            self.cache.forget(connection_id)
            raise NotFoundError(_NO_CONNECTION)
        conn, cred = pair
        self.cache.remember(conn, generation)
        key = conn.credential
        if cred.status is Status.ACTIVE and self._usable(cred, stale) and key not in self._inflight:
            got = self._entry(cred)
            self.cache.keep(key, got, generation)
            _FROM_STORE.inc()
        else:
            got = await self._single_flight(key, stale)
        answer = AccessToken(
            got.token, got.api_domain, got.expires_at, conn.id, conn.org_id, key.dc
        )
        return answer, got.version

    async def _single_flight(self, key: CredentialKey, stale: str | None) -> Entry:
        pending = self._inflight.get(key)
        if pending is not None:
            result = await asyncio.shield(pending)
            if stale is None or result.token != stale:
                return result
        fut: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        generation = self.cache.generation
        try:
            result = await self._obtain(key, stale)
            fut.set_result(result)
            self.cache.keep(key, result, generation)
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
    def _entry(cred: Credential, version: int | None = None) -> Entry:
        assert cred.tokens.access_token is not None
        return Entry(
            cred.tokens.access_token,
            cred.api_domain,
            cred.tokens.expires_at,
            cred.version if version is None else version,
        )

    async def _read(self, key: CredentialKey) -> Credential:
        cred = await self.store.get_credential(key)
        if cred is None:
            self.forget(key=key)
            raise NotFoundError("the credential was deleted; log in again")
        if cred.status is not Status.ACTIVE:
            self.forget(key=key)
            raise ReauthRequiredError(
                f"{cred.email} must log in again (the Zoho grant is {cred.status.value})"
            )
        return cred

    @staticmethod
    def _unavailable(until: float) -> ZohoUnavailableError:
        """The answer while a back-off lasts. `until` is in the lease's clock (the store's,
        the wall clock in production), so the wait is counted against the wall clock."""
        wait = max(1, int(until - time.time() + 0.999))
        return ZohoUnavailableError(
            "Zoho's accounts server did not answer this user's last token refresh; the next "
            f"try is in {wait} s — try again then",
            retry_after=until,
        )

    async def _obtain(self, key: CredentialKey, stale: str | None) -> Entry:
        cred = await self._read(key)
        if self._usable(cred, stale):
            _FROM_STORE.inc()
            return self._entry(cred)
        started = time.monotonic()
        deadline = started + self.config.lease_wait
        interval = self.config.poll_interval
        while True:
            if cred.throttled_until and cred.throttled_until > self.clock():
                return self._while_throttled(cred, stale)
            if key in self._stranded:
                await self._release(key)  # ours, from a refresh the store cut off
            if await self.store.try_acquire_lease(key, self.owner, self.config.lease_ttl):
                if time.monotonic() > started + 0.001:
                    LEASE_WAITS.observe(time.monotonic() - started)
                return await self._refresh_holding_lease(key, stale, backoff_of(cred.lease_owner))
            # Lost: to a refresher (wait for it), or to a back-off after a failed refresh,
            # which no waiting within a request outlasts (answer now).
            cred = await self._read(key)
            if self._usable(cred, stale):
                LEASE_WAITS.observe(time.monotonic() - started)
                _FROM_STORE.inc()
                return self._entry(cred)
            if backoff_of(cred.lease_owner) is not None and cred.lease_expires_at is not None:
                if self._still_valid(cred, stale):
                    return self._entry(cred)
                raise self._unavailable(cred.lease_expires_at)
            if time.monotonic() > deadline:
                raise LeaseTimeoutError(
                    "another worker is refreshing this token and did not finish in time; retry"
                )
            await asyncio.sleep(interval * (0.5 + random.random()))
            interval = min(interval * 2, 0.5)

    def _while_throttled(self, cred: Credential, stale: str | None) -> Entry:
        """Inside Zoho's throttle window nobody asks Zoho: a still-valid token is served,
        otherwise ThrottledError says when to come back."""
        if self._still_valid(cred, stale):
            return self._entry(cred)
        raise ThrottledError(
            "Zoho is throttling refreshes for this user; try again later",
            cred.throttled_until or self.clock(),
        )

    async def _refresh_holding_lease(
        self, key: CredentialKey, stale: str | None, backed_off: float | None
    ) -> Entry:
        """Refresh while holding the lease. `backed_off`: the back-off that just ended, if the
        previous try failed with Zoho unavailable (then one try, and a longer back-off)."""
        released = False
        try:
            cred = await self._read(key)  # someone may have finished just before we got the lease
            if self._usable(cred, stale):
                return self._entry(cred)
            if cred.throttled_until and cred.throttled_until > self.clock():
                # ... or recorded Zoho's throttle just before: do not ask Zoho once more.
                return self._while_throttled(cred, stale)
            try:
                grant = await self._refresh_with_retries(cred, once=backed_off is not None)
            except ReauthRequiredError:
                await self.store.set_status(key, Status.REAUTH_REQUIRED)
                self.forget(key=key)
                await self._emit(EventType.REAUTH_REQUIRED, cred, "refresh token rejected")
                raise
            except ThrottledError as exc:
                await self.store.set_throttled_until(key, exc.retry_after)
                await self._emit(EventType.REFRESH_FAILED, cred, "throttled by Zoho")
                if self._still_valid(cred, stale):
                    return self._entry(cred, cred.version + 1)
                raise
            except ZohoUnavailableError as exc:
                c = self.config
                delay = next_backoff(backed_off, c.unavailable_backoff, c.unavailable_backoff_max)
                released = await self.store.hold_back(
                    key, self.owner, f"{BACKOFF_OWNER}{delay:g}", delay
                )
                await self._emit(EventType.REFRESH_FAILED, cred, str(exc))
                if self._still_valid(cred, stale):
                    return self._entry(cred)
                raise ZohoUnavailableError(str(exc), retry_after=time.time() + delay) from exc
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
                    return self._entry(newer)
            TOKEN_CACHE.labels("refresh").inc()
            await self._emit(EventType.REFRESHED, cred)
            # The version our save wrote; if it did not save, a re-check will read the truth.
            return Entry(grant.access_token, grant.api_domain, grant.expires_at, cred.version + 1)
        finally:
            if not released:
                await self._release(key)

    async def refresh_leased(self, key: CredentialKey, current: str | None) -> float:
        """For the background refresher (`zohoauth.refresher`), which claimed `key`'s lease as
        `self.owner`: refresh unless the stored access token is no longer `current` (then
        someone already replaced it), through the request path's own refresh, save, events and
        metrics; the lease is released either way. Returns the expiry of the token now stored.
        Raises what a refresh raises (ReauthRequiredError, ThrottledError, ...)."""
        return (await self._refresh_holding_lease(key, current, None)).expires_at

    # -- leases the store could not release -------------------------------------------------
    async def _release(self, key: CredentialKey) -> None:
        """Release our lease; if the store fails (or we are cancelled meanwhile), remember it and
        keep trying in the background, so it does not stay held until it expires."""
        try:
            await self.store.release_lease(key, self.owner)
        except BaseException as exc:
            self._stranded.add(key)
            if self._releaser is None or self._releaser.done():
                self._releaser = asyncio.get_running_loop().create_task(self._release_later())
            if isinstance(exc, StoreError):
                log.warning("could not release the refresh lease; retrying", credential=str(key))
                return
            raise
        self._stranded.discard(key)

    async def _release_later(self) -> None:
        wait = 0.25
        deadline = time.monotonic() + max(600.0, self.config.lease_ttl)
        while self._stranded and time.monotonic() < deadline:
            await asyncio.sleep(wait)
            wait = min(wait * 2, 2.0)
            await self._release_stranded()

    async def _release_stranded(self) -> None:
        for key in list(self._stranded):
            try:
                await self.store.release_lease(key, self.owner)
            except StoreError:
                return  # still down; the next round tries again
            except Exception as exc:  # never let bookkeeping kill the loop
                log.warning("releasing a stranded lease failed", error=type(exc).__name__)
                return
            self._stranded.discard(key)

    async def _refresh_with_retries(self, cred: Credential, *, once: bool) -> oauth.TokenGrant:
        dc = self.registry.get(cred.key.dc)
        policy = replace(self.config.retry, attempts=1) if once else self.config.retry
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
        conn = self.cache.connections.get(connection_id) or await self.store.get_connection(
            connection_id
        )
        deleted = await self.store.delete_connection(connection_id)
        self.forget(connection_id, conn.credential if conn else None)
        return deleted


__all__ = ["AccessToken", "ManagerConfig", "TokenManager", "backoff_of", "next_backoff"]
