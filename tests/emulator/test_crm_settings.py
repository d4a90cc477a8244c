"""The metadata endpoints over HTTP: `settings/modules` and `settings/fields`."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Crm

MODULES = ("Leads", "Contacts", "Accounts", "Deals")
#: json_type -> the Python types a value of that type may decode to.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "jsonobject": (dict,),
    "jsonarray": (list,),
    "integer": (int,),
    "double": (int, float),
    "boolean": (bool,),
}


def test_settings_modules(crm: Crm) -> None:
    modules = crm.http.get("settings/modules").json()["modules"]
    assert [m["api_name"] for m in modules] == list(MODULES)
    for m in modules:
        assert m["api_supported"] is True
        assert m["creatable"] and m["editable"] and m["viewable"]
        assert m["generated_type"] == "default"
        assert m["status"] == "visible"
        assert "fields" not in m  # only the single-module call has them
    one = crm.http.get("settings/modules/deals").json()["modules"]
    assert one[0]["api_name"] == "Deals"
    assert {f["api_name"] for f in one[0]["fields"]} >= {"Deal_Name", "Stage"}
    bad = crm.http.get("settings/modules/Nope")
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_MODULE"
    assert crm.http.get("settings/modules", params={"status": "user_hidden"}).status_code == 204


@pytest.mark.parametrize("module", MODULES)
def test_settings_fields_describe_every_field(crm: Crm, module: str) -> None:
    fields = crm.http.get("settings/fields", params={"module": module}).json()["fields"]
    by_name = {f["api_name"]: f for f in fields}
    assert len(by_name) == len(fields)
    for f in fields:
        for key in ("api_name", "data_type", "json_type", "system_mandatory", "custom_field"):
            assert key in f, (f["api_name"], key)
        assert f["json_type"] in JSON_TYPES
        assert f["id"].isdecimal()
        assert f["field_label"]
        assert isinstance(f["read_only"], bool)
        assert isinstance(f["length"], int)
        if f["data_type"] == "picklist":
            values = [v["display_value"] for v in f["pick_list_values"]]
            assert values[0] == "-None-"
            assert len(values) > 1
        if f["data_type"] == "lookup":
            assert f["lookup"]["module"]["api_name"] in MODULES
    assert "Owner" in by_name
    assert by_name["Created_Time"]["read_only"] is True
    mandatory = {f["api_name"] for f in fields if f["system_mandatory"]}
    expected = {
        "Leads": {"Last_Name"},
        "Contacts": {"Last_Name"},
        "Accounts": {"Account_Name"},
        "Deals": {"Deal_Name", "Stage"},
    }
    assert mandatory == expected[module]


@pytest.mark.parametrize("module", MODULES)
def test_every_record_value_is_described_with_its_json_type(crm: Crm, module: str) -> None:
    """The official SDK converts each value by its field's metadata: it must find every key."""
    fields = crm.http.get("settings/fields", params={"module": module}).json()["fields"]
    types = {f["api_name"]: f["json_type"] for f in fields}
    records: list[dict[str, Any]] = crm.http.get(f"{module}/search", params={"word": "e"}).json()[
        "data"
    ]
    assert records
    for record in records:
        for key, value in record.items():
            if key == "id" or value is None:
                continue
            assert key in types, (module, key)
            assert isinstance(value, JSON_TYPES[types[key]]), (module, key, value)


def test_settings_fields_errors(crm: Crm) -> None:
    missing = crm.http.get("settings/fields")
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "module"},
        "message": "One of the expected parameter is missing",
        "status": "error",
    }
    unknown = crm.http.get("settings/fields", params={"module": "Nope"})
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "INVALID_MODULE"
    fields = crm.http.get("settings/fields", params={"module": "leads"}).json()["fields"]
    one = crm.http.get(f"settings/fields/{fields[0]['id']}", params={"module": "Leads"})
    assert one.json()["fields"] == [fields[0]]
    assert crm.http.get("settings/fields/1", params={"module": "Leads"}).status_code == 400
