"""One entry point for `/{dc}/api/...`: authenticate, resolve the path, check method and scope,
apply the org's limits, run the handler, and turn every failure into Zoho's envelope.

A single Starlette route with a small table of path shapes is cheaper than many regex routes
and lets unknown paths answer INVALID_URL_PATTERN and wrong methods INVALID_REQUEST_METHOD in
Zoho's envelope, not Starlette's plain text. The order — token, path, method, scope, module —
is the emulator's [?]: Zoho does not document which check wins when several fail.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..dcs import DATA_CENTERS
from ..modules import MODULES
from ..state import EmulatorState
from . import auth, errors, limits, records, search, settings, users_org, writes
from .call import Call

log = logging.getLogger(__name__)

Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Target:
    """A path shape: per HTTP method, the handler and (for record routes) the scope action."""

    methods: dict[str, tuple[Handler, str | None]]
    id_index: int | None = None  # the path segment holding a record / user / module id
    record_route: bool = False  # segment 0 names a module


_USERS = Target({"GET": (users_org.users, None)})
_USER = Target({"GET": (users_org.user, None)}, id_index=1)
_ORG = Target({"GET": (users_org.org, None)})
_MODULES = Target({"GET": (settings.modules, None)})
_MODULE = Target({"GET": (settings.module, None)}, id_index=2)
_FIELDS = Target({"GET": (settings.fields, None)})
_FIELD = Target({"GET": (settings.fields, None)}, id_index=2)
_RECORDS = Target(
    {
        "GET": (records.list_records, "read"),
        "POST": (writes.create, "create"),
        "PUT": (writes.update, "update"),
        "DELETE": (writes.delete, "delete"),
    },
    record_route=True,
)
_RECORD = Target(
    {
        "GET": (records.get_record, "read"),
        "PUT": (writes.update, "update"),
        "DELETE": (writes.delete, "delete"),
    },
    id_index=1,
    record_route=True,
)
_UPSERT = Target({"POST": (writes.upsert, "upsert")}, record_route=True)
_SEARCH = Target({"GET": (search.search, "read")}, record_route=True)
_COUNT = Target({"GET": (search.count, "read")}, record_route=True)

_BY_LOWER: Final = {name.lower(): mod for name, mod in MODULES.items()}
_PREFIX: Final = "crm/v8/"


def resolve(segments: list[str]) -> Target:
    """The path shape of `crm/v8/<segments>`, or INVALID_URL_PATTERN."""
    n = len(segments)
    first = segments[0]
    if not all(segments):
        raise errors.invalid_url()
    if first == "users":
        if n <= 2:
            return _USERS if n == 1 else _USER
    elif first == "org":
        if n == 1:
            return _ORG
    elif first == "settings":
        if n in (2, 3) and segments[1] in ("modules", "fields"):
            if segments[1] == "modules":
                return _MODULES if n == 2 else _MODULE
            return _FIELDS if n == 2 else _FIELD
    elif n == 1:
        return _RECORDS
    elif n == 2:
        if segments[1] == "upsert":
            return _UPSERT
        if segments[1] == "search":
            return _SEARCH
        if segments[1] != "actions":
            return _RECORD
    elif n == 3 and segments[1] == "actions" and segments[2] == "count":
        return _COUNT
    raise errors.invalid_url()


async def _run(state: EmulatorState, request: Request) -> Response:
    dc = request.path_params["dc"]
    rest: str = request.path_params["rest"]
    if dc not in DATA_CENTERS or not rest.startswith(_PREFIX):
        raise errors.invalid_url()
    caller = auth.authenticate(state, request.headers, dc)
    segments = rest[len(_PREFIX) :].split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # tolerate one trailing slash [?]
    target = resolve(segments)
    entry = target.methods.get(request.method)
    if entry is None:
        raise errors.method_not_allowed()
    handler, action = entry
    call = Call(state, request, caller)
    if target.id_index is not None:
        call.record_id = segments[target.id_index]
    if target.record_route:
        assert action is not None
        if action == "upsert":
            auth.require_upsert_scope(caller, segments[0])
        else:
            auth.require_record_scope(caller, segments[0], action)
        module = _BY_LOWER.get(segments[0].lower())
        if module is None:
            raise errors.invalid_module(resource_path_index=0)
        call.module = module
    zgid = caller.zgid
    limits.enter(state, zgid)
    try:
        return await handler(call)
    finally:
        limits.leave(state, zgid)


class CrmApp:
    """The ASGI app behind `/{dc}/api/...`. An ASGI class (not a function endpoint) so that
    Starlette lets every HTTP method through: a wrong one is answered in Zoho's envelope."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        self.state.stats.api_requests += 1
        try:
            response = await _run(self.state, request)
        except errors.CrmError as exc:
            response = exc.response()
        except Exception:  # a bug, never bad input: still Zoho's 500 envelope
            log.exception("CRM emulator error on %s %s", request.method, request.url.path)
            response = errors.internal_error().response()
        await response(scope, receive, send)
