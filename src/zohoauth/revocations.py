"""Revoking the refresh tokens re-logins replaced: right after the login, and later until Zoho
confirms.

Each Login with Zoho mints a new refresh token, and Zoho keeps at most 20 per user and client,
silently deleting the oldest — another app's grant of the same client included
(docs/zoho-reference.md §4). A replaced token left live at Zoho is also one more credential
that works if it ever leaked. So the token a re-login replaces is revoked:

1. The login's own transaction stores the new token and queues the old one in
   `zohoauth_pending_revocations`, encrypted like every secret (`store/upsert.py`). The new
   token is committed before Zoho is asked anything, so no failure here can cost it.
2. Right after the commit, `ZohoAuth.complete_login` revokes it (`Revoker.after_login`,
   waiting at most `LOGIN_WAIT_SECONDS`; past that it finishes in the background).
3. What failed is tried again: when a `ZohoAuth` opens (app start: every row once), after a
   successful refresh in the row's DC (its accounts server answers again), and by a loop every
   `POLL_SECONDS` for rows whose back-off has passed (`RETRY`: 2–4 minutes, then twice as long
   each time, at most 8 tries over 4 to 8.5 hours).
4. Zoho confirmed, or answered that the token is no longer valid: the row is deleted. After the
   last try it is dropped and logged (whose and which DC, never the token): the token then
   lives at Zoho until it ages out of the 20 or the user removes the app under Connected Apps.

`zohoauth tokens import-sdk` does not come here on purpose: the token it replaces may still be
in use by the app it was imported from (see `sdk/_importer.py`).

Several processes share the queue. A claim (a conditional UPDATE on `attempts` and
`claimed_until`) lets one of them try a row at a time, even when the back-off is skipped; a
process that dies holding a claim delays the row by `CLAIM_SECONDS`. Zoho's answer is read
by the one revoke rule (`revoke.revoke_at_zoho`); `decide` is the pure part.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .credentials import CredentialKey, PendingRevocation
from .datacenters import DataCenterRegistry
from .errors import ZohoAuthError
from .logs import get_logger
from .metrics import REPLACED_REVOCATIONS
from .retry import Failure, RetryPolicy
from .revoke import RevokeOutcome, revoke_at_zoho
from .store.base import TokenStore

if TYPE_CHECKING:
    from ._http import ZohoHTTP

log = get_logger("zohoauth.revocations")

#: Tries per replaced token, and the waits between them: 2–4 min, 4–8, … 128–256 min, equal
#: jitter so the processes of an app spread out; 4 to 8.5 h from the first try to the last.
RETRY = RetryPolicy(
    attempts=8, base=240.0, cap=6 * 3600.0, retry_on=frozenset({Failure.UNAVAILABLE})
)
#: A claimed row is left alone this long by other processes (one revoke call takes seconds).
CLAIM_SECONDS = 120.0
#: How often the loop looks for rows whose back-off has passed (one indexed query).
POLL_SECONDS = 60.0
#: A successful refresh in a DC retries that DC's rows at once, at most this often.
KICK_SECONDS = 60.0
#: How long `complete_login` waits for the revocation before answering (it goes on after).
LOGIN_WAIT_SECONDS = 5.0


class Next(StrEnum):
    """What becomes of a pending revocation after an attempt."""

    DONE = "done"  # the token is dead at Zoho: forget it
    RETRY = "retry"  # try again later
    GIVE_UP = "give_up"  # out of tries: drop it, and log that it may be live


def decide(
    outcome: RevokeOutcome,
    attempts: int,
    policy: RetryPolicy = RETRY,
    *,
    rand: Callable[[], float] = random.random,
) -> tuple[Next, float]:
    """After try number `attempts` (from 1) ended in `outcome`: what next, and for RETRY the
    seconds to wait (pure). Zoho's refusals are retried like outages: a refusal is not proof
    that the token is dead, and the tries are bounded either way."""
    if outcome in (RevokeOutcome.REVOKED, RevokeOutcome.ALREADY_INVALID):
        return Next.DONE, 0.0
    if attempts >= policy.attempts:
        return Next.GIVE_UP, 0.0
    return Next.RETRY, policy.delay(attempts - 1, rand=rand) or 0.0


@dataclass(frozen=True, slots=True)
class Drained:
    """What one pass over the queue did (rows another process held are in none of these)."""

    done: int = 0
    retry: int = 0
    given_up: int = 0

    def __add__(self, other: Drained) -> Drained:
        return Drained(
            self.done + other.done, self.retry + other.retry, self.given_up + other.given_up
        )


_ONE = {
    Next.DONE: Drained(done=1),
    Next.RETRY: Drained(retry=1),
    Next.GIVE_UP: Drained(given_up=1),
}


class Revoker:
    """The queue of replaced refresh tokens and the loop that works it off (one per ZohoAuth).

    `after_login` right after a login, `start` at open (a pass over every row, then the loop),
    `refreshed_in(dc)` from the REFRESHED event, `aclose` at close. `revoke_pending` is one
    pass, for tests and operators.
    """

    def __init__(
        self,
        store: TokenStore,
        registry: DataCenterRegistry,
        http: ZohoHTTP,
        *,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy = RETRY,
        poll: float = POLL_SECONDS,
        login_wait: float = LOGIN_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.registry = registry
        self.http = http
        self.clock = clock
        self.policy = policy
        self.poll = poll
        self.login_wait = login_wait
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Drained]] = set()
        self._wake = asyncio.Event()
        self._first_pass = asyncio.Event()
        self._kicked: set[str] = set()
        self._last_kick: dict[str, float] = {}

    # -- one pass ----------------------------------------------------------------------------
    async def revoke_pending(
        self,
        *,
        key: CredentialKey | None = None,
        dc: str | None = None,
        due_only: bool = True,
        limit: int = 100,
    ) -> Drained:
        """Try the queued tokens (of one credential or DC if given): only those whose back-off
        has passed, or with `due_only=False` all (the accounts server is known to answer) but
        those down to their last try, which always waits out its back-off — so a burst of
        refreshes while revocations keep failing can't use up a row's tries in minutes.
        StoreError propagates; Zoho's failures are the rows' outcomes."""
        now = self.clock()
        items = await self.store.pending_revocations(
            due_by=now if due_only else None, dc=dc, key=key, limit=limit
        )
        total = Drained()
        for item in items:
            if item.attempts + 1 >= self.policy.attempts and item.next_attempt_at > now:
                continue  # the last try waits out its back-off: skipping it never gives up early
            total += await self._attempt(item)
        return total

    async def _attempt(self, item: PendingRevocation) -> Drained:
        if not await self.store.claim_revocation(item, CLAIM_SECONDS):
            return Drained()  # another process has it
        attempts = item.attempts + 1
        who = {"credential": str(item.key), "dc": item.key.dc, "attempts": attempts}
        if item.key.dc not in self.registry:
            outcome, error = RevokeOutcome.REFUSED, "its data center is not in the registry"
            nxt, delay = Next.GIVE_UP, 0.0
        else:
            dc = self.registry.get(item.key.dc)
            outcome, error = await revoke_at_zoho(self.http, dc, item.refresh_token)
            nxt, delay = decide(outcome, attempts, self.policy)
        REPLACED_REVOCATIONS.labels(outcome.value if nxt is Next.DONE else nxt.value).inc()
        if nxt is Next.RETRY:
            await self.store.reschedule_revocation(item.id, attempts, self.clock() + delay)
            log.info(
                "revoking a replaced refresh token failed; it will be tried again",
                outcome=outcome.value,
                error=error,
                retry_in=round(delay),
                **who,
            )
        else:
            await self.store.delete_revocation(item.id)
            if nxt is Next.DONE:
                log.info("replaced refresh token revoked at Zoho", outcome=outcome.value, **who)
            else:
                log.warning(
                    "gave up revoking a replaced refresh token; it may stay live at Zoho until "
                    "it ages out, or the user removes the app under Connected Apps",
                    outcome=outcome.value,
                    error=error,
                    **who,
                )
        return _ONE[nxt]

    # -- when to pass ------------------------------------------------------------------------
    async def after_login(self, key: CredentialKey) -> None:
        """Revoke what the login of `key` replaced, waiting at most `login_wait` seconds (the
        rest goes on in the background). Never raises: the login has succeeded already."""
        task = asyncio.create_task(self._quietly(self.revoke_pending(key=key, due_only=False)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=self.login_wait)

    def refreshed_in(self, dc: str) -> None:
        """A refresh in `dc` succeeded, so its accounts server answers: retry its rows now
        (at most every KICK_SECONDS per DC, and only while the loop runs)."""
        now = self.clock()
        if self._loop is None or now - self._last_kick.get(dc, -KICK_SECONDS) < KICK_SECONDS:
            return
        self._last_kick[dc] = now
        self._kicked.add(dc)
        self._wake.set()

    def start(self) -> None:
        """Start the loop (on the running event loop): a pass over every row, then every
        `poll` seconds the due ones, and a DC's rows when a refresh there succeeds."""
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run(), name="zohoauth-revocations")

    async def _run(self) -> None:
        try:
            await self._quietly(self.revoke_pending(due_only=False))
        finally:
            self._first_pass.set()
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
            # that arrives as the event is set, and aclose would then wait forever.
            with suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()
            kicked, self._kicked = self._kicked, set()
            for dc in sorted(kicked):
                await self._quietly(self.revoke_pending(dc=dc, due_only=False))
            await self._quietly(self.revoke_pending())

    @staticmethod
    async def _quietly(work: Awaitable[Drained]) -> Drained:
        """Run a pass; a failure (the store down, a bug) is logged, and the rows wait."""
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop must outlive one bad pass
            log.warning(
                "pending revocations could not be processed; they are tried again later",
                error=str(exc) if isinstance(exc, ZohoAuthError) else type(exc).__name__,
            )
            return Drained()

    async def first_pass(self) -> None:
        """Wait until the pass `start` began with is over (tests; a script that must know)."""
        await self._first_pass.wait()

    async def aclose(self) -> None:
        """Stop the loop and any revocation still running (their rows stay queued)."""
        tasks = [*self._tasks, *([self._loop] if self._loop is not None else [])]
        self._loop = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = [
    "CLAIM_SECONDS",
    "RETRY",
    "Drained",
    "Next",
    "Revoker",
    "decide",
]
