"""Zoho CRM v8 over HTTP for every DC, under `/{dc}/api/crm/v8/` (the DC's `api_domain`).

    errors.py      Zoho's error envelope and JSON responses
    auth.py        Authorization header, token -> user and org (X-CRM-ORG), scopes
    limits.py      optional concurrency / daily credits per org -> 429
    call.py        the per-call context and defensive parsing of parameters and bodies
    users_org.py   users (CurrentUser, by id) and org
    settings.py    settings/modules and settings/fields, serving the static bodies of
                   modules_metadata.py and fields_metadata.py
    records.py     list and get (paging.py: sorting, page / page_token)
    writes.py      insert, update, delete, upsert (validate.py: per-record checks)
    search.py      search and count (criteria.py: the criteria language)
    router.py      the single route: path shapes, method, scope, module, limits

Where Zoho is silent the emulator chooses, marked [?] at the code; the main ones:
- no Authorization header -> 401 AUTHENTICATION_FAILURE; an X-CRM-ORG the user is not in -> the
  same; checks run token -> path -> method -> scope -> module;
- an unknown record id in the path (or another org's) -> 400 INVALID_DATA
  `{"resource_path_index": 1}`, not 204; unknown `fields` names are ignored;
- `per_page` > 200 -> LIMIT_EXCEEDED; page * per_page > 2000 -> DISCRETE_PAGINATION_LIMIT_EXCEEDED;
- a write where every record fails -> 400 (207 when some do); upsert -> 201 if all inserted,
  else 200; its default duplicate check is Email (Leads, Contacts), Account_Name, Deal_Name;
- malformed JSON -> 400 INVALID_DATA "body"; a body over `max_body_bytes` -> 413;
- 429 bodies, INVALID_QUERY details and search's phone matching (trailing digits) are guesses.

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
