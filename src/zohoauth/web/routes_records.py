"""CRM records for the active connection, answered in Zoho's own shape.

Reads answer `{"data": [...], "info": {...}}` and writes `{"data": [{"code", "status",
"message", "details"}]}`, exactly as Zoho CRM v8 does, so people who know Zoho's API know ours.
Module names are checked against the four modules the app offers and ids against Zoho's shape
(digits only) before anything is sent; every call goes through `ZohoAuth.crm(<active
connection>)`, so it carries that user's token, to that user's data center, for that org.
"""

from __future__ import annotations

from collections.abc import Awaitable
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..crm import CRMClient, check_fields
from .context import active_connection, web
from .errors import ApiError
from .responses import json_response

router = APIRouter(prefix="/api")
T = TypeVar("T")


class Module(StrEnum):
    """The modules the app offers (every Zoho CRM org has them)."""

    Leads = "Leads"
    Contacts = "Contacts"
    Deals = "Deals"
    Accounts = "Accounts"


#: Columns shown when the caller names no `fields` (the table's main columns).
DEFAULT_FIELDS: dict[Module, tuple[str, ...]] = {
    Module.Leads: ("First_Name", "Last_Name", "Company", "Email", "Lead_Status", "Modified_Time"),
    Module.Contacts: ("First_Name", "Last_Name", "Email", "Phone", "Title", "Modified_Time"),
    Module.Deals: ("Deal_Name", "Stage", "Amount", "Closing_Date", "Modified_Time"),
    Module.Accounts: ("Account_Name", "Industry", "Phone", "Billing_City", "Modified_Time"),
}
#: The fields whose values, joined by a space, name a record ("Ada Lovelace"): the UI's first
#: column and what its confirmations call the record.
NAME_FIELDS: dict[Module, tuple[str, ...]] = {
    Module.Leads: ("First_Name", "Last_Name"),
    Module.Contacts: ("First_Name", "Last_Name"),
    Module.Deals: ("Deal_Name",),
    Module.Accounts: ("Account_Name",),
}

ModulePath = Annotated[Module, Path(description="Leads, Contacts, Deals or Accounts")]
RecordId = Annotated[str, Path(pattern=r"^[0-9]{1,30}$", description="A Zoho record id")]
FieldsQuery = Annotated[
    str | None,
    Query(max_length=2000, description="Comma-separated field API names (default: main ones)"),
]
PerPage = Annotated[int, Query(ge=1, le=200)]
PageNo = Annotated[int | None, Query(ge=1, le=2000)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`not_logged_in` or `reauth_required` (Reconnect)"},
    403: {"description": "`csrf` or `no_permission`"},
    404: {"description": "`unknown_module` or `not_found`"},
    413: {"description": "`too_large`"},
    422: {"description": "`invalid_request` or `invalid_data`"},
    502: {"description": "`zoho_error`"},
    503: {"description": "`zoho_unavailable`, `rate_limited` or `throttled`"},
}


class RecordsIn(BaseModel):
    """Zoho's request shape: `{"data": [{<field API name>: value, ...}, ...]}`."""

    data: list[dict[str, Any]] = Field(
        ...,
        min_length=1,
        max_length=100,
        examples=[[{"Last_Name": "Lovelace", "Company": "Analytical Engines"}]],
    )


class RecordIn(BaseModel):
    """One record to update: `{"data": [{<field API name>: value, ...}]}` (the id is the path's)."""

    data: list[dict[str, Any]] = Field(
        ..., min_length=1, max_length=1, examples=[[{"Company": "Difference Engines"}]]
    )


def _crm(request: Request) -> CRMClient:
    return web(request).auth.crm(active_connection(request))


def _fields(module: Module, raw: str | None) -> list[str]:
    if not raw:
        return list(DEFAULT_FIELDS[module])
    try:
        return check_fields([f.strip() for f in raw.split(",") if f.strip()]).split(",")
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None


async def _checked(call: Awaitable[T]) -> T:
    """Await a CRM call; its argument checks (ValueError) are the caller's mistake → 422."""
    try:
        return await call
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None


def _about_id(result: dict[str, Any]) -> bool:
    """Whether a failed by-id write failed because the id is not there (Zoho: INVALID_DATA
    with `details.id`, or `api_name` "id")."""
    details = result.get("details")
    if result.get("code") != "INVALID_DATA" or not isinstance(details, dict):
        return False
    return details.get("api_name") == "id" or "id" in details or "resource_path_index" in details


