"""CRMClient: Zoho CRM v8 records for one connection, with the right token, DC and org.

The methods map one-to-one onto Zoho's endpoints (docs/zoho-reference.md §6) and return Zoho's
own dicts, so anyone who knows Zoho's API knows ours. What this module adds is what every
caller would otherwise get wrong: automatic pagination across the 2,000-record `page` limit,
batches of 100 for writes, per-record results for partial failures, and checked module names
and ids. How requests are sent (tokens, retries, errors) lives in `_transport.py`.

    async with CRMClient(manager, connection_id, registry=registry) as crm:
        async for lead in crm.iter_records("Leads", ["Last_Name", "Email"]):
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import CRMError
from ._params import (
    MAX_BATCH,
    Params,
    check_fields,
    check_id,
    check_module,
    chunks,
    list_params,
    next_page,
    per_page_param,
    search_param,
)
from ._responses import error_from_response
from ._transport import CRMTransport, TokenProvider
from .criteria import Criteria

Record = dict[str, Any]
_EMPTY_INFO: Final[Mapping[str, Any]] = {"count": 0, "more_records": False}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records as Zoho sent it: `data` and `info` (empty for a 204)."""

    data: list[Record]
    info: dict[str, Any]

    @property
    def more_records(self) -> bool:
        return bool(self.info.get("more_records", False))

    @property
    def next_page_token(self) -> str | None:
        token = self.info.get("next_page_token")
        return token if isinstance(token, str) and token else None

    def as_dict(self) -> dict[str, Any]:
        """Zoho's response shape, `{"data": [...], "info": {...}}`."""
        return {"data": self.data, "info": self.info}


