"""Pure checks and decisions for CRM requests: names, ids, batches, search keys, next page.

Nothing from a caller reaches a URL path unchecked: module names must look like Zoho API names
and record ids must be ASCII digits, so `../settings` or `1?x=` can never reshape a request.
Query values are left to the HTTP transport (aiohttp, yarl) to encode.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, TypeVar

from ..errors import CRMError, InvalidDataError, InvalidModuleError
from .criteria import Criteria

#: Zoho's batch limit for insert, update, upsert and delete (docs/zoho-reference.md §6.3).
MAX_BATCH: Final = 100
#: `page`/`per_page` reach only this many records; beyond, `page_token` is needed
#: (docs/zoho-reference.md §6.3).
MAX_PAGED_RECORDS: Final = 2000

_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_FIELD = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$.]{0,99}")
T = TypeVar("T")
Params = dict[str, str | int]


@lru_cache(maxsize=1024)
def check_module(module: str) -> str:
    """`module` if it is shaped like a module API name (Leads, Price_Books, CustomModule1)."""
    if not isinstance(module, str) or not _MODULE.fullmatch(module):
        raise InvalidModuleError(
            f"{str(module)[:60]!r} is not a module API name (letters, digits and _, starting "
            "with a letter); modules() lists this org's names",
            code="INVALID_MODULE",
        )
    return module


def check_id(record_id: Any) -> str:
    """`record_id` as a string of ASCII digits (Zoho ids are 19-digit numbers), else
    InvalidDataError before anything is sent."""
    rid = (
        str(record_id)
        if isinstance(record_id, int) and not isinstance(record_id, bool)
        else (record_id)
    )
    if not isinstance(rid, str) or not (0 < len(rid) <= 30 and rid.isascii() and rid.isdigit()):
        raise InvalidDataError(
            f"{str(record_id)[:40]!r} is not a Zoho record id (ids are digits only)",
            code="INVALID_DATA",
            details={"id": str(record_id)[:40]},
        )
    return rid


def check_fields(fields: Sequence[str]) -> str:
    """Field API names (a list, or one comma-separated string), comma-joined as Zoho's `fields`
    parameter wants them; ValueError names the first that is not a field API name."""
    if isinstance(fields, str):
        fields = fields.split(",")
    for name in fields:
        if not isinstance(name, str) or not _FIELD.fullmatch(name):
            raise ValueError(f"{name!r} is not a field API name (letters, digits, _ and $)")
    return ",".join(fields)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def search_param(
    criteria: str | Criteria | None,
    word: str | None,
    email: str | None,
    phone: str | None,
    *,
    required: bool,
) -> tuple[str, str]:
    """The one search parameter given, as (name, value); Zoho takes exactly one
    (docs/zoho-reference.md §6.3).

    With `required=False` (count), none at all gives ("", "").
    """
    given = [
        (name, value)
        for name, value in (
            ("criteria", criteria),
            ("word", word),
            ("email", email),
            ("phone", phone),
        )
        if value is not None
    ]
    if len(given) > 1:
        names = " and ".join(f"{n}=" for n, _ in given)
        raise ValueError(f"pass exactly one of criteria=, word=, email=, phone= (got {names})")
    if not given:
        if required:
            raise ValueError("search needs exactly one of criteria=, word=, email=, phone=")
        return "", ""
    name, value = given[0]
    text = str(value)
    if not text.strip():
        raise ValueError(f"{name}= is empty; give something to search for")
    return name, text


def next_page(
    page: int | None, per_page: int, info: Mapping[str, Any], *, strict: bool
) -> tuple[int | None, str | None] | None:
    """Where the next page is: `(page, None)`, `(None, page_token)` or None when done.

    `page` is the page just read (None if it was read by token). Zoho serves the first 2,000
    records by page number and the rest only by `page_token` = the previous
    `info.next_page_token` (docs/zoho-reference.md §6.3): we switch as soon as the next
    numbered page would reach past record 2,000. Without a token there, `strict` (record
    lists) raises rather than silently stopping; search results simply end (Zoho caps them at
    2,000).
    """
    if not info.get("more_records"):
        return None
    if page is not None and (page + 1) * per_page <= MAX_PAGED_RECORDS:
        return page + 1, None
    token = info.get("next_page_token")
    if isinstance(token, str) and token:
        return None, token
    if strict:
        raise CRMError(
            "Zoho reported more records but gave no next_page_token, so records beyond "
            f"{MAX_PAGED_RECORDS:,} cannot be reached",
            code="NO_PAGE_TOKEN",
        )
    return None


def per_page_param(per_page: int) -> int:
    """`per_page` if Zoho accepts it (1..200) (docs/zoho-reference.md §6.3)."""
    if not isinstance(per_page, int) or not 1 <= per_page <= 200:
        raise ValueError(f"per_page must be 1..200 (Zoho's maximum is 200), got {per_page!r}")
    return per_page


def list_params(
    fields: Sequence[str], per_page: int, sort_by: str | None, sort_order: str | None
) -> Params:
    """The query of a record list; `fields` is required by Zoho (REQUIRED_PARAM_MISSING)."""
    if not fields:
        raise ValueError("fields is required: Zoho's list call needs the field API names")
    params: Params = {"fields": check_fields(fields), "per_page": per_page_param(per_page)}
    if sort_by is not None:
        # id, Created_Time, Modified_Time (docs/zoho-reference.md §6.3)
        params["sort_by"] = check_fields([sort_by])
    if sort_order is not None:
        if sort_order not in ("asc", "desc"):
            raise ValueError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}")
        params["sort_order"] = sort_order
    return params
