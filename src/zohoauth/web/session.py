"""The web app's two signed cookies, the session and the pending login, and the middleware
that keeps the session.

Both are signed with itsdangerous (HMAC-SHA256 keyed by `ZOHOAUTH_SESSION_SECRET`), so a browser
can read neither more nor less than we put in, and can change nothing:

- `zohoauth_session` names only connections: the ids this browser connected (several users, orgs
  or data centers) and the active one. No email, token or code is ever in a cookie. HttpOnly,
  SameSite=Lax (Zoho's redirect back to us is a top-level GET, which Lax allows), Secure when
  the app is served over https. A request can only ever act as a connection named here, which
  is what keeps one browser's session out of another's records.
- `zohoauth_login` holds one pending login: `state`, the PKCE verifier, when it was made, the
  sign-in it started at (Multi-DC or China) and whether it runs in a popup. It is encrypted as
  well as authenticated (Fernet: the verifier is a secret, readable by nobody but us), lives 10
  minutes (RFC 6749 §10.12: `state` binds the callback to this browser) on the callback's path
  only, and is cleared by the callback whatever the outcome, so it is single use here as well as
  in `ZohoAuth.complete_login`.

`SessionMiddleware` is the one place the session cookie is read and written, as Starlette's
own SessionMiddleware does: routes read the request's `Session` and replace it with another;
the cookie is re-signed on the way out only when the session changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
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
#: Sessions last a month without use; each change re-signs the cookie and restarts the clock.
SESSION_MAX_AGE = 30 * 24 * 3600
#: A browser keeps at most this many connected accounts (the oldest inactive one goes first).
MAX_ACCOUNTS = 10
#: The pending-login cookie is only sent to the callback.
LOGIN_COOKIE_PATH = "/api/auth"


@dataclass(frozen=True, slots=True)
class Session:
    """What the session cookie says: connection ids this browser connected, and the active one."""

    ids: tuple[str, ...] = ()
    active: str | None = None

    def with_login(self, connection_id: str) -> Session:
        """The session after logging in (or reconnecting) `connection_id`: it becomes active."""
        ids = [i for i in self.ids if i != connection_id]
        ids.append(connection_id)
        while len(ids) > MAX_ACCOUNTS:
            ids.pop(0)
        return Session(tuple(ids), connection_id)

    def without(self, *connection_ids: str) -> Session:
        """The session with these connections dropped; the newest remaining one becomes active."""
        ids = tuple(i for i in self.ids if i not in connection_ids)
        active = self.active if self.active in ids else (ids[-1] if ids else None)
        return Session(ids, active)

    def switched(self, connection_id: str) -> Session | None:
        """The session with `connection_id` active, or None if this browser never connected it."""
        if connection_id not in self.ids:
            return None
        return Session(self.ids, connection_id)


@dataclass(frozen=True, slots=True)
class CookieCodec:
    """Signs, reads and writes the session and pending-login cookies."""

    secret: str = field(repr=False)
    secure: bool = False

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
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return Session()
        clean = tuple(ids[-MAX_ACCOUNTS:])
        return Session(clean, active if isinstance(active, str) and active in clean else None)

    def dump_session(self, session: Session) -> str:
        """The signed cookie value for `session`."""
        data = {"ids": list(session.ids), "active": session.active}
        return str(self._serializer("zohoauth.session").dumps(data))

    def session_headers(self, session: Session) -> list[tuple[bytes, bytes]]:
        """The `Set-Cookie` header that stores `session`, or deletes the cookie when it names
        no connection (written by Starlette's own cookie code, on a scratch response)."""
        scratch = Response()
        if session.ids:
            scratch.set_cookie(
                SESSION_COOKIE,
                self.dump_session(session),
                max_age=SESSION_MAX_AGE,
                path="/",
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        else:
            scratch.delete_cookie(
                SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure
            )
        return [(k, v) for k, v in scratch.raw_headers if k == b"set-cookie"]

    # -- pending login ---------------------------------------------------------------------
    def _fernet(self) -> Fernet:
        digest = hashlib.sha256(b"zohoauth.login\x00" + self.secret.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))

    def save_login(self, response: Response, pending: PendingLogin, popup: bool) -> None:
        payload = {
            "state": pending.state,
            "verifier": pending.code_verifier,
            "created_at": pending.created_at,
            "login_dc": pending.login_dc,
            "popup": popup,
        }
        value = self._fernet().encrypt(json.dumps(payload).encode()).decode("ascii")
        response.set_cookie(
            LOGIN_COOKIE,
            value,
            max_age=int(PendingLogin.MAX_AGE),
            path=LOGIN_COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def load_login(self, raw: str | None) -> tuple[PendingLogin | None, bool]:
        """(the pending login, whether it runs in a popup); None when absent, forged or older
        than 10 minutes (the callback then answers `state_mismatch`)."""
        if not raw or len(raw) > 4096:
            return None, False
        try:
            data = json.loads(
                self._fernet().decrypt(raw.encode("ascii"), ttl=int(PendingLogin.MAX_AGE))
            )
        except (InvalidToken, ValueError, UnicodeEncodeError):
            return None, False
        if not isinstance(data, dict):
            return None, False
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
        response.delete_cookie(
            LOGIN_COOKIE, path=LOGIN_COOKIE_PATH, httponly=True, samesite="lax", secure=self.secure
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


class SessionMiddleware:
    """Loads the signed session cookie into `request.state.session` on the way in, and on the
    way out re-signs it only if a route put a different `Session` there.

    Pure ASGI, like the other middleware. Routes replace the session only once they succeed,
    so an error answer leaves the browser's session as it was.
    """

    def __init__(self, app: ASGIApp, *, cookies: CookieCodec) -> None:
        self.app = app
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loaded = self.cookies.load_session(HTTPConnection(scope).cookies.get(SESSION_COOKIE))
        state: dict[str, Any] = scope.setdefault("state", {})
        state[SESSION_STATE] = loaded

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
