"""The web app's two signed cookies, the session and the pending login, and the middleware
that keeps the session.

Both are signed with itsdangerous (HMAC-SHA256 keyed by `ZOHOAUTH_SESSION_SECRET`), so a browser
can read neither more nor less than we put in, and can change nothing:

- `zohoauth_session` names only connections: the ids this browser connected (several users, orgs
  or data centers) and the active one, plus this browser's *binding*, a random id made on its
  first visit. No email, token or code is ever in a cookie. HttpOnly, SameSite=Lax (Zoho's
  redirect back to us is a top-level GET, which Lax allows), Secure when the app is served over
  https. A request can only ever act as a connection named here, which is what keeps one
  browser's session out of another's records.
- `zohoauth_login` holds one pending login: `state`, the PKCE verifier, when it was made, the
  sign-in it started at (Multi-DC or China), whether it runs in a popup, and an HMAC of the
  binding of the browser that asked for it. It is encrypted as well as authenticated (Fernet:
  the verifier is a secret, readable by nobody but us), lives 10 minutes on the callback's path
  only, and is cleared by the callback whatever the outcome, so it is single use here as well
  as in `ZohoAuth.complete_login`.

**Cookies bound to the browser** (RFC 6749 §10.12, RFC 9700 §2.1: `state` must be bound to the
user agent). A signature proves we minted a cookie, not that we minted it *for this browser*:
someone who can set cookies for our host (a sibling subdomain, a plain-http man in the middle)
could start a login in their own browser and plant their pending-login cookie in the victim's,
logging the victim into the attacker's Zoho account (login CSRF by cookie tossing). So:

1. over https every cookie is named `__Host-…` (Secure, Path=/, no Domain): browsers let only
   our own origin, over https, set such a cookie, so nobody else can plant one at all;
2. the pending-login cookie and the CSRF token (csrf.py) carry an HMAC of the binding in the
   session cookie, and the callback and the CSRF check refuse one minted for another browser.
   Planting them would take replacing the HttpOnly session cookie too, which (1) rules out.

Over plain http (the demo on loopback) the names stay as they were and (2) still holds.

`SessionMiddleware` is the one place the session cookie is read and written, as Starlette's
own SessionMiddleware does: routes read the request's `Session` and replace it with another;
the cookie is re-signed on the way out only when the session changed (or was new).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import PendingLogin

SESSION_COOKIE = "zohoauth_session"
LOGIN_COOKIE = "zohoauth_login"
#: Over https every cookie name gets this prefix (RFC 6265bis §4.1.3.2): Secure, Path=/, no
#: Domain, and settable only by our own https origin.
HOST_PREFIX = "__Host-"
#: Sessions last a month without use; each change re-signs the cookie and restarts the clock.
SESSION_MAX_AGE = 30 * 24 * 3600
#: A browser keeps at most this many connected accounts (the oldest inactive one goes first).
MAX_ACCOUNTS = 10
#: The pending-login cookie is only sent to the callback (over http; `__Host-` needs Path=/).
LOGIN_COOKIE_PATH = "/api/auth"
#: Length bounds of a binding id as it may appear in a cookie (we mint 22 characters).
_BINDING_LENGTHS = range(16, 65)


def new_binding() -> str:
    """A fresh random binding id for a browser (128 bits)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The three cookie names and the pending login's path: `__Host-` names over https."""

    session: str = SESSION_COOKIE
    login: str = LOGIN_COOKIE
    csrf: str = "zohoauth_csrf"
    login_path: str = LOGIN_COOKIE_PATH

    @classmethod
    def for_scheme(cls, secure: bool) -> CookieNames:
        if not secure:
            return cls()
        plain = cls()
        return cls(
            session=HOST_PREFIX + plain.session,
            login=HOST_PREFIX + plain.login,
            csrf=HOST_PREFIX + plain.csrf,
            login_path="/",
        )


@dataclass(frozen=True, slots=True)
class Session:
    """What the session cookie says: connection ids this browser connected, the active one, and
    the browser's binding id (empty until `SessionMiddleware` gives it one)."""

    ids: tuple[str, ...] = ()
    active: str | None = None
    binding: str = ""

    def with_login(self, connection_id: str) -> Session:
        """The session after logging in (or reconnecting) `connection_id`: it becomes active."""
        ids = [i for i in self.ids if i != connection_id]
        ids.append(connection_id)
        while len(ids) > MAX_ACCOUNTS:
            ids.pop(0)
        return dataclasses.replace(self, ids=tuple(ids), active=connection_id)

    def without(self, *connection_ids: str) -> Session:
        """The session with these connections dropped; the newest remaining one becomes active."""
        ids = tuple(i for i in self.ids if i not in connection_ids)
        active = self.active if self.active in ids else (ids[-1] if ids else None)
        return dataclasses.replace(self, ids=ids, active=active)

    def switched(self, connection_id: str) -> Session | None:
        """The session with `connection_id` active, or None if this browser never connected it."""
        if connection_id not in self.ids:
            return None
        return dataclasses.replace(self, active=connection_id)


