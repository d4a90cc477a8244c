"""`GET /{module}/search` and `GET /{module}/actions/count`.

Search takes exactly one of `criteria`, `email` (every email field, whole address, any case),
`phone` (every phone field, digits only, the number or its trailing digits [?]) and `word` (every
text field contains it, any case); pages with `page`/`per_page` over at most 2,000 matches and
answers 204 when nothing matches [docs/zoho-reference.md §6.3]. Count takes the same filters, or
none, and answers `{"count": n}` [docs/zoho-reference.md §6.3].
"""

from __future__ import annotations

from typing import Any, Final

from starlette.datastructures import QueryParams
from starlette.responses import Response

from ..modules import ModuleDef
from . import criteria, errors, paging
from .call import Call, choice_param, int_param
from .errors import json_response, no_content
from .records import per_page_param, project, wanted_fields

FILTERS: Final = ("criteria", "email", "phone", "word")
_WORD_TYPES: Final = frozenset({"text", "textarea", "email", "phone", "website", "picklist"})


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit())


def _fields_of(module: ModuleDef, kinds: frozenset[str]) -> tuple[str, ...]:
    return tuple(f.api_name for f in module.fields if f.data_type in kinds)


def predicate(module: ModuleDef, params: QueryParams, required: bool) -> criteria.Predicate | None:
    """The filter the parameters ask for; None for "everything" (count without filters)."""
    given = [name for name in FILTERS if params.get(name)]
    if not given:
        if required:
            raise errors.required_param("criteria")  # which name Zoho reports is a guess [?]
        return None
    if len(given) > 1:
        raise errors.CrmError(
            "AMBIGUITY_DURING_PROCESSING",
            "only one of criteria, email, phone and word can be given",
            400,
            {"param_names": given},  # [?]
        )
    kind = given[0]
    value = params[kind]
    if kind == "criteria":
        return criteria.parse(value, module)
    if kind == "email":
        names = _fields_of(module, frozenset({"email"}))
        wanted = value.strip().lower()
        return lambda r: any(str(r.get(n) or "").lower() == wanted for n in names)
    if kind == "phone":
        names = _fields_of(module, frozenset({"phone"}))
        digits = _digits(value)
        if not digits:
            raise errors.invalid_param("phone")
        return lambda r: any(
            r.get(n) is not None and _digits(r.get(n)).endswith(digits) for n in names
        )
    names = _fields_of(module, _WORD_TYPES)
    word = value.strip().lower()
    return lambda r: any(word in str(r.get(n) or "").lower() for n in names)


async def search(call: Call) -> Response:
    module, params = call.mod, call.params
    match = predicate(module, params, required=True)
    assert match is not None
    names = wanted_fields(module, params, required=False)
    per_page = per_page_param(params)
    page = int_param(params, "page", 1)
    paging.check_discrete(page, per_page)  # search reaches only the first 2,000 matches [?]
    sort_by = choice_param(params, "sort_by", "id", paging.SORT_FIELDS)
    sort_order = choice_param(params, "sort_order", "desc", ("asc", "desc"))
    records = call.records()
    found = [r for r in records.values() if match(r)]
    if not found:
        return no_content()
    keys = paging.ordered(found, sort_by)
    if sort_order == "desc":
        keys.reverse()
    keys = keys[: paging.DISCRETE_LIMIT]
    offset = (page - 1) * per_page
    chunk = keys[offset : offset + per_page]
    if not chunk:
        return no_content()
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": offset + len(chunk) < len(keys),
    }
    return json_response({"data": [project(records[k[2]], names) for k in chunk], "info": info})


async def count(call: Call) -> Response:
    match = predicate(call.mod, call.params, required=False)
    records = call.records()
    total = len(records) if match is None else sum(1 for r in records.values() if match(r))
    # An integer, as Zoho's docs show it; record.json types it as a string (Zoho's OpenAPI spec)
    # [?].
    return json_response({"count": total})
