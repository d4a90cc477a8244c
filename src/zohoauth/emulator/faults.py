"""Injected failures: latency, a share of errors, or a full outage, per target and DC.

A pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path). It only looks at the
path: `/{dc}/accounts/...` is the "accounts" target, `/{dc}/api/...` is "api".
"""

from __future__ import annotations

import asyncio
import json
import random

from starlette.types import ASGIApp, Receive, Scope, Send

from .state import EmulatorState

_API_FAILURE = json.dumps(
    {
        "code": "INTERNAL_ERROR",
        "details": {},
        "message": "Internal server error occurred.",
        "status": "error",
    }
).encode()
_ACCOUNTS_FAILURE = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"


def target_of(path: str) -> tuple[str, str] | None:
    """(`target`, `dc`) for a DC path, else None: `/eu/api/crm/v8/Leads` -> ("api", "eu")."""
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[2] not in ("accounts", "api"):
        return None
    return parts[2], parts[1]


class FaultMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.state.faults:
            await self.app(scope, receive, send)
            return
        found = target_of(scope["path"])
        fault = self.state.fault_for(*found) if found else None
        if fault is None or found is None:
            await self.app(scope, receive, send)
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.outage or (fault.error_rate and random.random() < fault.error_rate):
            if found[0] == "api":
                status, body, ctype = 500, _API_FAILURE, b"application/json;charset=UTF-8"
            else:
                status, body, ctype = 503, _ACCOUNTS_FAILURE, b"text/html;charset=UTF-8"
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", ctype),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