def write_answer(results: list[dict[str, Any]], *, success: int, by_id: bool) -> JSONResponse:
    """Zoho's per-record results as an HTTP answer: all succeeded → `success`; some → 207;
    none → the first failure as an error (404 `not_found` for a by-id write on a missing
    record, else 422 `invalid_data`), with Zoho's results attached as `data`."""
    good = sum(1 for r in results if r.get("status") == "success")
    if results and good == len(results):
        return json_response({"data": results}, success)
    if good:
        return json_response({"data": results}, 207)
    first = results[0] if results else {}
    if by_id and _about_id(first):
        raise ApiError(404, "not_found", "no such record here (or you cannot see it)")
    said = str(first.get("message") or "the data was refused")
    detail = first.get("details")
    where = (
        f" ({detail.get('api_name')})" if isinstance(detail, dict) and "api_name" in detail else ""
    )
    raise ApiError(
        422, "invalid_data", f"Zoho refused the record: {said}{where}", {"data": results}
    )


# -- metadata ------------------------------------------------------------------------------
@router.get("/modules", responses=ERRORS)
async def modules(request: Request) -> JSONResponse:
    """The modules the app offers, as Zoho describes them (`GET settings/modules`: api_name,
    the org's singular_label and plural_label, ...), in the app's tab order; with each module's
    main columns (`default_fields`, what a read without `fields` answers) and the fields that
    name a record (`name_fields`). The web UI draws its tabs and tables from this alone."""
    offered = {m.value for m in Module}
    found = [m for m in await _crm(request).modules() if m.get("api_name") in offered]
    order = [m.value for m in Module]
    found.sort(key=lambda m: order.index(m["api_name"]))
    return json_response(
        {
            "modules": found,
            "default_fields": {m.value: DEFAULT_FIELDS[m] for m in Module},
            "name_fields": {m.value: NAME_FIELDS[m] for m in Module},
        }
    )


@router.get("/modules/{module}/fields", responses=ERRORS)
async def fields(request: Request, module: ModulePath) -> JSONResponse:
    """The module's fields (`GET settings/fields`); `system_mandatory` marks required ones."""
    return json_response({"fields": await _crm(request).fields(module.value)})


# -- reads ---------------------------------------------------------------------------------
@router.get("/records/{module}", responses=ERRORS)
async def list_records(
    request: Request,
    module: ModulePath,
    fields: FieldsQuery = None,
    per_page: PerPage = 20,
    page: PageNo = None,
    page_token: Annotated[str | None, Query(max_length=1024)] = None,
    sort_by: Literal["id", "Created_Time", "Modified_Time"] | None = None,
    sort_order: Literal["asc", "desc"] | None = None,
) -> JSONResponse:
    """One page of records: `page` reaches the first 2,000, then `page_token` (the previous
    `info.next_page_token`)."""
    crm = _crm(request)
    got = await _checked(
        crm.list_records(
            module.value,
            _fields(module, fields),
            per_page=per_page,
            page=page,
            page_token=page_token,
            sort_by=sort_by,
            sort_order=sort_order,
        )
    )
    return json_response(got.as_dict())


@router.get("/records/{module}/search", responses=ERRORS)
async def search(
    request: Request,
    module: ModulePath,
    word: Annotated[str | None, Query(max_length=200, examples=["Novak"])] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=50)] = None,
    criteria: Annotated[str | None, Query(max_length=2000)] = None,
    fields: FieldsQuery = None,
    per_page: PerPage = 20,
    page: PageNo = None,
) -> JSONResponse:
    """Zoho's search: exactly one of `word`, `email`, `phone`, `criteria`."""
    got = await _checked(
        _crm(request).search_page(
            module.value,
            word=word,
            email=email,
            phone=phone,
            criteria=criteria,
            fields=_fields(module, fields),
            page=page or 1,
            per_page=per_page,
        )
    )
    return json_response(got.as_dict())


@router.get("/records/{module}/{record_id}", responses=ERRORS)
async def get_record(
    request: Request, module: ModulePath, record_id: RecordId, fields: FieldsQuery = None
) -> JSONResponse:
    """One record, every field unless `fields` names some."""
    chosen = _fields(module, fields) if fields else None
    record = await _checked(_crm(request).get_record(module.value, record_id, chosen))
    return json_response({"data": [record]})


# -- writes --------------------------------------------------------------------------------
@router.post("/records/{module}", status_code=201, responses=ERRORS)
async def create(request: Request, module: ModulePath, body: RecordsIn) -> JSONResponse:
    """Create records (up to 100); Zoho's per-record results."""
    results = await _checked(_crm(request).create(module.value, body.data))
    return write_answer(results, success=201, by_id=False)


@router.put("/records/{module}/{record_id}", responses=ERRORS)
async def update(
    request: Request, module: ModulePath, record_id: RecordId, body: RecordIn
) -> JSONResponse:
    """Update one record; the id is the path's, whatever the body says."""
    record = {**body.data[0], "id": record_id}
    results = await _checked(_crm(request).update(module.value, [record]))
    return write_answer(results, success=200, by_id=True)


@router.delete("/records/{module}/{record_id}", responses=ERRORS)
async def delete(request: Request, module: ModulePath, record_id: RecordId) -> JSONResponse:
    """Delete one record."""
    results = await _checked(_crm(request).delete(module.value, [record_id]))
    return write_answer(results, success=200, by_id=True)
