"""The emulator's admin API under `/_emulator/` (JSON in and out), as the README lists it.

Tests and the demo drive the emulated Zoho through it: register clients, mint Self Client codes,
move the clock, inject faults, revoke a user, make a field unique in an org, read counters, reset.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import dcs, grants
from .modules import MODULES
from .seed import apply_seed, make_client
from .state import EmulatorState, Fault

#: The admin API's `error` code for each HTTP status it answers with.
_ERROR_CODES = {400: "bad_request", 404: "not_found", 429: "access_denied"}


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _err(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": _ERROR_CODES.get(status, "bad_request"), "message": message},
        status_code=status,
    )


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AdminError(f"the body is not valid JSON ({exc.msg}); send a JSON object") from exc
    if not isinstance(data, dict):
        raise AdminError("send a JSON object")
    return data


def _str(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise AdminError(f"'{key}' is required")
        return None
    if not isinstance(value, str) or not value:
        raise AdminError(f"'{key}' must be a non-empty string")
    return value


def build_routes(state: EmulatorState, seed: dict[str, Any]) -> list[Route]:
    Handler = Callable[[Request], Awaitable[Response]]

    def guarded(fn: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await fn(request)
            except AdminError as exc:
                return _err(exc.message, exc.status)
            except (TypeError, ValueError) as exc:
                return _err(f"bad value: {exc}")

        return run

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def endpoints(request: Request) -> Response:
        return JSONResponse(dcs.endpoints(str(request.base_url)))

    async def users(request: Request) -> Response:
        return JSONResponse(
            {
                "users": [
                    {
                        "email": u.email,
                        "zuid": u.zuid,
                        "dc": u.dc,
                        "first_name": u.first_name,
                        "last_name": u.last_name,
                        "orgs": [
                            {"id": z, "company_name": state.orgs[z].company_name} for z in u.orgs
                        ],
                    }
                    for u in state.users.values()
                ]
            }
        )

    async def stats(request: Request) -> Response:
        body = state.stats.as_dict()
        body["clock_offset"] = state.clock.offset
        body["live_access_tokens"] = len(state.access_tokens)
        body["live_refresh_tokens"] = len(state.refresh_tokens)
        return JSONResponse(body)

    async def clients(request: Request) -> Response:
        """Register (or replace) a client: a common `client_secret`, per-DC `client_secrets`,
        or both (a DC listed there uses its own secret)."""
        data = await _json(request)
        try:
            client = make_client(data)
        except ValueError as exc:
            raise AdminError(str(exc)) from exc
        state.add_client(client)
        return JSONResponse(
            {
                "client_id": client.client_id,
                "redirect_uris": client.redirect_uris,
                "per_dc_secrets": sorted(client.client_secrets),
            },
            status_code=201,
        )

    async def self_client_code(request: Request) -> Response:
        data = await _json(request)
        client = state.clients.get(_str(data, "client_id") or "")
        if client is None:
            raise AdminError("unknown client_id; register it with POST /_emulator/clients", 404)
        user = state.user_by_email(_str(data, "email") or "")
        if user is None:
            raise AdminError("unknown email; GET /_emulator/users lists the seeded accounts", 404)
        scopes = grants.parse_scopes(str(data.get("scope") or "ZohoCRM.modules.ALL"))
        try:
            grant = grants.issue_code(
                state, client, user, scopes, str(data.get("access_type") or "offline"), None
            )
        except grants.GrantError as exc:
            cfg = state.config
            raise AdminError(
                f"{exc.error}: Zoho issues at most {cfg.max_grant_codes_per_window} grant codes "
                f"per client in {cfg.grant_code_window:g} s; wait (POST /_emulator/clock) or "
                'switch the limit off (POST /_emulator/config {"grant_limits": false})',
                429,
            ) from exc
        return JSONResponse(
            {
                "code": grant.code,
                "location": user.dc,
                "accounts_server": dcs.accounts_server(str(request.base_url), user.dc),
            }
        )

    async def clock(request: Request) -> Response:
        data = await _json(request)
        seconds = data.get("advance_seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise AdminError("'advance_seconds' must be a number of seconds >= 0")
        state.clock.advance(float(seconds))
        return JSONResponse({"offset_seconds": state.clock.offset, "now": state.clock.now()})

    async def faults(request: Request) -> Response:
        data = await _json(request)
        target = data.get("target")
        if target not in ("accounts", "api"):
            raise AdminError('\'target\' must be "accounts" or "api"')
        dc = data.get("dc")
        if dc is not None and dc not in dcs.DATA_CENTERS:
            raise AdminError(f"'dc' must be null or one of {sorted(dcs.DATA_CENTERS)}")
        fault = Fault(
            latency_ms=float(data.get("latency_ms") or 0),
            error_rate=float(data.get("error_rate") or 0),
            outage=bool(data.get("outage", False)),
        )
        if not 0 <= fault.error_rate <= 1 or fault.latency_ms < 0:
            raise AdminError("'error_rate' must be within 0..1 and 'latency_ms' >= 0")
        if fault == Fault():
            state.faults.pop((target, dc), None)
        else:
            state.faults[(target, dc)] = fault
        return JSONResponse(
            {
                "faults": [
                    {
                        "target": t,
                        "dc": d,
                        "latency_ms": f.latency_ms,
                        "error_rate": f.error_rate,
                        "outage": f.outage,
                    }
                    for (t, d), f in state.faults.items()
                ]
            }
        )

    async def revoke_user(request: Request) -> Response:
        data = await _json(request)
        user = state.user_by_email(_str(data, "email") or "")
        if user is None:
            raise AdminError("unknown email; GET /_emulator/users lists the seeded accounts", 404)
        return JSONResponse({"revoked": grants.revoke_user(state, user)})

    async def unique_fields(request: Request) -> Response:
        """What an org admin does with "Do not allow duplicate values" on a field: from then on
        a write that repeats another record's value fails with DUPLICATE_DATA."""
        data = await _json(request)
        org_id = _str(data, "org_id") or ""
        if org_id not in state.orgs:
            raise AdminError("unknown 'org_id'; GET /_emulator/users lists each user's orgs", 404)
        module = MODULES.get(_str(data, "module") or "")
        if module is None:
            raise AdminError(f"'module' must be one of {sorted(MODULES)}")
        name = _str(data, "field") or ""
        f = module.field(name)
        if f is None or f.read_only or f.data_type in ("lookup", "ownerlookup", "boolean"):
            raise AdminError(f"'field' must be a writable plain field of {module.api_name}")
        unique = data.get("unique", True)
        if not isinstance(unique, bool):
            raise AdminError("'unique' must be true or false")
        chosen = state.unique_fields.setdefault((org_id, module.api_name), set())
        if unique:
            chosen.add(name)
        else:
            chosen.discard(name)
        return JSONResponse({"org_id": org_id, "module": module.api_name, "unique": sorted(chosen)})

    async def config(request: Request) -> Response:
        data = await _json(request)
        state.config = state.config.with_overrides(data)
        return JSONResponse(
            {"config": {k: getattr(state.config, k) for k in state.config.__dataclass_fields__}}
        )

    async def reset(request: Request) -> Response:
        state.clear()
        apply_seed(state, seed)
        return JSONResponse({"status": "ok"})

    return [
        Route("/_emulator/health", health),
        Route("/_emulator/endpoints", endpoints),
        Route("/_emulator/users", users),
        Route("/_emulator/stats", stats),
        Route("/_emulator/clients", guarded(clients), methods=["POST"]),
        Route("/_emulator/self-client/code", guarded(self_client_code), methods=["POST"]),
        Route("/_emulator/clock", guarded(clock), methods=["POST"]),
        Route("/_emulator/faults", guarded(faults), methods=["POST"]),
        Route("/_emulator/revoke-user", guarded(revoke_user), methods=["POST"]),
        Route("/_emulator/unique-fields", guarded(unique_fields), methods=["POST"]),
        Route("/_emulator/config", guarded(config), methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
