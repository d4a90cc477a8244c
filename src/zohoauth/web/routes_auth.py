"""Login with Zoho, the session, several accounts per browser, and logout.

GET  /login[?popup=1][&region=cn]
                               302 to Zoho's sign-in (Multi-DC, or China's with region=cn); state +
                               PKCE verifier + where it started in a signed 10-minute cookie
POST /api/auth/callback        redirect.html posts Zoho's parameters; sets the session
GET  /api/me · /api/session    who this browser acts as (401, resp. 200 {"authenticated":false});
                               /api/session also lists the data centers this app accepts
POST /api/accounts/switch      make another of *this browser's* connections active
POST /api/accounts/connect-org add another org of the active user (X-CRM-ORG)
POST /api/auth/logout          forget the active connection; {"revoke": true} also at Zoho;
                               {"all": true} every connection of this browser
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from .. import RevokeOutcome
from ..errors import DataCenterError, LoginError, ZohoAuthError
from .context import (
    active_connection,
    describe,
    profile,
    respond,
    session_of,
    set_session,
    web,
)
from .errors import (
    ApiError,
    classify,
    error_body,
    log_detail,
    not_logged_in,
    public_message,
    retry_after,
)
from .responses import NO_STORE, json_response

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The login failed (state, data center, code); start it again."},
    401: {"description": "`not_logged_in`"},
    403: {
        "description": "`csrf`: the page's CSRF token is missing or wrong; `dc_not_enabled`: "
        "this app does not accept Zoho accounts from the user's data center."
    },
    503: {
        "description": "`login_throttled`: Zoho is limiting sign-ins; `zoho_unavailable`: "
        "Zoho could not complete the login; `store_unavailable`: the login could not be "
        "saved. Each with Retry-After: start the login again then."
    },
}
#: A login that met a Zoho outage (the code exchange, or asking CRM who logged in): what the
#: person is told, and when to come back. The library's message (which server, what failed)
#: goes to the log. The code is single use and the pending login is spent, so "again" means
#: a new login — the page's "Try again" button.
ZOHO_UNAVAILABLE = "Zoho is unavailable right now; try again in a minute"
ZOHO_RETRY_AFTER = 60


class CallbackIn(BaseModel):
    """Zoho's redirect parameters, as redirect.html found them in its URL."""

    model_config = ConfigDict(extra="ignore")
    code: str | None = Field(None, max_length=512)
    state: str | None = Field(None, max_length=512)
    location: str | None = Field(None, max_length=32)
    accounts_server: str | None = Field(
        None, max_length=512, validation_alias=AliasChoices("accounts_server", "accounts-server")
    )
    error: str | None = Field(None, max_length=200)


class LogoutIn(BaseModel):
    revoke: bool = Field(False, description="Also revoke the grant at Zoho (every org of it).")
    all: bool = Field(
        False, description="Log out every account of this browser, not only the active one."
    )


class SwitchIn(BaseModel):
    id: str = Field(..., min_length=1, max_length=64, description="A connection id of /api/me")


class ConnectOrgIn(BaseModel):
    org_id: str = Field(..., pattern=r"^[0-9]{1,30}$", description="The org's id (zgid)")


