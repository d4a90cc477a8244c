"""`Refresher`: the background refresher's loop — claim a batch, refresh what is due, re-plan.

    while not stopped:
        claim ≤ batch_size due rows (SKIP LOCKED) and take their lease     claims.claim
        per row: plan.decide → refresh now, or only write when to look again
        refresh through TokenManager.refresh_leased (the request path's own refresh: the same
            save, events, metrics; "Access Denied" recorded, invalid_code → reauth_required)
        write every row's next plan time and release the leases             claims.finish
        nothing due → sleep until the earliest plan (≤ idle_poll); an outage → back off

Any number of these may run against one database, in `zohoauth worker` processes on many
hosts or inside `zohoauth serve --refresher`; they never refresh a credential twice because
each claimed row carries the same lease an app takes before refreshing.

Stopping (`stop()`, SIGTERM in `zohoauth worker`): no new claims; refreshes in flight get
`shutdown_grace` seconds to finish, then are cancelled (the manager releases their lease); the
rows claimed but not finished are handed back at once ("plan me", so another worker picks them
up first). A SIGKILLed worker leaves only leases, which expire after `claim_ttl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ..credentials import CredentialKey
from ..errors import (
    NotFoundError,
    ReauthRequiredError,
    StoreError,
    ThrottledError,
    ZohoAuthError,
    ZohoUnavailableError,
)
from ..logs import get_logger
from ..manager import TokenManager
from ..metrics import REFRESHER_BATCH, REFRESHER_FAILED, REFRESHER_LAG, REFRESHER_REFRESHED
from ..store.sql import SQLTokenStore
from . import claims
from .plan import Decision, RefresherConfig, after_failure, after_refresh, decide, lag

log = get_logger("zohoauth.refresher")

#: Failure kinds that say Zoho (or the way to it) is in trouble: the worker backs off.
_OUTAGE_KINDS = frozenset({"throttled", "unavailable"})


@dataclass(slots=True)
class BatchResult:
    """What one batch did (for the loop's pacing, tests and the bench)."""

    claimed: int = 0
    refreshed: int = 0
    replanned: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    lags: list[tuple[float, float]] = field(default_factory=list)  # per refresh: (due, lag)

    @property
    def outage(self) -> bool:
        """Every refresh tried in this batch met an outage or Zoho's throttle."""
        hit = sum(n for kind, n in self.failed.items() if kind in _OUTAGE_KINDS)
        return hit > 0 and self.refreshed == 0


@dataclass(slots=True)
class RefresherStats:
    """Totals since start (tests, bench, the CLI's summary)."""

    batches: int = 0
    claimed: int = 0
    refreshed: int = 0
    replanned: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    lags: list[tuple[float, float]] = field(default_factory=list)  # (due, lag), keep_lags

    def add(self, b: BatchResult, keep_lags: bool) -> None:
        self.batches += 1
        self.claimed += b.claimed
        self.refreshed += b.refreshed
        self.replanned += b.replanned
        for kind, n in b.failed.items():
            self.failed[kind] = self.failed.get(kind, 0) + n
        if keep_lags:
            self.lags.extend(b.lags)


def failure_kind(exc: BaseException) -> str:
    """The metric label of a failed refresh (pure)."""
    if isinstance(exc, ReauthRequiredError):
        return "reauth_required"
    if isinstance(exc, ThrottledError):
        return "throttled"
    if isinstance(exc, ZohoUnavailableError):
        return "unavailable"
    if isinstance(exc, StoreError):
        return "store"
    return "error"


class Refresher:
    """Keeps tokens fresh off the request path; see the module docstring. `store` must be the
    `SQLTokenStore` the `manager` uses (the refresher claims through its engine)."""

    def __init__(
        self,
        store: SQLTokenStore,
        manager: TokenManager,
        config: RefresherConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        keep_lags: bool = False,
    ) -> None:
        self.store = store
        self.manager = manager
        self.config = config or RefresherConfig()
        self.clock = clock
        self.owner = manager.owner  # the lease the manager's refresh expects us to hold
        self.stats = RefresherStats()
        self.keep_lags = keep_lags
        self._stop = asyncio.Event()
        self._held: dict[CredentialKey, None] = {}  # claimed, not yet handed back
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerSecond(max(1, round(self.config.client_rate)))
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler on the loop's thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> asyncio.Task[None]:
        """Run in the background of the current event loop (`serve --refresher`)."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="zohoauth-refresher")
        return self._task

    async def aclose(self) -> None:
        """Stop a `start()`ed refresher and wait for it to hand its rows back."""
        self.stop()
        if self._task is not None:
            await self._task

    async def run(self) -> None:
        """Claim and work batches until `stop()`; then finish or hand back claimed rows."""
        cfg = self.config
        outages = 0
        log.info("refresher started", owner=self.owner, batch=cfg.batch_size)
        try:
            while not self._stop.is_set():
                batch = asyncio.ensure_future(self.run_once())
                stopper = asyncio.ensure_future(self._stop.wait())
                try:
                    await asyncio.wait({batch, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if not batch.done():  # stop() while a batch is in flight: let it finish
                        await asyncio.wait({batch}, timeout=cfg.shutdown_grace)
                    if not batch.done():
                        batch.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await batch
                        break
                finally:
                    stopper.cancel()
                try:
                    result = batch.result()
                except Exception as exc:  # the claim or the plan write failed: back off
                    outages += 1
                    REFRESHER_FAILED.labels(failure_kind(exc)).inc()
                    detail = str(exc) if isinstance(exc, ZohoAuthError) else type(exc).__name__
                    log.warning("refresher: a batch failed; backing off", error=detail)
                    await self._sleep(cfg.backoff.delay(outages - 1) or cfg.backoff_cap)
                    continue
                if result.outage:
                    outages += 1
                    delay = cfg.backoff.delay(outages - 1) or cfg.backoff_cap
                    log.warning(
                        "refresher: Zoho unavailable or throttling; backing off",
                        seconds=round(delay, 1),
                    )
                    await self._sleep(delay)
                    continue
                outages = 0
                if result.claimed < cfg.batch_size:  # caught up: wait for the next due row
                    await self._sleep(jittered(await self._idle_wait()))
        finally:
            await self._hand_back()
            log.info("refresher stopped", owner=self.owner, refreshed=self.stats.refreshed)

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that arrives as the stop event is set.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self._stop.wait()

    async def _idle_wait(self) -> float:
        """Until the earliest planned row is due, at most `idle_poll` (new logins are planned
        at 0, so they wait at most that long)."""
        try:
            earliest = await claims.earliest_due(self.store)
        except StoreError:
            return self.config.idle_poll
        now = self.clock()
        if earliest is None:
            REFRESHER_LAG.set(0.0)
            return self.config.idle_poll
        REFRESHER_LAG.set(lag(earliest, now))
        return min(self.config.idle_poll, max(0.05, earliest - now))

    async def _hand_back(self) -> None:
        """Release every row still held, planned at 0 so the next worker takes them first."""
        held, self._held = list(self._held), {}
        if held:
            try:
                await claims.finish(self.store, self.owner, [(k, 0.0) for k in held])
            except StoreError as exc:  # their leases expire after claim_ttl anyway
                log.warning("refresher: could not hand back claimed rows", error=str(exc))

    # -- one batch ----------------------------------------------------------------------------
    async def run_once(self) -> BatchResult:
        """Claim one batch, refresh what is due, write the plan. StoreError if the claim fails."""
        started = time.monotonic()
        now = self.clock()
        got = await claims.claim(
            self.store, self.owner, now, self.config.batch_size, self.config.claim_ttl
        )
        result = BatchResult(claimed=len(got))
        if not got:
            REFRESHER_LAG.set(0.0)
            return result
        for c in got:
            self._held[c.key] = None
        decisions = [(c, decide(c.snapshot, now, self.config)) for c in got]
        due = [d for _, d in decisions if d.refresh]
        REFRESHER_LAG.set(max((lag(d.due, now) for d in due), default=0.0))
        plans = await asyncio.gather(*(self._work(c, d, result) for c, d in decisions))
        try:
            await claims.finish(self.store, self.owner, plans)
        finally:
            for c in got:
                self._held.pop(c.key, None)
        REFRESHER_BATCH.observe(time.monotonic() - started)
        self.stats.add(result, self.keep_lags)
        return result

    async def _work(
        self, c: claims.Claimed, d: Decision, result: BatchResult
    ) -> tuple[CredentialKey, float]:
        """Refresh one claimed credential if due; its next plan time either way."""
        if not d.refresh:
            result.replanned += 1
            return c.key, d.at
        cfg = self.config
        kind = ""
        try:
            await self._pace(c.key.client_id)
            current = claims.credential_of(self.store, c).tokens.access_token
            expires_at = await self.manager.refresh_leased(c.key, current)
        except NotFoundError:  # deleted meanwhile: nothing to plan
            return c.key, 0.0
        except asyncio.CancelledError:
            raise
        except ThrottledError as exc:
            kind = "throttled"
            at = after_failure(c.snapshot, self.clock(), cfg, exc.retry_after)
        except Exception as exc:  # one credential's failure never stops the batch
            kind = failure_kind(exc)
            at = after_failure(c.snapshot, self.clock(), cfg, None)
            if kind != "reauth_required":
                log.warning("refresher: refresh failed", kind=kind, credential=str(c.key))
        else:
            done = self.clock()
            result.refreshed += 1
            result.lags.append((d.due, lag(d.due, done)))
            REFRESHER_REFRESHED.labels(d.reason).inc()
            return c.key, after_refresh(c.snapshot, expires_at, done, cfg)
        result.failed[kind] = result.failed.get(kind, 0) + 1
        REFRESHER_FAILED.labels(kind).inc()
        return c.key, at

    async def _pace(self, client_id: str) -> None:
        """At most `client_rate` refreshes per second per client id from this worker."""
        while True:
            if await self._limiter.hit(self._rate, client_id):
                return
            window = await self._limiter.get_window_stats(self._rate, client_id)
            await asyncio.sleep(min(1.0, max(0.01, window.reset_time - time.time())))


def jittered(seconds: float, rand: Callable[[], float] = random.random) -> float:
    """`seconds` ± 10% (pure but for `rand`), so workers polling together drift apart."""
    return seconds * (0.9 + 0.2 * rand())


__all__ = ["BatchResult", "Refresher", "RefresherStats", "failure_kind", "jittered"]
