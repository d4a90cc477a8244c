"""Zoho Accounts over HTTP for every DC: consent page, token endpoint, revoke.

Token errors are HTTP 200 with `{"error": ...}` as Zoho sends them, and parameters are read from the
form body or the query string, since Zoho's own examples use the query string of a POST and its SDK
the body (docs/zoho-reference.md §2). Garbage in (odd content types, bad encodings,
oversized bodies, unknown DC prefixes) is answered as a client error, never a 500.

The consent page is served under every DC prefix, and knows the users of its sign-in entry only
(`dcs.LOGIN_DC`): a Multi-DC page (clients use the US one, as at Zoho) signs in every Multi-DC
user and none from China; the China page (`/cn/accounts`) signs in China's users and nobody else.
The code it issues belongs to the user's own DC, named in the redirect's `location` and
`accounts-server`, and `GET /oauth/serverinfo` lists the accounts servers of the sign-in entry
it is asked at (docs/zoho-reference.md §1, §Data centres).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from . import consent, dcs, grants
from .state import EmulatorState

_JSON = "application/json;charset=UTF-8"
#: Form bodies larger than this per field are refused (Zoho's own cap is undocumented [?]).
_MAX_FIELD_BYTES = 64 * 1024
_MAX_FIELDS = 100
_UNREADABLE = (HTTPException, MultiPartException, ClientDisconnect, ValueError, LookupError)


class BadInput(Exception):
    """The request body could not be read as a form."""


def _zoho_json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, media_type=_JSON)


def _page(html: str, status: int = 200) -> Response:
    return HTMLResponse(html, status_code=status, headers=consent.PAGE_HEADERS)


async def params_of(request: Request) -> dict[str, str]:
    """Query-string parameters overlaid by form-body ones (either place works at Zoho
    [docs/zoho-reference.md §2]).

    Other content types (JSON, text) contribute nothing, so their parameters count as missing.
    Raises BadInput when a form body is malformed or too large.
    """
    merged = dict(request.query_params)
    ctype = request.headers.get("content-type", "").lower()
    if request.method == "POST" and (
        "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype
    ):
        try:
            form = await request.form(max_fields=_MAX_FIELDS, max_part_size=_MAX_FIELD_BYTES)
        except _UNREADABLE as exc:
            raise BadInput(str(exc)) from exc
        merged.update({k: v for k, v in form.items() if isinstance(v, str)})
        for value in form.values():
            if isinstance(value, UploadFile):
                await value.close()
    return merged


def _with_query(uri: str, params: list[tuple[str, str]]) -> str:
    """`uri` with `params` appended to whatever query it already has (RFC 6749 §4.1.2)."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _redirect(uri: str, params: list[tuple[str, str]]) -> Response:
    headers = {k: v for k, v in consent.PAGE_HEADERS.items() if k != "Content-Security-Policy"}
    return RedirectResponse(_with_query(uri, params), status_code=302, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) from `Authorization: Basic ...`, or None if malformed."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def build_routes(state: EmulatorState) -> list[BaseRoute]:
    def base(request: Request) -> str:
        return str(request.base_url)

    # -- consent page ------------------------------------------------------------------------

    def show_form(
        request: Request,
        dc: str,
        auth: grants.AuthRequest,
        email: str = "",
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        state.stats.consent_pages += 1
        html = consent.consent_page(
            client_name=auth.client.name,
            scopes=auth.scopes,
            access_type=auth.access_type,
            hidden=auth.params(),
            action=request.url.path,
            email=email,
            error=error,
            known_emails=sorted(
                u.email for u in state.users.values() if dcs.same_sign_in(dc, u.dc)
            ),
            server=dcs.DATA_CENTERS[dc],
        )
        return _page(html, status)

    def unknown_dc_page(dc: str) -> Response:
        return _page(
            consent.error_page("Unknown data center", f"There is no data center '{dc[:40]}'."),
            404,
        )

    async def auth_page(request: Request) -> Response:
        """`GET /oauth/v2/auth`: check the request, then show the sign-in/consent form."""
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return unknown_dc_page(dc)
        try:
            auth = grants.parse_auth_request(state, dict(request.query_params))
        except grants.AuthRequestError as exc:
            return _page(consent.error_page(exc.title, exc.message), 400)
        # `login_hint` (OpenID Connect) pre-fills the email. Zoho's authorization docs do not
        # list it [?]; a client sending it loses nothing where Zoho ignores it.
        hint = request.query_params.get("login_hint", "").strip()[:254]
        return show_form(request, dc, auth, hint)

    async def auth_decision(request: Request) -> Response:
        """`POST /oauth/v2/auth`: the form's answer. Every field is checked again (hidden
        fields are as untrusted as the query string was)."""
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return unknown_dc_page(dc)
        try:
            params = await params_of(request)
            auth = grants.parse_auth_request(state, params)
        except BadInput:
            return _page(consent.error_page("Bad request", "The form could not be read."), 400)
        except grants.AuthRequestError as exc:
            return _page(consent.error_page(exc.title, exc.message), 400)
        decision = params.get("decision", "")
        email = params.get("email", "").strip()
        if decision == "reject":
            # The denial redirect is undocumented at Zoho; RFC 6749 §4.1.2.1's shape [?].
            denied = [("error", "access_denied")]
            if auth.state is not None:
                denied.append(("state", auth.state))
            return _redirect(auth.redirect_uri, denied)
        if decision != "accept":
            return show_form(request, dc, auth, email, "Choose Accept or Reject.", 400)
        user = state.user_by_email(email) if email else None
        if user is not None and not dcs.same_sign_in(dc, user.dc):
            # China is a separate Zoho: its accounts server does not know Multi-DC users, nor
            # a Multi-DC server China's. Either fails exactly like an unknown email.
            user = None
        if user is None:
            shown = email if len(email) <= 80 else email[:80] + "…"
            message = (
                f"No Zoho account uses the email '{shown}'. Pick one of the emulator's accounts."
                if email
                else "Enter the email of the Zoho account to sign in with."
            )
            return show_form(request, dc, auth, email, message)
        try:
            grant = grants.authorize(state, auth, user)
        except grants.GrantError as exc:
            # Past the client's grant-code limit Zoho throws "access_denied" [docs/zoho-reference.md
            # §Lifetimes and limits]; sent the way a denial is, to the verified redirect URI with
            # the state [?].
            refused = [("error", exc.error)]
            if auth.state is not None:
                refused.append(("state", auth.state))
            return _redirect(auth.redirect_uri, refused)
        # Zoho's example puts state first; the order does not matter [docs/zoho-reference.md
        # §Authorization endpoint].
        params_out = [] if auth.state is None else [("state", auth.state)]
        params_out += [
            ("code", grant.code),
            ("location", user.dc),
            ("accounts-server", dcs.accounts_server(base(request), user.dc)),
        ]
        return _redirect(auth.redirect_uri, params_out)

    # -- server info -------------------------------------------------------------------------

    async def serverinfo(request: Request) -> Response:
        """`GET /oauth/serverinfo`: `location` -> accounts server of this sign-in entry's DCs.

        Clients read `locations[<location>]` and check `result` (docs/zoho-reference.md
        §Data centres). The body's other keys, if Zoho sends any, are unknown [?]; so is
        China's answer, taken to list China alone [?].
        """
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return Response("Not Found", status_code=404)
        locations = dcs.server_locations(base(request), dc)
        return _zoho_json({"result": "success", "locations": locations})

    # -- token endpoint ----------------------------------------------------------------------

    async def token(request: Request) -> Response:
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return Response("Not Found", status_code=404)
        try:
            p = await params_of(request)
        except BadInput:
            return _zoho_json({"error": "invalid_request"})  # undocumented shape [?]
        grant_type = p.get("grant_type")
        api = dcs.api_domain(base(request), dc)
        try:
            if grant_type == "authorization_code":
                state.stats.token_requests["authorization_code"] += 1
                if not p.get("code") or not p.get("client_id"):
                    raise grants.GrantError("invalid_request")  # undocumented shape [?]
                body = grants.exchange_code(
                    state,
                    dc,
                    api,
                    p["client_id"],
                    p.get("client_secret", ""),
                    p["code"],
                    p.get("redirect_uri"),
                    p.get("code_verifier"),
                )
            elif grant_type == "refresh_token":
                state.stats.token_requests["refresh_token"] += 1
                state.stats.refresh_by_dc[dc] = state.stats.refresh_by_dc.get(dc, 0) + 1
                if not p.get("refresh_token") or not p.get("client_id"):
                    raise grants.GrantError("invalid_request")
                body = grants.refresh_access_token(
                    state,
                    dc,
                    api,
                    p["client_id"],
                    p.get("client_secret", ""),
                    p["refresh_token"],
                )
            elif not grant_type:
                raise grants.GrantError("invalid_request")  # RFC 6749 §5.2's name [?]
            else:
                # Undocumented at Zoho [?]; RFC 6749 §5.2's name, sent the Zoho way (HTTP 200).
                raise grants.GrantError("unsupported_grant_type")
        except grants.GrantError as exc:
            if exc.error == "Access Denied":
                return _zoho_json(grants.ACCESS_DENIED_BODY)
            return _zoho_json({"error": exc.error})
        return _zoho_json(body)

    # -- revoke ------------------------------------------------------------------------------

    async def revoke(request: Request, *, needs_client_auth: bool) -> Response:
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return Response("Not Found", status_code=404)
        state.stats.token_requests["revoke"] += 1
        # Zoho answers a failed revocation with HTTP 400; the body is undocumented [?]
        # [docs/zoho-reference.md §3].
        try:
            p = await params_of(request)
        except BadInput:
            return _zoho_json({"status": "failure", "error": "invalid_request"}, status=400)
        client_id: str | None = None
        if needs_client_auth:
            # The newer form authenticates the client with HTTP Basic [docs/zoho-reference.md
            # §Revoke]; without it, or with bad credentials, the answer is a guess [?].
            creds = _basic_credentials(request.headers.get("authorization", ""))
            if creds is None:
                return _zoho_json({"status": "failure", "error": "invalid_client"}, status=400)
            try:
                client_id = grants.check_client(state, *creds, dc).client_id
            except grants.GrantError as exc:
                return _zoho_json({"status": "failure", "error": exc.error}, status=400)
        kind = p.get("token_type") or None
        if kind not in (None, "refresh_token", "access_token"):
            return _zoho_json({"status": "failure", "error": "invalid_request"}, status=400)
        tok = p.get("token", "")
        if tok and grants.revoke_token(state, tok, dc=dc, client_id=client_id, kind=kind):
            return _zoho_json({"status": "success"})
        return _zoho_json({"status": "failure", "error": "invalid_token"}, status=400)

    async def revoke_documented(request: Request) -> Response:
        """`POST /oauth/v2/token/revoke?token=...`; the SDK sends a form (docs/zoho-reference.md
        §Revoke)."""
        return await revoke(request, needs_client_auth=False)

    async def revoke_newer(request: Request) -> Response:
        """`POST /oauth/v2/revoke/token` with Basic client auth and token_type
        [docs/zoho-reference.md §3]."""
        return await revoke(request, needs_client_auth=True)

    return [
        Route("/{dc}/accounts/oauth/v2/auth", auth_page, methods=["GET"]),
        Route("/{dc}/accounts/oauth/serverinfo", serverinfo, methods=["GET"]),
        Route("/{dc}/accounts/oauth/v2/auth", auth_decision, methods=["POST"]),
        Route("/{dc}/accounts/oauth/v2/token", token, methods=["POST"]),
        Route("/{dc}/accounts/oauth/v2/token/revoke", revoke_documented, methods=["POST"]),
        Route("/{dc}/accounts/oauth/v2/revoke/token", revoke_newer, methods=["POST"]),
    ]
