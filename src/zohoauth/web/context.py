"""What every route needs: the `ZohoAuth`, the cookie codec, and who the request acts as.

The one rule that keeps users apart lives here: a request acts only as the *active* connection
of its own signed session cookie. No route takes a connection id, org id or DC from the request
itself (the switch endpoint only moves between ids the cookie already names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ..auth import ZohoAuth
from ..credentials import Status
from .errors import not_logged_in
from .responses import json_response
from .session import SESSION_COOKIE, CookieCodec, Session


@dataclass(frozen=True, slots=True)
class WebContext:
    auth: ZohoAuth
    cookies: CookieCodec


def web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def session_of(request: Request) -> Session:
    return web(request).cookies.load_session(request.cookies.get(SESSION_COOKIE))


def active_connection(request: Request) -> str:
    """The connection this request acts as (401 `not_logged_in` without one)."""
    active = session_of(request).active
    if active is None:
        raise not_logged_in()
    return active


async def describe(ctx: WebContext, connection_id: str) -> dict[str, Any] | None:
    """What the UI shows about a connection (no secrets), or None if it no longer exists."""
    found = await ctx.auth.store.get_connection_with_credential(connection_id)
    if found is None:
        return None
    conn, cred = found
    dc_name = ctx.auth.registry.get(conn.dc).name if conn.dc in ctx.auth.registry else conn.dc
    return {
        "id": conn.id,
        "email": conn.email,
        "zuid": conn.zuid,
        "org_id": conn.org_id,
        "org_name": conn.org_name,
        "dc": conn.dc,
        "dc_name": dc_name,
        "status": cred.status.value,
        "needs_reconnect": cred.status is not Status.ACTIVE,
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


def respond(
    ctx: WebContext,
    body: dict[str, Any],
    *,
    status: int = 200,
    before: Session | None = None,
    after: Session | None = None,
) -> JSONResponse:
    """A JSON answer that re-signs the session cookie when the session changed."""
    response = json_response(body, status)
    if after is not None and after != before:
        ctx.cookies.save_session(response, after)
    return response