class CRMClient(CRMTransport):
    """Async Zoho CRM v8 client for one connection. Reuse it: it keeps connections alive.

    `CRMClient(tokens, connection_id, *, http=None, timeout=30.0, max_retries_429=3,
    backoff_base=0.5, backoff_max=30.0, registry=None)` — see `CRMTransport` for each.
    """

    async def _get(self, path: str, params: Params | None = None) -> Any:
        return (await self._send("GET", path, params))[1]

    # -- metadata ----------------------------------------------------------------------------
    async def modules(self) -> list[Record]:
        """`GET settings/modules` → the `modules` array (docs/zoho-reference.md §6.4)."""
        body = await self._get("settings/modules")
        return list(body.get("modules", [])) if body else []

    async def fields(self, module: str) -> list[Record]:
        """`GET settings/fields?module=` → the module's `fields` array."""
        body = await self._get("settings/fields", {"module": check_module(module)})
        return list(body.get("fields", [])) if body else []

    async def current_user(self) -> Record:
        """`GET users?type=CurrentUser` → the one user (docs/zoho-reference.md §6.1)."""
        body = await self._get("users", {"type": "CurrentUser"})
        users = body.get("users") if body else None
        if not users:
            raise CRMError("Zoho CRM returned no current user for this token")
        return dict(users[0])

    async def org(self) -> Record:
        """`GET org` → the org (Zoho wraps it in a one-element array)
        (docs/zoho-reference.md §6.2)."""
        body = await self._get("org")
        orgs = body.get("org") if body else None
        if not orgs:
            raise CRMError("Zoho CRM returned no org for this token")
        return dict(orgs[0])

    # -- reading records ---------------------------------------------------------------------
    async def _page(self, path: str, params: Params) -> Page:
        body = await self._get(path, params)
        if not body:
            return Page([], dict(_EMPTY_INFO))
        return Page(body.get("data") or [], body.get("info") or {})

    async def list_records(
        self,
        module: str,
        fields: Sequence[str],
        *,
        per_page: int = 200,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page_token: str | None = None,
        page: int | None = None,
    ) -> Page:
        """One page of `GET {module}`. `page` reaches the first 2,000 records, `page_token`
        (the previous `info.next_page_token`) the rest; Zoho refuses both at once
        (docs/zoho-reference.md §6.3)."""
        if page is not None and page_token is not None:
            raise ValueError("pass page or page_token, not both: Zoho cannot combine them")
        params = list_params(fields, per_page, sort_by, sort_order)
        if page_token is not None:
            params["page_token"] = page_token
        elif page is not None:
            params["page"] = page
        return await self._page(check_module(module), params)

    def iter_records(
        self,
        module: str,
        fields: Sequence[str],
        *,
        per_page: int = 200,
        limit: int | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> AsyncIterator[Record]:
        """Every record (or the first `limit`), page after page: `page` for the first 2,000
        records, then `page_token` (docs/zoho-reference.md §6.3, pagination). Arguments are
        checked on call."""
        params = list_params(fields, per_page, sort_by, sort_order)
        return self._paginate(check_module(module), params, limit, strict=True)

    async def _paginate(
        self, path: str, params: Params, limit: int | None, *, strict: bool
    ) -> AsyncIterator[Record]:
        if limit is not None and limit <= 0:
            return
        per_page = int(params["per_page"])
        if limit is not None and limit < per_page:
            per_page = params["per_page"] = limit
        page: int | None = 1
        left = limit
        while True:
            if page is not None:
                params["page"] = page
            result = await self._page(path, params)
            for record in result.data:
                yield record
                if left is not None:
                    left -= 1
                    if left <= 0:
                        return
            step = next_page(page, per_page, result.info, strict=strict)
            if step is None:
                return
            page, token = step
            if token is not None:
                params.pop("page", None)
                params["page_token"] = token

    async def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None = None
    ) -> Record:
        """`GET {module}/{id}`; RecordNotFoundError if it is not there (204 or INVALID_DATA)."""
        rid = check_id(record_id)
        path = f"{check_module(module)}/{rid}"
        params: Params | None = {"fields": check_fields(fields)} if fields else None
        _, body = await self._send("GET", path, params, record_id=rid)
        data = body.get("data") if body else None
        # 204: Zoho's answer for an id that is not there (docs/zoho-reference.md §6.5, §8)
        if not data:
            missing = {"code": "INVALID_DATA", "details": {"id": rid}}
            raise error_from_response(204, missing, method="GET", path=path, record_id=rid)
        return dict(data[0])

    # -- writing records: batches of 100, results in input order ----------------------------
    async def _write(
        self, method: str, path: str, records: Sequence[Any], extra: Mapping[str, Any]
    ) -> list[Record]:
        results: list[Record] = []
        for chunk in chunks(records, MAX_BATCH):
            try:
                if method == "DELETE":
                    params: Params = {"ids": ",".join(chunk)}
                    _, body = await self._send(method, path, params, batch=True)
                else:
                    _, body = await self._send(
                        method, path, None, {"data": chunk, **extra}, batch=True
                    )
            except Exception as exc:
                if results:
                    exc.add_note(
                        f"{len(results)} of {len(records)} records were already sent in earlier "
                        "batches of 100; their results are lost with this error"
                    )
                raise
            results.extend(body.get("data", []) if body else [])
        return results

    async def create(
        self, module: str, records: Sequence[Record], *, trigger: Sequence[str] | None = None
    ) -> list[Record]:
        """`POST {module}` in batches of 100 (docs/zoho-reference.md §6.3). Per-record results
        (`code`, `status`, `message`, `details`), failures included, are returned, not raised."""
        extra = {"trigger": list(trigger)} if trigger is not None else {}
        return await self._write("POST", check_module(module), records, extra)

    async def update(
        self, module: str, records: Sequence[Record], *, trigger: Sequence[str] | None = None
    ) -> list[Record]:
        """`PUT {module}`; every record needs its `id`, checked before anything is sent."""
        for record in records:
            check_id(record.get("id") if isinstance(record, Mapping) else None)
        extra = {"trigger": list(trigger)} if trigger is not None else {}
        return await self._write("PUT", check_module(module), records, extra)

    async def upsert(
        self,
        module: str,
        records: Sequence[Record],
        duplicate_check_fields: Sequence[str] | None = None,
        *,
        trigger: Sequence[str] | None = None,
    ) -> list[Record]:
        """`POST {module}/upsert`: update the record matching `duplicate_check_fields` or
        insert; each result says which in `action` (docs/zoho-reference.md §6.3)."""
        extra: dict[str, Any] = {}
        if duplicate_check_fields:
            check_fields(duplicate_check_fields)
            extra["duplicate_check_fields"] = list(duplicate_check_fields)
        if trigger is not None:
            extra["trigger"] = list(trigger)
        return await self._write("POST", f"{check_module(module)}/upsert", records, extra)

    async def delete(self, module: str, ids: Sequence[str]) -> list[Record]:
        """`DELETE {module}?ids=...` in batches of 100; per-record results."""
        checked = [check_id(i) for i in ids]
        return await self._write("DELETE", check_module(module), checked, {})

    # -- search and count --------------------------------------------------------------------
    def search(
        self,
        module: str,
        *,
        criteria: str | Criteria | None = None,
        word: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        fields: Sequence[str] | None = None,
        per_page: int = 200,
        limit: int | None = None,
    ) -> AsyncIterator[Record]:
        """Every match of `GET {module}/search`, paginated; exactly one of `criteria`, `word`,
        `email`, `phone` (ValueError otherwise, raised on call) (docs/zoho-reference.md §6.3)."""
        key, value = search_param(criteria, word, email, phone, required=True)
        params: Params = {key: value, "per_page": per_page_param(per_page)}
        if fields:
            params["fields"] = check_fields(fields)
        return self._paginate(f"{check_module(module)}/search", params, limit, strict=False)

    async def search_page(
        self,
        module: str,
        *,
        criteria: str | Criteria | None = None,
        word: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        fields: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = 200,
    ) -> Page:
        """One page of search results (for a UI that pages itself)."""
        key, value = search_param(criteria, word, email, phone, required=True)
        params: Params = {key: value, "page": page, "per_page": per_page_param(per_page)}
        if fields:
            params["fields"] = check_fields(fields)
        return await self._page(f"{check_module(module)}/search", params)

    async def count(
        self,
        module: str,
        *,
        criteria: str | Criteria | None = None,
        word: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> int:
        """`GET {module}/actions/count`, optionally filtered by one search parameter."""
        found = search_param(criteria, word, email, phone, required=False)
        params: Params | None = dict([found]) if found[0] else None
        body = await self._get(f"{check_module(module)}/actions/count", params)
        return int(body.get("count", 0)) if body else 0


__all__ = ["CRMClient", "Page", "Record", "TokenProvider"]
