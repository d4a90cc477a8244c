"""One retry policy for calls to Zoho: how many tries, how long to wait between them, which
failures are worth another try, and what a `Retry-After` header asks for.

One formula, two sets of numbers:

- `ON_UNAVAILABLE` — Zoho unreachable, timed out or answering 5xx: 3 tries. The token
  manager's refresh and the SDK importer's refresh and identity calls. A failed refresh
  still serves a valid token if there is one, and a waiter on the lease should not wait long.
- `ON_RATE_LIMIT` — HTTP 429: 4 tries. The CRM client, and only for 429: Zoho's concurrency
  limit clears in moments (docs/zoho-reference.md §6.6), while a CRM call that timed out or met
  a 5xx may have been applied (a POST), so it is not retried blindly.

The wait before retry n (0-based) is "equal jitter" (AWS Architecture Blog, "Exponential
Backoff and Jitter"): half of min(cap, base·2ⁿ) fixed and half random, so concurrent clients
spread out and none retries at once. A Retry-After is honoured when it fits under the cap; a
longer one (the rolling 24-hour credit limit, docs/zoho-reference.md §6.6) means waiting is
pointless for a caller, so it gives up at once. Everything here is pure except `retrying`,
which sleeps.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TypeVar

from .errors import RateLimitedError, ZohoUnavailableError

T = TypeVar("T")


class Failure(StrEnum):
    """The failures a retry can help with."""

    UNAVAILABLE = "unavailable"  # no answer (connection error, timeout) or HTTP 5xx
    RATE_LIMITED = "rate_limited"  # HTTP 429


def failure_of_status(status: int) -> Failure | None:
    """What an HTTP status says about retrying: 429 and 5xx are retryable failures."""
    if status == 429:
        return Failure.RATE_LIMITED
    if status >= 500:
        return Failure.UNAVAILABLE
    return None


def failure_of(exc: BaseException) -> Failure | None:
    """The retryable failure an error of the tree stands for, or None (not retryable)."""
    if isinstance(exc, ZohoUnavailableError):
        return Failure.UNAVAILABLE
    if isinstance(exc, RateLimitedError):
        return Failure.RATE_LIMITED
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` tries in all (the first included), retrying only `retry_on`; the first retry
    waits between base/2 and base seconds, each later one up to twice as long, never more
    than `cap` (nor a Retry-After beyond it)."""

    attempts: int
    base: float
    cap: float
    retry_on: frozenset[Failure]

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least 1 attempt")
        if not (0 <= self.base < math.inf and 0 <= self.cap < math.inf):
            raise ValueError("base and cap are finite numbers of seconds >= 0")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry `retry` (0-based): min(cap, base·2^retry)."""
        if retry < 0:
            raise ValueError("retries count from 0")
        # ldexp scales by 2^retry exactly, also for a tiny (subnormal) base, where base·2.0**n
        # with n capped at the largest float power of two would come out too small.
        try:
            raw = math.ldexp(self.base, retry)
        except OverflowError:
            raw = math.inf
        return min(self.cap, raw)

    def delay(
        self,
        retry: int,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before retry `retry` (0-based): a Retry-After if it fits under the
        cap (None, give up, if not), else equal jitter. `rand()` is uniform in [0, 1)."""
        if retry_after is not None:
            return retry_after if retry_after <= self.cap else None
        full = self.ceiling(retry)
        return full / 2 + rand() * (full / 2)

    def next_delay(
        self,
        failure: Failure | None,
        tries: int,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """After `tries` tries, the last of which failed with `failure`: seconds to wait
        before the next, or None to give up (not retryable, out of tries, or told to wait
        longer than the cap)."""
        if failure is None or failure not in self.retry_on or tries >= self.attempts:
            return None
        return self.delay(tries - 1, retry_after, rand=rand)


#: Zoho unreachable, timed out or 5xx: waits of 0.25–0.5 s, then 0.5–1 s.
ON_UNAVAILABLE = RetryPolicy(
    attempts=3, base=0.5, cap=30.0, retry_on=frozenset({Failure.UNAVAILABLE})
)

#: HTTP 429 from CRM: waits of 0.25–0.5 s, 0.5–1 s, 1–2 s, or what Retry-After says (≤ 30 s).
ON_RATE_LIMIT = RetryPolicy(
    attempts=4, base=0.5, cap=30.0, retry_on=frozenset({Failure.RATE_LIMITED})
)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in seconds
    from `now` (never negative); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


async def retrying(
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """`await call()`, tried again as `policy` says while it raises a retryable error of the
    tree (`failure_of`); the last error propagates."""
    tries = 0
    while True:
        tries += 1
        try:
            return await call()
        except (ZohoUnavailableError, RateLimitedError) as exc:
            delay = policy.next_delay(failure_of(exc), tries)
            if delay is None:
                raise
            await sleep(delay)


__all__ = [
    "ON_RATE_LIMIT",
    "ON_UNAVAILABLE",
    "Failure",
    "RetryPolicy",
    "failure_of",
    "failure_of_status",
    "retry_after_seconds",
    "retrying",
]