@dataclass(frozen=True, slots=True)
class CookieCodec:
    """Signs, reads and writes the session and pending-login cookies."""

    secret: str = field(repr=False)
    secure: bool = False

    @property
    def names(self) -> CookieNames:
        return CookieNames.for_scheme(self.secure)

    def binding_tag(self, binding: str) -> str:
        """What a pending login carries to name the browser it was made for: an HMAC of the
        binding id (keyed apart from every other use of the secret)."""
        key = hashlib.sha256(b"zohoauth.binding\x00" + self.secret.encode()).digest()
        mac = hmac.new(key, binding.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    # -- session ---------------------------------------------------------------------------
    def load_session(self, raw: str | None) -> Session:
        """The session in a cookie value; an absent, tampered or expired cookie is no session."""
        data = self._loads("zohoauth.session", raw, SESSION_MAX_AGE)
        if not isinstance(data, dict):
            return Session()
        ids = data.get("ids")
        active = data.get("active")
        binding = data.get("bind")
        if not isinstance(binding, str) or len(binding) not in _BINDING_LENGTHS:
            binding = ""  # a cookie from before bindings: SessionMiddleware gives it one
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return Session(binding=binding)
        clean = tuple(ids[-MAX_ACCOUNTS:])
        active = active if isinstance(active, str) and active in clean else None
        return Session(clean, active, binding)

    def dump_session(self, session: Session) -> str:
        """The signed cookie value for `session`."""
        data = {"ids": list(session.ids), "active": session.active, "bind": session.binding}
        return str(self._serializer("zohoauth.session").dumps(data))

    def session_headers(self, session: Session) -> list[tuple[bytes, bytes]]:
        """The `Set-Cookie` header that stores `session` (written by Starlette's own cookie
        code, on a scratch response). A session naming no connection is kept all the same:
        it holds the browser's binding."""
        scratch = Response()
        scratch.set_cookie(
            self.names.session,
            self.dump_session(session),
            max_age=SESSION_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
        return [(k, v) for k, v in scratch.raw_headers if k == b"set-cookie"]

    # -- pending login ---------------------------------------------------------------------
    def _fernet(self) -> Fernet:
        digest = hashlib.sha256(b"zohoauth.login\x00" + self.secret.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))

    def save_login(
        self, response: Response, pending: PendingLogin, popup: bool, binding: str
    ) -> None:
        """Keep `pending` in this browser, bound to its `binding`."""
        payload = {
            "state": pending.state,
            "verifier": pending.code_verifier,
            "created_at": pending.created_at,
            "login_dc": pending.login_dc,
            "popup": popup,
            "bind": self.binding_tag(binding),
        }
        value = self._fernet().encrypt(json.dumps(payload).encode()).decode("ascii")
        response.set_cookie(
            self.names.login,
            value,
            max_age=int(PendingLogin.MAX_AGE),
            path=self.names.login_path,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def load_login(self, raw: str | None, binding: str) -> tuple[PendingLogin | None, bool]:
        """(the pending login, whether it runs in a popup); None when absent, forged, older
        than 10 minutes or made for another browser than the one with `binding` (the callback
        then answers `state_mismatch`)."""
        if not raw or len(raw) > 4096 or not binding:
            return None, False
        try:
            data = json.loads(
                self._fernet().decrypt(raw.encode("ascii"), ttl=int(PendingLogin.MAX_AGE))
            )
        except (InvalidToken, ValueError, UnicodeEncodeError):
            return None, False
        if not isinstance(data, dict):
            return None, False
        tag = data.get("bind")
        if not isinstance(tag, str) or not hmac.compare_digest(tag, self.binding_tag(binding)):
            return None, False  # minted for another browser: planted here (cookie tossing)
        state, verifier, created = data.get("state"), data.get("verifier"), data.get("created_at")
        if not isinstance(state, str) or not isinstance(created, int | float):
            return None, False
        if verifier is not None and not isinstance(verifier, str):
            return None, False
        entry = data.get("login_dc", "us")  # cookies from before China's sign-in: Multi-DC
        if not isinstance(entry, str):
            return None, False
        pending = PendingLogin(
            state=state, code_verifier=verifier, created_at=created, url="", login_dc=entry
        )
        return pending, bool(data.get("popup"))

    def clear_login(self, response: Response) -> None:
        names = self.names
        response.delete_cookie(
            names.login, path=names.login_path, httponly=True, samesite="lax", secure=self.secure
        )

    def _loads(self, salt: str, raw: str | None, max_age: int) -> Any:
        if not raw or len(raw) > 4096:
            return None
        try:
            return self._serializer(salt).loads(raw, max_age=max_age)
        except BadSignature:  # includes SignatureExpired
            return None


#: Where SessionMiddleware keeps the request's session: `request.state.session`.
SESSION_STATE = "session"


def binding_of(scope: Scope) -> str:
    """The binding id of the request's browser, as `SessionMiddleware` found or made it."""
    session = scope.get("state", {}).get(SESSION_STATE)
    return session.binding if isinstance(session, Session) else ""


#: Bearer-authenticated paths (the token service, web/routes_api_v1.py): no session there.
_BEARER_PREFIX = "/api/v1/"


class SessionMiddleware:
    """Loads the signed session cookie into `request.state.session` on the way in, and on the
    way out re-signs it only if a route put a different `Session` there. A browser without a
    binding id gets one here, on its first request, so every later one can be checked against
    it (csrf.py and the login callback).

    Pure ASGI, like the other middleware. Routes replace the session only once they succeed,
    so an error answer leaves the browser's session as it was.
    """

    def __init__(self, app: ASGIApp, *, cookies: CookieCodec) -> None:
        self.app = app
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The token service (/api/v1) authenticates by bearer key: no browser, so no session
        # and no cookie (it also never reads one).
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(_BEARER_PREFIX):
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(self.cookies.names.session)
        loaded = self.cookies.load_session(raw)
        state: dict[str, Any] = scope.setdefault("state", {})
        state[SESSION_STATE] = (
            loaded if loaded.binding else dataclasses.replace(loaded, binding=new_binding())
        )

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = state.get(SESSION_STATE, loaded)
                if current != loaded:
                    message["headers"] = [
                        *message.get("headers", []),
                        *self.cookies.session_headers(current),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_session)
