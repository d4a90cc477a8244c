"""The metadata endpoints: `settings/modules`, `settings/modules/{api_name}`, `settings/fields`.

The official SDK reads `settings/fields?module=X` before it parses a module's records. The bodies
are static (`modules_metadata.py`, `fields_metadata.py`), so they are serialised once here; shapes
follow Zoho's OpenAPI spec, modules.json / fields.json [docs/zoho-reference.md §6.4]. The one
per-org part: a field the org made unique says so in its `unique` object (`casesensitive`, as
fields.json names it; `{}` otherwise).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ..modules import MODULES
from . import errors
from .auth import FIELDS_READ, MODULES_READ, require_scope
from .call import Call, choice_param
from .errors import dumps, json_response, no_content
from .fields_metadata import FIELDS
from .modules_metadata import DETAILS, SUMMARIES

#: Precomputed bodies: metadata never changes while the emulator runs.
_FIELDS_BODY: Final = {m: dumps({"fields": f}) for m, f in FIELDS.items()}
_MODULES_BODY: Final = dumps({"modules": list(SUMMARIES.values())})
_MODULE_BODY: Final = {m: dumps({"modules": [d]}) for m, d in DETAILS.items()}
_LOWER: Final = {name.lower(): name for name in MODULES}


async def modules(call: Call) -> Response:
    require_scope(call.caller, *MODULES_READ)
    status = call.params.get("status")
    if status not in (None, "", "visible"):
        # Every emulated module is visible; hidden ones are not emulated.
        if status in ("user_hidden", "system_hidden", "scheduled_for_deletion"):
            return no_content()
        raise errors.invalid_param("status")
    return Response(_MODULES_BODY, media_type=errors.JSON_TYPE)


async def module(call: Call) -> Response:
    require_scope(call.caller, *MODULES_READ)
    name = _LOWER.get((call.record_id or "").lower())
    if name is None:
        raise errors.invalid_module(resource_path_index=2)
    return Response(_MODULE_BODY[name], media_type=errors.JSON_TYPE)


def _org_fields(call: Call, name: str) -> list[dict[str, Any]] | None:
    """The module's fields with the caller's org's unique ones marked, or None if it has none."""
    unique = call.state.unique_fields.get((call.caller.zgid, name))
    if not unique:
        return None
    return [
        {**f, "unique": {"casesensitive": "false"}} if f["api_name"] in unique else f
        for f in FIELDS[name]
    ]


async def fields(call: Call) -> Response:
    require_scope(call.caller, *FIELDS_READ)
    raw = call.params.get("module")
    if not raw:
        raise errors.required_param("module")
    name = _LOWER.get(raw.lower())
    if name is None:
        raise errors.invalid_module_param("module")
    choice_param(call.params, "type", "all", ("all", "used", "unused"))
    org_fields = _org_fields(call, name)
    if call.record_id is not None:
        found = [f for f in org_fields or FIELDS[name] if f["id"] == call.record_id]
        if not found:
            raise errors.invalid_id(resource_path_index=2)
        return json_response({"fields": found})
    if org_fields is not None:
        return json_response({"fields": org_fields})
    return Response(_FIELDS_BODY[name], media_type=errors.JSON_TYPE)