@router.get(
    "/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To Zoho's consent page, with a fresh single-use state."}},
)
async def login(
    request: Request,
    popup: Annotated[bool, Query(description="Runs in a popup")] = False,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2,4}$",
            description="`cn`: Zoho China's own sign-in (accounts.zoho.com.cn). Default: Zoho's "
            "Multi-DC sign-in (accounts.zoho.com), for every other data center.",
        ),
    ] = None,
    login_hint: Annotated[
        str | None,
        Query(
            max_length=254,
            pattern=r"^[^\s@]+@[^\s@]+$",
            description="The email to pre-fill at Zoho's sign-in (Reconnect sends the account's).",
        ),
    ] = None,
) -> RedirectResponse:
    """Start Login with Zoho (also "Connect another account" and "Reconnect")."""
    ctx = web(request)
    try:
        pending = ctx.auth.start_login(region.lower() if region else None)
    except DataCenterError as exc:
        raise ApiError(
            400, "unknown_region", "no such Zoho data center; leave region out, or use cn"
        ) from exc
    url = pending.url
    if login_hint:
        # OpenID Connect's `login_hint`. Zoho's authorization docs do not list it
        # (docs/zoho-reference.md §1) [?]: an accounts server that ignores it still shows its
        # usual sign-in, so sending it costs nothing; the emulator pre-fills the email with it.
        url += "&" + urlencode({"login_hint": login_hint})
    response = RedirectResponse(url, status_code=302, headers=NO_STORE)
    ctx.cookies.save_login(response, pending, popup, session_of(request).binding)
    return response


@router.post("/api/auth/callback", responses=ERRORS)
async def callback(request: Request, body: CallbackIn) -> JSONResponse:
    """Complete the login from Zoho's redirect parameters and make it this browser's active
    account. The pending-login cookie is cleared whatever happens: one attempt per state."""
    ctx = web(request)
    raw = request.cookies.get(ctx.cookies.names.login)
    pending, popup = ctx.cookies.load_login(raw, session_of(request).binding)
    try:
        conn = await ctx.auth.complete_login(pending, body.model_dump(exclude_none=True))
    except ZohoAuthError as exc:
        status, code = classify(exc)
        log_detail(exc, status, code)
        message, headers = public_message(exc, status, code), retry_after(exc)
        if code == "zoho_unavailable":  # the exchange or the identity calls met an outage
            message, headers = ZOHO_UNAVAILABLE, {"Retry-After": str(ZOHO_RETRY_AFTER)}
        # `region` lets the page offer "Try again" at the same sign-in (Multi-DC or China).
        region = pending.login_dc if pending is not None else None
        failed = json_response(
            error_body(code, message, popup=popup, region=region), status, headers
        )
        ctx.cookies.clear_login(failed)
        return failed
    me, after = await profile(ctx, session_of(request).with_login(conn.id))
    set_session(request, after)
    response = respond({"status": "ok", "popup": popup, "me": me})
    ctx.cookies.clear_login(response)
    return response


@router.get("/api/me", responses=ERRORS)
async def me(request: Request) -> JSONResponse:
    """`{"email","zuid","org_id","org_name","dc", ..., "accounts":[...]}` of the active
    connection; `accounts` are this browser's other connections."""
    body, after = await profile(web(request), session_of(request))
    set_session(request, after)  # vanished connections dropped, on the 401 too
    if body is None:
        return respond(error_body("not_logged_in", not_logged_in().message), status=401)
    return respond(body)


@router.get("/api/session")
async def session(request: Request) -> JSONResponse:
    """Like /api/me but 200 either way: the page asks this first, so a visitor who is not
    logged in causes no failed request (and no console error). `data_centers` are the DCs
    whose users may log in, each with the sign-in it uses (`login_dc`: "us" for Zoho's
    Multi-DC sign-in, "cn" for Zoho China's), so the page can offer China's when it applies."""
    ctx = web(request)
    body, after = await profile(ctx, session_of(request))
    set_session(request, after)
    dcs = [
        {"code": dc.code, "name": dc.name, "login_dc": dc.login_dc} for dc in ctx.auth.data_centers
    ]
    return respond({"authenticated": body is not None, "me": body, "data_centers": dcs})


@router.post("/api/accounts/switch", responses={**ERRORS, 404: {"description": "not yours"}})
async def switch(request: Request, body: SwitchIn) -> JSONResponse:
    """Make another connection of this browser active (only ids its signed cookie names)."""
    switched = session_of(request).switched(body.id)
    if switched is None:
        raise ApiError(404, "unknown_account", "this browser has no such account; connect it first")
    me, after = await profile(web(request), switched)
    if me is None or after.active != body.id:
        raise ApiError(404, "unknown_account", "that account was logged out; connect it again")
    set_session(request, after)
    return respond(me)


