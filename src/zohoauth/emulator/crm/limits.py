"""Optional API limits per org: concurrent requests in flight, and credits per rolling 24 hours.

Zoho caps both per org by edition (concurrency 5–25, credits 5k–5M per rolling day; 1 credit per Get
Records call) and answers 429 TOO_MANY_REQUESTS beyond either [docs/zoho-reference.md §6.6].
Both are off unless `EmulatorConfig.max_concurrent_requests` /
`max_credits_per_day` are set, so tests of other behaviour never trip them. Credits use the
*virtual* clock, so advancing it frees them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Final

from ..state import EmulatorState
from . import errors

#: The credit window: a rolling 24 hours [docs/zoho-reference.md §6.6].
CREDIT_WINDOW: Final = 24 * 3600.0


def enter(state: EmulatorState, zgid: str) -> None:
    """Admit one call for org `zgid` or raise TOO_MANY_REQUESTS; pair with `leave()`.

    The in-flight count is raised only when the call is admitted, so a rejected call never
    needs `leave()`.
    """
    config = state.config
    cap = config.max_concurrent_requests
    if cap is not None and state.in_flight.get(zgid, 0) >= cap:
        raise errors.too_many_requests("concurrency", cap)
    daily = config.max_credits_per_day
    if daily is not None:
        now = state.clock.now()
        spent = state.credits.setdefault(zgid, [])
        # Drop charges older than the window (they are kept in time order).
        expired = bisect_right(spent, now - CREDIT_WINDOW)
        if expired:
            del spent[:expired]
        if len(spent) >= daily:
            raise errors.too_many_requests("credits", daily)
        # 1 credit per call [docs/zoho-reference.md §6.6]; heavier APIs
        # are not emulated.
        spent.append(now)
    state.in_flight[zgid] = state.in_flight.get(zgid, 0) + 1


def leave(state: EmulatorState, zgid: str) -> None:
    left = state.in_flight.get(zgid, 0) - 1
    if left > 0:
        state.in_flight[zgid] = left
    else:
        state.in_flight.pop(zgid, None)
