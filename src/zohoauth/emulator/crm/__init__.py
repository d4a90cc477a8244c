"""Zoho CRM v8 over HTTP for every DC, under `/{dc}/api/crm/v8/` (the DC's `api_domain`).

    errors.py      Zoho's error envelope and JSON responses
    auth.py        Authorization header, token -> user and org (X-CRM-ORG), scopes
    limits.py      optional concurrency / daily credits per org -> 429
    call.py        the per-call context and defensive parsing of parameters and bodies
    meta.py        users, org, settings/modules, settings/fields (metadata.py, module_meta.py)
    records.py     list and get (paging.py: sorting, page / page_token)
    writes.py      insert, update, delete, upsert (validate.py: per-record checks)
    search.py      search and count (criteria.py: the criteria language)
    router.py      the single route: path shapes, method, scope, module, limits

Imports nothing from the rest of zohoauth.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from ..state import EmulatorState
from .router import CrmApp


class CrmRoute(BaseRoute):
    """Matches every `/{dc}/api/...` path by plain string splitting.

    Not a `Route("/{dc}/api/{rest:path}")`: its regex stops at a newline (`%0A` in a path
    would fall through to Starlette's plain-text 404), and splitting is cheaper. The app gets
    every HTTP method, so a wrong one is answered in Zoho's envelope.
    """

    def __init__(self, state: EmulatorState) -> None:
        self.app = CrmApp(state)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        parts = scope["path"].split("/", 3)
        if len(parts) < 3 or parts[0] or parts[2] != "api":
            return Match.NONE, {}
        rest = parts[3] if len(parts) == 4 else ""
        return Match.FULL, {"path_params": {"dc": parts[1], "rest": rest}, "endpoint": self.app}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def build_routes(state: EmulatorState) -> list[BaseRoute]:
    return [CrmRoute(state)]