@router.post("/api/accounts/connect-org", responses=ERRORS)
async def connect_org(request: Request, body: ConnectOrgIn) -> JSONResponse:
    """Connect another CRM org of the active user (Zoho checks the user belongs to it)."""
    ctx = web(request)
    active = active_connection(request)
    current, _ = await profile(ctx, session_of(request))
    if current is not None and any(
        a["org_id"] == body.org_id and a["zuid"] == current["zuid"]
        for a in [current, *current["accounts"]]
    ):
        raise ApiError(
            409,
            "already_connected",
            f"org {body.org_id} is already connected for {current['email']}; "
            "switch to it from the account menu",
        )
    try:
        conn = await ctx.auth.connect_org(active, body.org_id)
    except LoginError as exc:  # Zoho would not serve that org to this user
        raise ApiError(
            404,
            "unknown_org",
            f"Zoho does not let this user into org {body.org_id}; check the org ID "
            "(Zoho CRM → Setup → Company Details)",
        ) from exc
    me, after = await profile(ctx, session_of(request).with_login(conn.id))
    set_session(request, after)
    return respond(me or {})


@router.post("/api/auth/logout", responses=ERRORS)
async def logout(request: Request, body: Annotated[LogoutIn | None, Body()] = None) -> JSONResponse:
    """Log the active account out of this app: its stored tokens are deleted, so every browser
    signed in to it must log in again. With `revoke`, the grant is revoked at Zoho too, which
    ends every org connection sharing it; if Zoho cannot confirm that, the grant is kept on
    record (unused) and the message says to remove the app at Zoho. The next account of this
    browser becomes active."""
    ctx = web(request)
    revoke = body.revoke if body is not None else False
    before = session_of(request)
    active = before.active
    if active is None:
        raise not_logged_in()
    # Who was logged out, so the page can name them (and who is active after).
    targets = list(before.ids) if body is not None and body.all else [active]
    gone = [d for d in [await describe(ctx, t) for t in targets] if d is not None]
    after = before
    revoked = False
    outcome = None
    for target in targets:
        if target not in after.ids:
            continue  # already ended with an earlier one's revoked grant
        done = await ctx.auth.logout(target, revoke=revoke)
        after = after.without(target, *done.connection_ids)
        revoked = revoked or done.revoked
        if done.revocation is not None and outcome in _NOT_WORSE:
            outcome = done.revocation.outcome  # the message tells the worst outcome
    remaining = await describe(ctx, after.active) if after.active else None
    set_session(request, after)
    return respond(
        {
            "status": "ok",
            "revoked": revoked,
            "message": _LOGOUT_MESSAGES[outcome],
            "logged_out": [
                {"email": d["email"], "org_name": d["org_name"], "dc": d["dc"]} for d in gone
            ],
            "active": remaining,
        }
    )


#: Outcomes another account's revocation may replace in the message of a logout of several.
_NOT_WORSE = (None, RevokeOutcome.REVOKED, RevokeOutcome.ALREADY_INVALID)
_REMOVE_AT_ZOHO = "remove the app under Connected Apps in your Zoho account"
#: The logout's message by what revoking at Zoho did (None: no revocation asked or needed).
_LOGOUT_MESSAGES: dict[RevokeOutcome | None, str] = {
    None: "logged out",
    RevokeOutcome.REVOKED: "logged out; access was revoked at Zoho",
    RevokeOutcome.ALREADY_INVALID: "logged out; Zoho had already ended this app's access",
    RevokeOutcome.UNAVAILABLE: (
        f"logged out here, but Zoho could not be reached to revoke access; {_REMOVE_AT_ZOHO}"
    ),
    RevokeOutcome.REFUSED: (
        f"logged out here, but Zoho did not confirm the revocation; {_REMOVE_AT_ZOHO}"
    ),
}
