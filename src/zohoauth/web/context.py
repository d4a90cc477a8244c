"""What every route needs: the `ZohoAuth`, the cookie codec, and who the request acts as.

The one rule that keeps users apart lives here: a request acts only as the *active* connection
of its own signed session cookie. No route takes a connection id, org id or DC from the request
itself (the switch endpoint only moves between ids the cookie already names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from .. import ZohoAuth
from .errors import not_logged_in
from .responses import json_response
from .session import SESSION_STATE, CookieCodec, Session


@dataclass(frozen=True, slots=True)
class WebContext:
    auth: ZohoAuth
    cookies: CookieCodec
    #: `/metrics` answers on the app's own port (False: on a metrics port, server.py).
    metrics_here: bool = True
    #: If set, `/metrics` here needs `Authorization: Bearer <metrics_token>`.
    metrics_token: str = field(default="", repr=False)


def web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def session_of(request: Request) -> Session:
    """This browser's session, as `SessionMiddleware` loaded it (or a route replaced it)."""
    session: Session = getattr(request.state, SESSION_STATE)
    return session


def set_session(request: Request, session: Session) -> None:
    """Make `session` this browser's session: `SessionMiddleware` re-signs the cookie on the way
    out if it differs from the one the request came with. Call it once the route succeeded."""
    setattr(request.state, SESSION_STATE, session)


def active_connection(request: Request) -> str:
    """The connection this request acts as (401 `not_logged_in` without one)."""
    active = session_of(request).active
    if active is None:
        raise not_logged_in()
    return active


async def describe(ctx: WebContext, connection_id: str) -> dict[str, Any] | None:
    """What the UI shows about a connection (no secrets), or None if it no longer exists."""
    info = await ctx.auth.connection_info(connection_id)
    if info is None:
        return None
    conn = info.connection
    return {
        "id": conn.id,
        "email": conn.email,
        "zuid": conn.zuid,
        "org_id": conn.org_id,
        "org_name": conn.org_name,
        "dc": conn.dc,
        "dc_name": info.dc_name,
        "status": info.status.value,
        "needs_reconnect": info.needs_reconnect,
    }


async def profile(ctx: WebContext, session: Session) -> tuple[dict[str, Any] | None, Session]:
    """`/api/me`'s body for a session, and the session with vanished connections dropped
    (logged out elsewhere, revoked with another org's logout, deleted by an operator)."""
    described: dict[str, dict[str, Any]] = {}
    gone: list[str] = []
    for cid in session.ids:
        info = await describe(ctx, cid)
        if info is None:
            gone.append(cid)
        else:
            described[cid] = info
    cleaned = session.without(*gone) if gone else session
    if cleaned.active is None:
        return None, cleaned
    me = dict(described[cleaned.active])
    me["accounts"] = [described[i] for i in reversed(cleaned.ids) if i != cleaned.active]
    return me, cleaned


def respond(body: dict[str, Any], *, status: int = 200) -> JSONResponse:
    """A JSON answer no cache keeps (it names who is logged in)."""
    return json_response(body, status)
