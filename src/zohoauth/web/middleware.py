"""Pure ASGI middleware: request ids and access logs, security headers, trusted hosts, the
body-size limit and the body-time limit.

Pure ASGI rather than `BaseHTTPMiddleware`: no extra task per request, and the request body is
streamed through untouched (the size guard counts it as it goes).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import anyio
import structlog
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import escape_control, get_logger
from .errors import INTERNAL, TOO_LARGE, BodyTimedOut, BodyTooLarge, error_body
from .responses import send_json

log = get_logger("zohoauth.web.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

#: Every response: no sniffing, no framing, no Referer leaving the site (redirect.html's URL
#: carries a grant code until its script strips it), scripts and styles from our origin only.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        b"object-src 'none'",
    ),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class RequestContext:
    """Binds a request id into structlog's context (every log line of the request carries it),
    echoes it as `X-Request-ID`, adds the security headers, logs one access line, and turns an
    unhandled exception into a JSON 500 without a stack trace leaving the process."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))
        self.pid = os.getpid()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        started = time.perf_counter()
        status = 0
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *self.headers,
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log.error("unhandled error", kind=type(exc).__name__, exc_info=exc)
            if status == 0:
                await send_json(send_wrapper, 500, error_body("internal", INTERNAL))
        finally:
            log.info(
                "request",
                method=scope["method"],
                # Never the query string (redirect.html's carries a code); control characters
                # escaped (a client's %0d%0a must not forge a log line, nor ESC drive a terminal).
                path=escape_control(scope["path"]),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                pid=self.pid,
            )
            structlog.contextvars.reset_contextvars(**tokens)


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413: at once when `Content-Length` says so, else as
    soon as the streamed body passes the limit (`BodyTooLarge`, answered by errors.py)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_json(send, 413, error_body("too_large", TOO_LARGE))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)


class BodyTimeout:
    """Answers 408 `timeout` (and closes the connection) when the request body has not fully
    arrived `seconds` after the request began: uvicorn waits for a body as long as the client
    trickles it, one connection held per slow client (server.py). Raised from the body reads,
    as `BodyTooLarge` is, and answered by errors.py; reads after the body (waiting for a
    disconnect) are not timed."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        complete = False

        async def timed() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise BodyTimedOut()
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed, send)


#: Loopback, as Starlette's TrustedHostMiddleware compares the Host header (IPv6 in brackets).
LOOPBACK = ["127.0.0.1", "localhost", "[::1]"]
#: Load balancers and monitoring ask these by address: they answer whatever the Host header.
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
_BAD_HOST = (
    "this server does not answer for that host name (the Host header); use the app's own "
    "address, or add the name to ZOHOAUTH_TRUSTED_HOSTS"
)


def trusted_hosts(setting: str, redirect_uri: str) -> list[str]:
    """The host names to answer for: the `ZOHOAUTH_TRUSTED_HOSTS` list, or by default the
    redirect URI's host (the app's public name) plus loopback (pure)."""
    listed = [h.strip().lower() for h in setting.split(",") if h.strip()]
    if listed:
        return listed
    host = (urlsplit(redirect_uri).hostname or "").lower()
    own = f"[{host}]" if ":" in host else host
    return [own, *(h for h in LOOPBACK if h != own)] if own else list(LOOPBACK)


class TrustedHosts:
    """Starlette's `TrustedHostMiddleware`: a request whose Host header is not one of ours is
    refused (DNS rebinding — a hostile name resolving to the app's address, in the victim's
    browser — and links or cache entries poisoned through the Host header), answered 400
    `bad_host` in our JSON shape rather than its plain text. `PROBES` are left alone."""

    _PASSED = "zohoauth.trusted_host"

    def __init__(self, app: ASGIApp, *, hosts: Sequence[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._passed, allowed_hosts=hosts, www_redirect=False)

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[self._PASSED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return

        async def unless_refused(message: Message) -> None:
            if scope.get(self._PASSED):  # the app's own answer; the check's refusal is dropped
                await send(message)

        await self.check(scope, receive, unless_refused)
        if not scope.get(self._PASSED):
            await send_json(send, 400, error_body("bad_host", _BAD_HOST))
