"""Reading records: `GET /{module}` (list) and `GET /{module}/{id}`.

Listing needs `fields` (REQUIRED_PARAM_MISSING without it [docs/zoho-reference.md §6.3]; more
than 50 → LIMIT_EXCEEDED [docs/zoho-reference.md §6.3]), sorts by id / Created_Time /
Modified_Time (default id, desc), pages as `paging.py` describes and answers 204 with an EMPTY body
when nothing is left [docs/zoho-reference.md §6.3]. Each record carries `id` and the requested
fields, null when unset, as Zoho does. Reads never copy a module: they sort keys and build only the
page they send.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

from starlette.datastructures import QueryParams
from starlette.responses import Response

from ..modules import MODULES, ModuleDef
from . import errors, paging
from .call import Call, choice_param, int_param, list_param
from .errors import json_response, no_content

MAX_FIELDS: Final = 50
#: Every field of each module, in metadata order: what a record shows without `fields`.
ALL_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    name: tuple(f.api_name for f in mod.fields) for name, mod in MODULES.items()
}


def wanted_fields(module: ModuleDef, params: QueryParams, required: bool) -> tuple[str, ...]:
    """The fields a read returns: `id` plus the known names in `fields` (unknown ones are
    ignored [?]); every field when `fields` is absent and optional."""
    names = list_param(params, "fields")
    if not names:
        if required:
            raise errors.required_param("fields")
        return ALL_FIELDS[module.api_name]
    if len(names) > MAX_FIELDS:
        # The message is one record.json enumerates [docs/zoho-reference.md §6.3]; details [?].
        raise errors.limit_exceeded(
            "Max field limit exceeded", param_name="fields", limit=MAX_FIELDS
        )
    known = module.by_name
    chosen = ["id"]
    for name in names:
        if name in known and name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def project(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The record as sent: the named fields (null when unset). A shallow view, never a copy of
    nested values, which JSON encoding only reads."""
    return {name: record.get(name) for name in names}


def per_page_param(params: QueryParams) -> int:
    per_page = int_param(params, "per_page", paging.MAX_PER_PAGE)
    if per_page > paging.MAX_PER_PAGE:
        # Over 200: LIMIT_EXCEEDED rather than a silent cap [?].
        raise errors.limit_exceeded(
            "Record count exceeded", param_name="per_page", limit=paging.MAX_PER_PAGE
        )
    return per_page


def _since(raw: str) -> datetime:
    """If-Modified-Since: ISO 8601 as Zoho documents it, or an HTTP date; INVALID_DATA else."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError) as exc:
            raise errors.invalid_param("If-Modified-Since") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _modified_since(rows: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    kept = []
    for row in rows:
        try:
            stamp = datetime.fromisoformat(str(row.get("Modified_Time")))
        except ValueError:
            continue
        if (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)) >= since:
            kept.append(row)
    return kept


async def list_records(call: Call) -> Response:
    module, params = call.mod, call.params
    names = wanted_fields(module, params, required=True)
    per_page = per_page_param(params)
    sort_by = choice_param(params, "sort_by", "id", paging.SORT_FIELDS)
    sort_order = choice_param(params, "sort_order", "desc", ("asc", "desc"))
    token = params.get("page_token")
    if token is not None and params.get("page") is not None:
        raise errors.CrmError(
            "AMBIGUITY_DURING_PROCESSING",
            "You cannot use both cvid and sort_by, and page and page_token.",
            400,
            {"param_names": ["page", "page_token"]},  # details [?]
        )
    records = call.records()
    ids = list_param(params, "ids")
    if ids is not None:
        rows = [records[i] for i in dict.fromkeys(ids) if i in records]
    else:
        rows = list(records.values())
    since_header = call.request.headers.get("if-modified-since")
    if since_header is not None:
        rows = _modified_since(rows, _since(since_header))
        if not rows:
            # 304 with If-Modified-Since [docs/zoho-reference.md §6.5]
            return no_content(304)
    if not rows:
        return no_content()
    asc = paging.ordered(rows, sort_by)
    desc = sort_order == "desc"
    seq = asc[::-1] if desc else asc
    now = call.state.clock.now()
    # A token is bound to the org, module and every other input parameter [docs/zoho-reference.md
    # §Records].
    bound = paging.binding(
        {
            "org": call.caller.zgid,
            "module": module.api_name,
            "fields": names,
            "per_page": per_page,
            "sort": [sort_by, sort_order],
            "ids": ids,
            "cvid": params.get("cvid"),
            "converted": params.get("converted"),
            "approved": params.get("approved"),
        }
    )
    if token is not None:
        cursor, delivered = paging.read_token(token, bound, now)
        offset = paging.position_after(asc, cursor, desc)
        page = delivered // per_page + 1
    else:
        page = int_param(params, "page", 1)
        paging.check_discrete(page, per_page)
        offset = delivered = (page - 1) * per_page
    chunk = seq[offset : offset + per_page]
    if not chunk:
        return no_content()
    window = paging.Window(offset, delivered, per_page, page)
    body = {
        "data": [project(records[key[2]], names) for key in chunk],
        "info": paging.info(seq, window, len(chunk), bound, now, (sort_by, sort_order)),
    }
    return json_response(body)


def find(call: Call, resource_path_index: int = 1) -> dict[str, Any]:
    """The record named in the path, or INVALID_DATA `the id given seems to be invalid`.

    An unknown id (or another org's) gets 400 rather than 204, the shape Zoho's v8 APIs use
    for a bad id in the path (Zoho's OpenAPI examples) [?].
    """
    record_id = call.record_id or ""
    found = call.records().get(record_id) if record_id.isdecimal() else None
    if found is None:
        raise errors.invalid_id(resource_path_index)
    return found


async def get_record(call: Call) -> Response:
    names = wanted_fields(call.mod, call.params, required=False)
    return json_response({"data": [project(find(call), names)]})
