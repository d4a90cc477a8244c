"""`/api/v1`: the token service for backends in any language (docs/token-service.md).

Every call carries `Authorization: Bearer zas_...` (a service key; no cookies, so no CSRF:
`csrf.py` skips this prefix). Answers are JSON; errors the app's one shape,
`{"error": "<code>", "message": "<what to do>"}`:

    401 invalid_key     no key, or a malformed, unknown, revoked or expired one
    403 forbidden       the key's scope or connections do not allow this call
    404 not_found       no such connection (or not one this key may use)
    400 bad_proxy_path  a proxy path that is not a plain crm/v8/... path
    429 rate_limited    this key's token bucket is empty (Retry-After says when to retry)

The refresh token never leaves the service: no answer here has a field that could hold it.
Every token handed out, refresh, proxied call and delete, and every refused call, is written
to the audit log by `ZohoAuth.service` (the library's `TokenService`), which does all the
work; this module only speaks HTTP.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from .. import ConnectionInfo, ServiceKey
from ..errors import NotFoundError
from . import routes_ops
from .context import web
from .errors import ApiError
from .responses import json_response

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX, tags=["token service"])
#: /healthz and /readyz, for `zohoauth serve --api-only` (which mounts no pages).
health_router = APIRouter()
health_router.add_api_route("/healthz", routes_ops.healthz, methods=["GET"])
health_router.add_api_route("/readyz", routes_ops.readyz, methods=["GET"])

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="serviceKey",
    description="A service key from `zohoauth keys service create` (zas_...).",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_NO_CONNECTION = "no such connection (or not one this service key may use)"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`invalid_key`", "model": None},
    403: {"description": "`forbidden`"},
    429: {"description": "`rate_limited`, with Retry-After"},
}


class ErrorOut(BaseModel):
    error: str
    message: str


class ConnectionOut(BaseModel):
    id: str
    email: str
    zuid: str
    org_id: str
    org_name: str
    dc: str
    dc_name: str
    status: str
    needs_reconnect: bool
    created_at: float
    last_used_at: float | None


class ConnectionsPage(BaseModel):
    data: list[ConnectionOut]
    next_cursor: str | None


class TokenOut(BaseModel):
    access_token: str
    api_domain: str
    expires_at: float
    org_id: str
    dc: str


class DeletedOut(BaseModel):
    deleted: list[str]
    revoked: bool


for _status in _ERRORS:
    _ERRORS[_status]["model"] = ErrorOut


async def _key(request: Request, creds: Bearer, action: str, cid: str | None = None) -> ServiceKey:
    header = f"{creds.scheme} {creds.credentials}" if creds is not None else None
    service = web(request).auth.service
    key = await service.authenticate(header, action, cid)
    wait = service.rate_limit(key, action, cid)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"service key {key.name!r} made too many calls; retry after the Retry-After seconds",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return key


def _out(info: ConnectionInfo) -> dict[str, Any]:
    c = info.connection
    return {
        "id": c.id,
        "email": c.email,
        "zuid": c.zuid,
        "org_id": c.org_id,
        "org_name": c.org_name,
        "dc": c.dc,
        "dc_name": info.dc_name,
        "status": info.status.value,
        "needs_reconnect": info.needs_reconnect,
        "created_at": c.created_at,
        "last_used_at": c.last_used_at,
    }


def _not_found() -> ApiError:
    return ApiError(404, "not_found", _NO_CONNECTION)


@router.get("/connections", response_model=ConnectionsPage, responses=_ERRORS)
async def list_connections(
    request: Request,
    creds: Bearer,
    email: str | None = None,
    zuid: str | None = None,
    org: str | None = Query(None, description="The CRM org id (zgid)."),
    dc: str | None = None,
    status: str | None = Query(None, description="active, reauth_required, revoke_pending"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page."),
    limit: int = Query(100, ge=1, le=500),
) -> JSONResponse:
    """The connections this key may use, filtered, in pages (follow `next_cursor`)."""
    key = await _key(request, creds, "read")
    found, after = await web(request).auth.service.connections(
        key,
        email=email,
        zuid=zuid,
        org_id=org,
        dc=dc,
        status=status,
        after=cursor,
        limit=limit,
    )
    return json_response({"data": [_out(i) for i in found], "next_cursor": after})


@router.get("/connections/{connection_id}", response_model=ConnectionOut, responses=_ERRORS)
async def get_connection(request: Request, creds: Bearer, connection_id: str) -> JSONResponse:
    key = await _key(request, creds, "read", connection_id)
    try:
        info = await web(request).auth.service.connection(key, connection_id)
    except NotFoundError:
        raise _not_found() from None
    return json_response(_out(info))


def _token_out(tok: Any) -> dict[str, Any]:
    # Built field by field: nothing else of the credential (its refresh token) can slip in.
    return {
        "access_token": tok.token,
        "api_domain": tok.api_domain,
        "expires_at": tok.expires_at,
        "org_id": tok.org_id,
        "dc": tok.dc,
    }


@router.get("/connections/{connection_id}/token", response_model=TokenOut, responses=_ERRORS)
async def get_token(
    request: Request,
    creds: Bearer,
    connection_id: str,
    min_valid: int = Query(300, ge=0, le=3000, description="Seconds the token must stay valid."),
) -> JSONResponse:
    """An access token valid for at least `min_valid` seconds, from the shared cache: many
    callers of an expired connection cause one refresh at Zoho."""
    key = await _key(request, creds, "token", connection_id)
    try:
        tok = await web(request).auth.service.token(key, connection_id, min_valid=min_valid)
    except NotFoundError:
        raise _not_found() from None
    return json_response(_token_out(tok))


@router.post("/connections/{connection_id}/refresh", response_model=TokenOut, responses=_ERRORS)
async def refresh(request: Request, creds: Bearer, connection_id: str) -> JSONResponse:
    """Force a refresh (admin keys), within Zoho's limits as the token manager keeps them."""
    key = await _key(request, creds, "refresh", connection_id)
    try:
        tok = await web(request).auth.service.refresh(key, connection_id)
    except NotFoundError:
        raise _not_found() from None
    return json_response(_token_out(tok))


