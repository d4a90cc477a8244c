"""Sorting and pagination of record lists: `page`/`per_page` for the first 2,000, then `page_token`.

Zoho: `per_page` ≤ 200 (default 200); `page`/`per_page` reach only the first 2,000 records,
beyond that a `page_token` (the previous response's `next_page_token`, valid 24 h, bound to the
request's other parameters) reaches up to 100,000; `page` and `page_token` can't be combined
[docs/zoho-reference.md §6.3]. Error codes from Zoho's get-records page as quoted by clients:
DISCRETE_PAGINATION_LIMIT_EXCEEDED, AMBIGUITY_DURING_PROCESSING, TOKEN_BOUND_DATA_MISMATCH,
EXPIRED_VALUE, PAGINATION_LIMIT_EXCEEDED.

Tokens here are stateless: signed JSON holding a keyset cursor (sort value and id of the last
record sent), so records created while a client pages do not shift later pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Final

from . import errors
from .call import zoho_time

MAX_PER_PAGE: Final = 200
# Paging's reach and token lifetime [docs/zoho-reference.md §6.3]:
DISCRETE_LIMIT: Final = 2000  # records reachable with page/per_page
TOKEN_LIMIT: Final = 100_000  # records reachable with page_token
TOKEN_TTL: Final = 24 * 3600.0  # page_token_expiry: a day
SORT_FIELDS: Final = ("id", "Created_Time", "Modified_Time")

_SECRET: Final = secrets.token_bytes(16)  # per process: tokens don't outlive the emulator

#: (sort value, numeric id, id) — ordered like Zoho's sort, ties broken by id.
Key = tuple[str, int, str]


def numeric_id(record_id: str) -> int:
    return int(record_id) if record_id.isdecimal() and len(record_id) < 30 else 0


def ordered(records: list[dict[str, Any]], sort_by: str) -> list[Key]:
    """Sort keys of `records`, ascending."""
    if sort_by == "id":
        keys = [("", numeric_id(str(r["id"])), str(r["id"])) for r in records]
    else:
        keys = [
            (str(r.get(sort_by) or ""), numeric_id(str(r["id"])), str(r["id"])) for r in records
        ]
    keys.sort()
    return keys


@dataclass(slots=True)
class Window:
    """Which slice of the ordered records a request gets, and the cursor state around it."""

    offset: int  # index of the page's first record in the (direction-adjusted) order
    delivered: int  # records the client has paged past already (page numbers, 100k cap)
    per_page: int
    page: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding(parts: dict[str, Any]) -> str:
    """A short digest of the parameters a page token is bound to."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def make_token(bound: str, cursor: Key | None, offset: int, expires: float) -> str:
    payload = {"b": bound, "c": list(cursor[:2]) if cursor else None, "n": offset, "x": expires}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    sig = hmac.new(_SECRET, raw, hashlib.sha256).digest()[:12]
    return _b64(raw) + "." + _b64(sig)


def _mismatch() -> errors.CrmError:
    return errors.CrmError(
        "TOKEN_BOUND_DATA_MISMATCH",
        "The page_token given seems to be invalid or input param is added, altered, or deleted",
        400,  # one client's table says 401; 400 like the other paging errors [?]
        {"param_name": "page_token"},
    )


def read_token(token: str, bound: str, now: float) -> tuple[tuple[str, int] | None, int]:
    """The cursor and offset in `token`, or the Zoho error for a bad, altered or stale one."""
    try:
        body, sig = token.split(".", 1)
        raw = _unb64(body)
        good = hmac.new(_SECRET, raw, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(good, _unb64(sig)):
            raise ValueError("bad signature")
        payload = json.loads(raw)
        cursor = payload["c"]
        offset = int(payload["n"])
        expires = float(payload["x"])
        bound_to = str(payload["b"])
        parsed = (str(cursor[0]), int(cursor[1])) if cursor is not None else None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise _mismatch() from exc
    if bound_to != bound:
        raise _mismatch()
    if expires <= now:
        raise errors.CrmError(
            "EXPIRED_VALUE", "the page_token given has expired", 400, {"param_name": "page_token"}
        )
    if offset >= TOKEN_LIMIT:
        raise errors.CrmError(
            "PAGINATION_LIMIT_EXCEEDED",
            "You can only get up to first 100000 records using page_token param.",
            400,
            {"limit": TOKEN_LIMIT},
        )
    return parsed, offset


def position_after(keys: list[Key], cursor: tuple[str, int] | None, desc: bool) -> int:
    """Index, in the direction-adjusted order, of the first record after `cursor`."""
    if cursor is None:
        return 0
    probe = (cursor[0], cursor[1])
    if desc:
        return len(keys) - bisect_left(keys, probe, key=lambda k: (k[0], k[1]))
    return bisect_right(keys, probe, key=lambda k: (k[0], k[1]))


def check_discrete(page: int, per_page: int) -> None:
    if page * per_page > DISCRETE_LIMIT:
        raise errors.CrmError(
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            "You can only get the first 2000 records without using page_token param.",
            400,
            {"limit": DISCRETE_LIMIT},
        )


def info(
    seq: list[Key], window: Window, count: int, bound: str | None, now: float, sort: tuple[str, str]
) -> dict[str, Any]:
    """Zoho's `info` object [docs/zoho-reference.md §6.3]; tokens only when `bound` is given."""
    offset, per_page, done = window.offset, window.per_page, window.delivered
    more = offset + count < len(seq)
    next_token = prev_token = None
    if bound is not None:
        expires = now + TOKEN_TTL
        if more and done + count < TOKEN_LIMIT:
            next_token = make_token(bound, seq[offset + count - 1], done + count, expires)
        if offset > 0:
            start = max(0, offset - per_page)
            cursor = seq[start - 1] if start > 0 else None
            prev_token = make_token(bound, cursor, max(0, done - per_page), expires)
    body: dict[str, Any] = {
        "per_page": per_page,
        "count": count,
        "page": window.page,
        "sort_by": sort[0],
        "sort_order": sort[1],
        "more_records": more,
    }
    if bound is not None:
        body["next_page_token"] = next_token
        body["previous_page_token"] = prev_token
        body["page_token_expiry"] = zoho_time(now + TOKEN_TTL) if next_token or prev_token else None
    return body
