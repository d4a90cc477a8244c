"""Zoho Accounts over HTTP for every DC: consent page, token endpoint, revoke.

Token errors are HTTP 200 with `{"error": ...}` as Zoho sends them (reference §2c); parameters
are read from the form body or the query string, since Zoho's own examples use the query string
of a POST and its SDK the body (§2).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import dcs, grants
from .state import EmulatorState

_JSON = "application/json;charset=UTF-8"


def _zoho_json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, media_type=_JSON)


async def params_of(request: Request) -> dict[str, str]:
    """Query-string parameters overlaid by form-body ones (either place works at Zoho)."""
    merged = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if request.method == "POST" and (
        "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype
    ):
        form = await request.form()
        merged.update({k: v for k, v in form.items() if isinstance(v, str)})
    return merged


def build_routes(state: EmulatorState) -> list[BaseRoute]:
    def base(request: Request) -> str:
        return str(request.base_url)

    async def token(request: Request) -> Response:
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return Response("Not Found", status_code=404)
        p = await params_of(request)
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
            else:
                # Undocumented at Zoho [?]; RFC 6749 §5.2's name, sent the Zoho way (HTTP 200).
                raise grants.GrantError("unsupported_grant_type")
        except grants.GrantError as exc:
            if exc.error == "Access Denied":
                return _zoho_json(grants.ACCESS_DENIED_BODY)
            return _zoho_json({"error": exc.error})
        return _zoho_json(body)

    async def revoke(request: Request) -> Response:
        dc = request.path_params["dc"]
        if dc not in dcs.DATA_CENTERS:
            return Response("Not Found", status_code=404)
        state.stats.token_requests["revoke"] += 1
        p = await params_of(request)
        tok = p.get("token", "")
        if tok and grants.revoke_token(state, tok):
            return _zoho_json({"status": "success"})
        # Zoho answers an invalid token with HTTP 400; the body is undocumented [?].
        return _zoho_json({"status": "failure", "error": "invalid_token"}, status=400)

    return [
        Route("/{dc}/accounts/oauth/v2/token", token, methods=["POST"]),
        Route("/{dc}/accounts/oauth/v2/token/revoke", revoke, methods=["POST"]),
        Route("/{dc}/accounts/oauth/v2/revoke/token", revoke, methods=["POST"]),
    ]