@router.delete("/connections/{connection_id}", response_model=DeletedOut, responses=_ERRORS)
async def delete_connection(
    request: Request,
    creds: Bearer,
    connection_id: str,
    revoke: bool = Query(False, description="Also revoke the grant at Zoho (one-revoke rule)."),
) -> JSONResponse:
    """Delete the connection (admin keys); with `revoke=true` revoke the grant at Zoho too."""
    key = await _key(request, creds, "delete", connection_id)
    done = await web(request).auth.service.delete(key, connection_id, revoke=revoke)
    if not done.connection_ids:
        raise _not_found()
    return json_response({"deleted": list(done.connection_ids), "revoked": done.revoked})


_PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def proxy(request: Request, creds: Bearer, connection_id: str, path: str) -> Response:
    """Forward a Zoho CRM v8 call (`crm/v8/...`) for the connection with its token and
    `X-CRM-ORG`; Zoho's status and body come back as they are."""
    key = await _key(request, creds, "proxy", connection_id)
    # The raw path, not Starlette's decoded one: %2f or %2e%2e must be seen to be refused.
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    head = f"{PREFIX}/proxy/{connection_id}/"
    if not raw.startswith(head):
        raise ApiError(400, "bad_proxy_path", "the proxy path is malformed")
    try:
        resp = await web(request).auth.service.proxy(
            key,
            connection_id,
            request.method,
            raw[len(head) :],
            query=request.url.query,
            body=await request.body(),
            headers=request.headers,
        )
    except NotFoundError:
        raise _not_found() from None
    return Response(resp.content, status_code=resp.status, headers=dict(resp.headers))


for _method in _PROXY_METHODS:  # one operation per method, so the OpenAPI ids stay unique
    router.add_api_route(
        "/proxy/{connection_id}/{path:path}",
        proxy,
        methods=[_method],
        operation_id=f"proxy_{_method.lower()}",
        responses={**_ERRORS, 400: {"description": "`bad_proxy_path`", "model": ErrorOut}},
    )
