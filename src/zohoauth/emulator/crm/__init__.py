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

from starlette.routing import BaseRoute, Route

from ..state import EmulatorState
from .router import CrmApp


def build_routes(state: EmulatorState) -> list[BaseRoute]:
    # An ASGI app (not a function) as endpoint: every method reaches it, so a wrong one gets
    # Zoho's INVALID_REQUEST_METHOD envelope instead of Starlette's plain-text 405.
    return [Route("/{dc}/api/{rest:path}", CrmApp(state))]
