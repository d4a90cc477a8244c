"""Writing records: insert, update, delete and upsert, each up to 100 records per call.

Every record gets its own result in `data[]`, in input order: a success item `{"code": "SUCCESS",
"details": {id, Created_Time, ...}, "message": "record added", ...}` or an error object
[docs/zoho-reference.md §6.3]. HTTP status: the success status when all succeed (201 insert, 200
update/delete), 207 when some fail [docs/zoho-reference.md §6.5], 400 when all fail [?].
Writes stamp Created/Modified Time and By, and Owner, with the caller's CRM user.
A field the org made unique ("Do not allow duplicate values", `state.unique_fields`) refuses
a value another record already holds, on every write: DUPLICATE_DATA naming the field and the
clashing record [docs/zoho-reference.md §6.5], something no client can check from metadata.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from . import errors
from .call import Call, list_param, read_json
from .errors import CrmError, json_response
from .records import find
from .validate import Cleaner, RecordError

# per insert/update/upsert/delete call [docs/zoho-reference.md §6.6]
MAX_RECORDS: Final = 100


def _batch(body: dict[str, Any]) -> list[Any]:
    """The `data` array of a write body, or the request-level error for a bad one [?]."""
    if "data" not in body or body["data"] == []:
        raise CrmError(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            400,
            {"api_name": "data", "json_path": "$.data"},
        )
    data = body["data"]
    if not isinstance(data, list):
        raise CrmError(
            "INVALID_DATA",
            "invalid data",
            400,
            {"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"},
        )
    if len(data) > MAX_RECORDS:
        raise errors.limit_exceeded(
            "Record count exceeded", api_name="data", json_path="$.data", limit=MAX_RECORDS
        )
    return data


def _status(items: list[dict[str, Any]], success: int) -> int:
    ok = sum(1 for item in items if item["status"] == "success")
    if ok == len(items):
        return success
    return 400 if ok == 0 else 207


def _success(message: str, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    details = {
        "Modified_Time": record["Modified_Time"],
        "Modified_By": record["Modified_By"],
        "Created_Time": record["Created_Time"],
        "id": record["id"],
        "Created_By": record["Created_By"],
    }
    return {"code": "SUCCESS", **extra, "details": details, "message": message, "status": "success"}


def _insert(call: Call, values: dict[str, Any], now: str) -> dict[str, Any]:
    me = call.caller.stamp()
    owner = values.pop("Owner", None) or call.caller.owner()
    record_id = call.state.next_id()
    record = {
        "id": record_id,
        "Owner": owner,
        **values,
        "Created_Time": now,
        "Modified_Time": now,
        "Created_By": me,
        "Modified_By": dict(me),
    }
    call.records()[record_id] = record
    return record


def _apply(call: Call, record: dict[str, Any], values: dict[str, Any], now: str) -> None:
    if values.get("Owner", False) is None:
        del values["Owner"]  # a record always has an owner
    record.update(values)
    record["Modified_Time"] = now
    record["Modified_By"] = call.caller.stamp()


def _match_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()  # duplicate checks ignore case [?]
    if isinstance(value, dict):
        return value.get("id")
    return value


def _duplicate_fields(
    call: Call, body: dict[str, Any], default: tuple[str, ...]
) -> tuple[str, ...]:
    raw = body.get("duplicate_check_fields")
    if raw is None:
        return default
    module = call.mod
    if not isinstance(raw, list) or not all(
        isinstance(name, str) and name in module.by_name and not module.by_name[name].read_only
        for name in raw
    ):
        raise CrmError(
            "INVALID_DATA",
            "invalid data",
            400,
            {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
        )
    return tuple(raw)


def _find_duplicate(
    call: Call, values: dict[str, Any], fields: tuple[str, ...]
) -> tuple[str, dict[str, Any]] | None:
    """The first field of `fields` whose value an existing record shares, and that record."""
    for name in fields:
        wanted = values.get(name)
        if wanted is None:
            continue
        key = _match_key(wanted)
        for record in call.records().values():
            if _match_key(record.get(name)) == key:
                return name, record
    return None


def _check_unique(call: Call, values: dict[str, Any], path: str, own_id: str | None = None) -> None:
    """DUPLICATE_DATA when a unique field of the org's module gets a value another record
    (not `own_id`, the one being written) already holds; case is ignored, as for upsert [?]."""
    unique = call.state.unique_fields.get((call.caller.zgid, call.mod.api_name))
    if not unique:
        return
    for name in sorted(unique):
        wanted = values.get(name)
        if wanted is None:
            continue
        key = _match_key(wanted)
        for record in call.records().values():
            if record["id"] != own_id and _match_key(record.get(name)) == key:
                raise RecordError(_duplicate_error(call, name, f"{path}.{name}", record))


async def create(call: Call) -> Response:
    body = await read_json(call)
    items = _batch(body)
    check = _duplicate_fields(call, body, ())
    cleaner = Cleaner(call.state, call.caller.zgid, call.mod)
    now = call.now()
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(items):
        path = f"$.data[{i}]"
        try:
            values = cleaner.clean(raw, path, creating=True)
            duplicate = _find_duplicate(call, values, check) if check else None
            if duplicate is not None:
                name, record = duplicate
                raise RecordError(_duplicate_error(call, name, f"{path}.{name}", record))
            _check_unique(call, values, path)
        except RecordError as exc:
            out.append(exc.body)
            continue
        out.append(_success("record added", _insert(call, values, now)))
    return json_response({"data": out}, _status(out, 201))


def _duplicate_error(call: Call, name: str, path: str, record: dict[str, Any]) -> dict[str, Any]:
    # DUPLICATE_DATA with the clashing record [docs/zoho-reference.md §6.5].
    return errors.record_error(
        "DUPLICATE_DATA",
        "duplicate data",
        {
            "api_name": name,
            "json_path": path,
            "duplicate_record": {
                "id": record["id"],
                "module": {"api_name": call.mod.api_name, "id": call.mod.id},
                "Owner": record.get("Owner"),
            },
        },
    )


def _update_one(
    call: Call, cleaner: Cleaner, raw: Any, path: str, record: dict[str, Any] | None, now: str
) -> dict[str, Any]:
    if record is None:
        if not isinstance(raw, dict):
            raise RecordError(errors.invalid_value("data", path, expected_data_type="jsonobject"))
        if raw.get("id") is None:
            raise RecordError(errors.mandatory_missing("id", f"{path}.id"))
        given = raw["id"]
        if isinstance(given, int | str) and not isinstance(given, bool):
            record = call.records().get(str(given))
        if record is None:
            raise RecordError(
                errors.record_error(
                    "INVALID_DATA",
                    "the id given seems to be invalid",
                    {"api_name": "id", "json_path": f"{path}.id"},
                )
            )
    values = cleaner.clean(raw, path, creating=False)
    _check_unique(call, values, path, own_id=record["id"])
    _apply(call, record, values, now)
    return _success("record updated", record)


async def update(call: Call) -> Response:
    """`PUT /{module}` (ids in the body) and `PUT /{module}/{id}` (the first record only [?])."""
    target = find(call) if call.record_id is not None else None
    body = await read_json(call)
    items = _batch(body)
    if target is not None:
        items = items[:1]
    cleaner = Cleaner(call.state, call.caller.zgid, call.mod)
    now = call.now()
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(items):
        try:
            out.append(_update_one(call, cleaner, raw, f"$.data[{i}]", target, now))
        except RecordError as exc:
            out.append(exc.body)
    return json_response({"data": out}, _status(out, 200))


async def upsert(call: Call) -> Response:
    """Update the record matching `duplicate_check_fields` (default: the module's unique
    fields, see modules.py), else insert; the item says which (`action`, `duplicate_field`)."""
    body = await read_json(call)
    items = _batch(body)
    check = _duplicate_fields(call, body, call.mod.duplicate_check)
    cleaner = Cleaner(call.state, call.caller.zgid, call.mod)
    now = call.now()
    out: list[dict[str, Any]] = []
    inserted = 0
    for i, raw in enumerate(items):
        path = f"$.data[{i}]"
        try:
            values = cleaner.clean(raw, path, creating=False)
            duplicate = _find_duplicate(call, values, check)
            if duplicate is None:
                cleaner.require(raw, path)
            _check_unique(call, values, path, own_id=duplicate[1]["id"] if duplicate else None)
        except RecordError as exc:
            out.append(exc.body)
            continue
        if duplicate is None:
            inserted += 1
            record = _insert(call, values, now)
            out.append(_success("record added", record, duplicate_field=None, action="insert"))
        else:
            name, record = duplicate
            _apply(call, record, values, now)
            out.append(_success("record updated", record, duplicate_field=name, action="update"))
    all_inserts = inserted == len(out)
    return json_response({"data": out}, _status(out, 201 if all_inserts else 200))


async def delete(call: Call) -> Response:
    """`DELETE /{module}?ids=a,b` (≤ 100) and `DELETE /{module}/{id}`."""
    if call.record_id is not None:
        record = find(call)
        del call.records()[record["id"]]
        item = {
            "code": "SUCCESS",
            "details": {"id": record["id"]},
            "message": "record deleted",
            "status": "success",
        }
        return json_response({"data": [item]})
    ids = list_param(call.params, "ids")
    if not ids:
        raise errors.required_param("ids")
    if len(ids) > MAX_RECORDS:
        raise errors.limit_exceeded("Record count exceeded", param_name="ids", limit=MAX_RECORDS)
    records = call.records()
    out: list[dict[str, Any]] = []
    for record_id in ids:
        if records.pop(record_id, None) is None:
            out.append(
                errors.record_error(
                    "INVALID_DATA", "the id given seems to be invalid", {"id": record_id}
                )
            )
        else:
            out.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": record_id},
                    "message": "record deleted",
                    "status": "success",
                }
            )
    return json_response({"data": out}, _status(out, 200))
