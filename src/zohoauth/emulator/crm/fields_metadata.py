"""Field metadata in Zoho's shape (the bodies of `GET settings/fields`), built once from
`modules.py`; `settings.py` serves it and `modules_metadata.py` embeds it in module details.

`GET settings/fields?module=X` is what the official SDK reads before it parses a module's records:
it converts each value by the field's `data_type` (and `json_type`), follows `lookup.module`, and
lists picklist `display_value`s. The keys mirror a real v8 field (Last_Name in Zoho's COQL
`include_meta` sample) plus those Zoho's OpenAPI spec (`fields.json`) marks required; keys Zoho
sends as null (crypt, tooltip, external, ...) are null here too. Static, so precomputed.
"""

from __future__ import annotations

from typing import Any, Final

from ..modules import MODULES, FieldDef, ModuleDef

#: Zoho's internal UI types per data type (values as in Zoho samples where seen, else [?]).
_UI_TYPE: Final[dict[str, int]] = {
    "text": 1,
    "textarea": 3,
    "email": 25,
    "phone": 33,
    "website": 21,
    "picklist": 2,
    "integer": 32,
    "currency": 36,
    "double": 38,
    "boolean": 301,
    "date": 24,
    "datetime": 333,
    "lookup": 133,
    "ownerlookup": 8,
    "bigint": 1,
}
_LAYOUT_ID: Final = "5725767000000091055"  # the "Standard" layout in Zoho's samples
_ADMIN_PROFILE: Final = {
    "permission_type": "read_write",
    "name": "Administrator",
    "id": "5725767000000026011",
}


def field_id(module: ModuleDef, index: int) -> str:
    """A stable 19-digit field id (never ends in 001, so it cannot clash with a record id)."""
    return str(int(module.id) + 10_000 * (index + 1) + 5)


def _picklist(f: FieldDef, fid: str) -> list[dict[str, Any]]:
    # Zoho lists "-None-" first in every picklist (Zoho's field metadata samples).
    values = ("-None-", *f.picklist)
    return [
        {
            "display_value": v,
            "sequence_number": i + 1,
            "reference_value": v,
            "colour_code": None,
            "actual_value": v,
            "id": str(int(fid) + 100 * (i + 1)),
            "type": "used",
        }
        for i, v in enumerate(values)
    ]


def _lookup(f: FieldDef, fid: str) -> dict[str, Any]:
    if f.data_type != "lookup" or f.lookup_module is None:
        return {}
    target = MODULES[f.lookup_module]
    return {
        "display_label": f.label,
        "api_name": f.api_name,
        "module": {"api_name": target.api_name, "id": target.id},
        "id": fid,
        "revalidate_filter_during_edit": False,
        "query_details": {},
        "show_fields": [],
    }


def field_meta(module: ModuleDef, index: int, f: FieldDef) -> dict[str, Any]:
    fid = field_id(module, index)
    writable = not f.read_only
    return {
        "associated_module": None,
        "webhook": True,
        "operation_type": {
            "web_update": writable,
            "api_create": writable,
            "web_create": writable,
            "api_update": writable,
        },
        "colour_code_enabled_by_system": False,
        "field_label": f.label,
        "tooltip": None,
        "type": "used",
        "field_read_only": f.read_only,
        "customizable_properties": [],
        "display_label": f.label,
        "read_only": f.read_only,
        "association_details": None,
        "multi_module_lookup": {},
        "id": fid,
        "created_time": None,
        "filterable": True,
        "visible": True,
        "refer_from_field": None,
        "view_type": {
            "view": True,
            "edit": writable,
            "quick_create": f.required,
            "create": writable,
        },
        "separator": False,
        "searchable": f.data_type not in ("ownerlookup", "lookup"),
        "external": None,
        "api_name": f.api_name,
        "unique": {},
        "enable_colour_code": False,
        "pick_list_values": _picklist(f, fid) if f.data_type == "picklist" else [],
        "system_mandatory": f.required,
        "private": None,
        "virtual_field": False,
        "json_type": f.json_type,
        "crypt": None,
        "created_source": "default",
        "display_type": -1,
        "ui_type": _UI_TYPE.get(f.data_type, 1),
        "modified_time": None,
        "quick_sequence_number": str(index + 1),
        "email_parser": {"fields_update_supported": False, "record_operations_supported": True},
        "currency": {"rounding_option": "normal", "precision": 2}
        if f.data_type == "currency"
        else {},
        "custom_field": False,
        "lookup": _lookup(f, fid),
        "hipaa_compliance": None,
        "convert_mapping": {},
        "rollup_summary": {},
        "length": f.length,
        "column_name": f.api_name.upper(),
        "display_field": f.api_name == module.display_field,
        "pick_list_values_sorted_lexically": False,
        "default_value": None,
        "sortable": True,
        "layout_associations": [{"api_name": "Standard__s", "name": "Standard", "id": _LAYOUT_ID}],
        "global_picklist": None,
        "history_tracking": None,
        "data_type": f.data_type,
        "formula": {},
        "additional_column": None,
        "hipaa_compliance_enabled": False,
        "decimal_place": 2 if f.data_type == "currency" else None,
        "mass_update": writable,
        "multiselectlookup": {},
        "auto_number": {},
        # Keys fields.json requires that the sample above leaves out (Zoho's OpenAPI spec,
        # fields.json).
        "blueprint_supported": False,
        "businesscard_supported": False,
        "available_in_user_layout": True,
        "show_type": 7,
        "category": 0,
        "sharing_properties": None,
        "file_upolad_optionlist": [],
        "profiles": [_ADMIN_PROFILE],
        "sub_module": None,
        "multiuserlookup": None,
        "subform": None,
        "autonumber": None,
        "allowed_modules": [],
        "common.picklist": None,
        "_update_existing_records": False,
        "number_separator": False,
        "textarea": {"type": "large"} if f.data_type == "textarea" else None,
        "static_field": False,
    }


def _fields_of(module: ModuleDef) -> list[dict[str, Any]]:
    # The record id is not a field at Zoho; the SDK reads it from the Record class itself.
    return [field_meta(module, i, f) for i, f in enumerate(module.fields) if f.api_name != "id"]


#: `settings/fields?module=X` bodies, per module api_name.
FIELDS: Final[dict[str, list[dict[str, Any]]]] = {m: _fields_of(d) for m, d in MODULES.items()}
