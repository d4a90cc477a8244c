"""Per-client-address rate limits on the two routes that cost something (the `limits` library).

    GET  /login               mints a pending login (state, PKCE verifier) and a 302 to Zoho
    POST /api/auth/callback   exchanges a code at Zoho's token endpoint with the client secret

A flood of callbacks is a flood of token requests signed with our client secret: Zoho may then
throttle the app's own address for every user. Each route has its own limit per client address
(`ZOHOAUTH_LOGIN_RATE_LIMIT`, `ZOHOAUTH_CALLBACK_RATE_LIMIT`, in the `limits` notation:
`10/minute`, `10/minute;50/hour`; empty turns a limit off). Over it, the answer is 429
`too_many_requests` with `Retry-After`.

The client address is the connection's (`scope["client"]`), which uvicorn replaces with the
`X-Forwarded-For` one only when `--forwarded-allow-ips` / `ZOHOAUTH_FORWARDED_ALLOW_IPS` names
the proxy (web/server.py); otherwise a header anyone can send cannot pick its own bucket. IPv6
clients are counted per /64, the block one subscriber usually gets. The counters live in this
process's memory (a moving window): each worker counts on its own, so with N workers a client
gets up to N times the limit.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Mapping, Sequence

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body
from .responses import send_json

#: The limited routes: (methods, path) → the name of the setting that limits them.
LIMITED: Mapping[tuple[frozenset[str], str], str] = {
    (frozenset({"GET", "HEAD"}), "/login"): "login",
    (frozenset({"POST"}), "/api/auth/callback"): "callback",
}


def parse_rate(value: str) -> list[RateLimitItem]:
    """`10/minute;100/hour` → the limits; empty: none (`Settings` has checked the notation)."""
    return list(parse_many(value)) if value.strip() else []


def client_key(scope: Scope) -> str:
    """Whom to count a request against: the client address, an IPv6 one as its /64."""
    client = scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class RateLimit:
    """Counts the `LIMITED` routes per client address and answers 429 over the limit."""

    def __init__(self, app: ASGIApp, *, rates: Mapping[str, Sequence[RateLimitItem]]) -> None:
        self.app = app
        self.rates = {name: list(items) for name, items in rates.items() if items}
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self._limited(scope) if scope["type"] == "http" else None
        if name is not None:
            key = client_key(scope)
            items = self.rates[name]
            full = [item for item in items if not self.limiter.test(item, name, key)]
            if full:
                await _refuse(send, self._retry_after(full, name, key))
                return
            for item in items:
                self.limiter.hit(item, name, key)
        await self.app(scope, receive, send)

    def _limited(self, scope: Scope) -> str | None:
        for (methods, path), name in LIMITED.items():
            if scope["path"] == path and scope["method"] in methods and name in self.rates:
                return name
        return None

    def _retry_after(self, full: list[RateLimitItem], name: str, key: str) -> int:
        """Seconds until every full window has room again (at least 1)."""
        reset = max(self.limiter.get_window_stats(item, name, key).reset_time for item in full)
        return max(1, math.ceil(reset - time.time()))


async def _refuse(send: Send, retry_after: int) -> None:
    message = f"too many login attempts from your address; wait {retry_after} seconds and try again"
    await send_json(
        send,
        429,
        error_body("too_many_requests", message),
        headers={"Retry-After": str(retry_after)},
    )
