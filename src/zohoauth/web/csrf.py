"""CSRF defense for every state-changing call: a signed double-submit token plus origin checks.

The session cookie is SameSite=Lax, which already keeps other sites' POSTs from carrying it; we
do not rely on that alone (OWASP CSRF cheat sheet, "defense in depth"):

1. `Sec-Fetch-Site`, when the browser sends it, must be `same-origin` (or `none`: typed by the
   user). Any other site is refused before anything else is looked at.
2. `Origin`, when sent, must be the app's own origin (the request's host, or the origin of the
   registered redirect URI when a TLS proxy sits in front).
3. The `X-CSRF-Token` header must equal the `zohoauth_csrf` cookie (`__Host-zohoauth_csrf` over
   https; compared in constant time), and the cookie must carry our HMAC *of this browser's
   binding id* (session.py) and a random nonce. Only script running on our origin can read the
   cookie and copy it into a header; the HMAC means a cookie planted by a sibling subdomain is
   useless, and the binding that even a genuine token minted for another browser (the
   attacker's own) is refused here (OWASP's "signed double-submit cookie", session-bound).

`/api/v1` (the token service) is exempt: it authenticates every call with a bearer service
key and never reads a cookie, so a forged cross-site request has nothing to ride on.

The cookie is readable by script on purpose (not HttpOnly) and is set on any response to a
request that lacks one valid for its browser, so every page has it before it needs it.
SessionMiddleware runs before this one: it gives a new browser its binding id first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .responses import send_json
from .session import CookieNames, binding_of

CSRF_COOKIE = CookieNames().csrf
CSRF_HEADER = "x-csrf-token"
#: Paths under this prefix are bearer-authenticated (web/routes_api_v1.py): no CSRF, no cookie.
BEARER_PREFIX = "/api/v1/"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MESSAGE = (
    "this request did not prove it came from the app's own page (missing or wrong CSRF token, "
    "or another site's origin); reload the page and try again"
)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased, as browsers send it in `Origin`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class CSRFTokens:
    """Mints and checks the signed double-submit token `<nonce>.<hmac(binding, nonce)>`, bound
    to one browser's binding id."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"zohoauth.csrf\x00" + secret.encode()).digest()

    def _sign(self, binding: str, nonce: str) -> str:
        message = f"{binding}\x00{nonce}".encode()
        mac = hmac.new(self._key, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def mint(self, binding: str) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(binding, nonce)}"

    def valid(self, token: str | None, binding: str) -> bool:
        """`token` is one we minted for the browser with `binding`."""
        if not token or not binding or len(token) > 200 or "." not in token:
            return False
        nonce, mac = token.split(".", 1)
        return hmac.compare_digest(mac.encode(), self._sign(binding, nonce).encode())

    def matches(self, cookie: str | None, header: str | None, binding: str) -> bool:
        """The header repeats the cookie exactly, and the cookie is one we minted for this
        browser."""
        if not cookie or not header:
            return False
        same = hmac.compare_digest(cookie.encode(), header.encode())
        return same and self.valid(cookie, binding)


def _cookie(headers: Iterable[tuple[bytes, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(name)
            if found:
                return found
    return None


class CSRFMiddleware:
    """Refuses unsafe requests without the proof; sets the token cookie where it is missing."""

    def __init__(
        self, app: ASGIApp, *, tokens: CSRFTokens, public_origin: str, secure: bool
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.public_origin = public_origin
        self.secure = secure
        self.cookie_name = CookieNames.for_scheme(secure).csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(BEARER_PREFIX):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        cookie = _cookie(headers, self.cookie_name)
        binding = binding_of(scope)
        if scope["method"] in UNSAFE_METHODS and not self._allowed(scope, headers, cookie, binding):
            await _refuse(send)
            return
        if self.tokens.valid(cookie, binding):
            await self.app(scope, receive, send)
            return
        set_cookie = self._set_cookie_header(self.tokens.mint(binding))

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", set_cookie)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _allowed(
        self, scope: Scope, headers: list[tuple[bytes, bytes]], cookie: str | None, binding: str
    ) -> bool:
        found = {k: v.decode("latin-1") for k, v in headers if k in _CHECKED}
        site = found.get(b"sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = found.get(b"origin")
        if origin is not None:
            host = found.get(b"host", "")
            own = {self.public_origin, f"{scope.get('scheme', 'http')}://{host}".lower()}
            if origin.lower() not in own:
                return False
        return self.tokens.matches(cookie, found.get(b"x-csrf-token"), binding)

    def _set_cookie_header(self, token: str) -> bytes:
        parts = [f"{self.cookie_name}={token}", "Path=/", "SameSite=Lax", "Max-Age=2592000"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


_CHECKED = frozenset({b"sec-fetch-site", b"origin", b"host", b"x-csrf-token"})


async def _refuse(send: Send) -> None:
    await send_json(send, 403, {"error": "csrf", "message": _MESSAGE})
