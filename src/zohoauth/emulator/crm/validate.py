"""Checking one input record against a module's fields, the way Zoho's insert/update do.

Each failure is one per-record error inside `data[]` (the record is skipped, the others go on):
MANDATORY_NOT_FOUND `{api_name, json_path}` for a missing required field, INVALID_DATA `{api_name,
json_path, expected_data_type}` for a value of the wrong JSON type [docs/zoho-reference.md
§Records]. Unknown picklist values are accepted, as at Zoho. Unknown keys and read-only system
fields are ignored [?]. Lookups must name a record of the same org; Owner a user of the org.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from ..modules import MODULES, FieldDef, ModuleDef
from ..state import EmulatorState
from . import errors
from .call import is_number

_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INT32: Final = 2**31
_TEXTUAL: Final = frozenset({"text", "textarea", "email", "phone", "website", "picklist"})


class RecordError(Exception):
    """One record's failure; `body` is the error object that goes into `data[]`."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["code"])
        self.body = body


def _wrong_type(f: FieldDef, path: str) -> RecordError:
    return RecordError(errors.invalid_value(f.api_name, path, expected_data_type=f.data_type))


def _lookup_id(value: Any) -> str | None:
    """The id in a lookup value: `{"id": "..."}`, or the id itself [?]."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text if text.isdecimal() else None
    return None


class Cleaner:
    """Validates and converts input records of one module for one org."""

    def __init__(self, state: EmulatorState, zgid: str, module: ModuleDef) -> None:
        self.state = state
        self.zgid = zgid
        self.module = module

    def clean(self, raw: Any, path: str, creating: bool) -> dict[str, Any]:
        """The storable values of `raw` (a record object from `data[]` at `path`)."""
        if not isinstance(raw, dict):
            raise RecordError(errors.invalid_value("data", path, expected_data_type="jsonobject"))
        if creating:
            self.require(raw, path)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            f = self.module.by_name.get(key) if isinstance(key, str) else None
            if f is None or f.read_only:
                continue
            values[key] = self.value(f, value, f"{path}.{key}")
        return values

    def require(self, raw: dict[str, Any], path: str) -> None:
        """MANDATORY_NOT_FOUND for the first required field `raw` lacks (checked before types)."""
        for name in self.module.required:
            if _blank(raw.get(name)):
                raise RecordError(errors.mandatory_missing(name, f"{path}.{name}"))

    def value(self, f: FieldDef, value: Any, path: str) -> Any:
        if value is None or (isinstance(value, str) and value == "" and f.data_type in _TEXTUAL):
            if f.required:
                raise RecordError(errors.mandatory_missing(f.api_name, path))
            return None
        kind = f.data_type
        if kind in _TEXTUAL:
            if not isinstance(value, str):
                raise _wrong_type(f, path)
            if len(value) > f.length:
                raise RecordError(errors.invalid_value(f.api_name, path, maximum_length=f.length))
            if kind == "email" and not _EMAIL.fullmatch(value):
                raise _wrong_type(f, path)
            return value
        if f.json_type == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _INT32:
                raise _wrong_type(f, path)
            return value
        if f.json_type == "double":
            if not is_number(value):
                raise _wrong_type(f, path)
            return float(value)
        if f.json_type == "boolean":
            if not isinstance(value, bool):
                raise _wrong_type(f, path)
            return value
        if kind == "date":
            if not isinstance(value, str) or not _DATE.fullmatch(value) or not _valid_date(value):
                raise _wrong_type(f, path)
            return value
        if kind == "lookup":
            return self._lookup(f, value, path)
        if kind == "ownerlookup":
            return self._owner(f, value, path)
        raise _wrong_type(f, path)  # a field type the emulator does not accept as input

    def _lookup(self, f: FieldDef, value: Any, path: str) -> dict[str, str]:
        target_id = _lookup_id(value)
        if target_id is None or f.lookup_module is None:
            raise _wrong_type(f, path)
        target = self.state.records.get((self.zgid, f.lookup_module), {}).get(target_id)
        if target is None:
            raise RecordError(
                errors.record_error(
                    "INVALID_DATA",
                    "the id given seems to be invalid",
                    {"api_name": f.api_name, "json_path": path},
                )
            )
        display = MODULES[f.lookup_module].display_field
        return {"name": str(target.get(display) or ""), "id": target_id}

    def _owner(self, f: FieldDef, value: Any, path: str) -> dict[str, str]:
        owner_id = _lookup_id(value)
        if owner_id is None:
            raise _wrong_type(f, path)
        for user in self.state.users.values():
            if user.crm_user_ids.get(self.zgid) == owner_id:
                return {"name": user.full_name, "id": owner_id, "email": user.email}
        raise RecordError(
            errors.record_error(
                "INVALID_DATA",
                "the id given seems to be invalid",
                {"api_name": f.api_name, "json_path": path},
            )
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
