"""Writing records over HTTP: insert, update, delete, upsert; per-record errors and statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from .conftest import Crm


def _lead(**extra: Any) -> dict[str, Any]:
    return {"Last_Name": "Okafor", "Email": "ada.okafor@example.com", **extra}


def test_insert_answers_201_with_zohos_success_item(crm: Crm) -> None:
    me = crm.http.get("users", params={"type": "CurrentUser"}).json()["users"][0]
    r = crm.http.post("Leads", json={"data": [_lead(Company="Müller & Söhne", No_of_Employees=7)]})
    assert r.status_code == 201
    (item,) = r.json()["data"]
    assert (item["code"], item["status"], item["message"]) == ("SUCCESS", "success", "record added")
    details = item["details"]
    assert set(details) == {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}
    assert details["Created_By"] == details["Modified_By"] == {"name": "Ava Chen", "id": me["id"]}
    assert datetime.fromisoformat(details["Created_Time"]).tzinfo is not None
    stored = crm.http.get(f"Leads/{details['id']}").json()["data"][0]
    assert stored["Company"] == "Müller & Söhne"
    assert stored["No_of_Employees"] == 7
    assert stored["Owner"] == {"name": "Ava Chen", "id": me["id"], "email": "ava@zylker.com"}
    assert stored["Created_Time"] == details["Created_Time"]


def test_new_ids_increase(crm: Crm) -> None:
    r = crm.http.post("Leads", json={"data": [_lead(), _lead(), _lead()]})
    ids = [int(item["details"]["id"]) for item in r.json()["data"]]
    assert ids == sorted(ids)
    newest = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 1}).json()["data"]
    assert int(newest[0]["id"]) == ids[-1]


def test_partial_failure_is_207_and_total_failure_400(crm: Crm) -> None:
    mixed = crm.http.post("Leads", json={"data": [_lead(), {"First_Name": "NoLast"}]})
    assert mixed.status_code == 207
    ok, bad = mixed.json()["data"]
    assert ok["status"] == "success"
    assert bad == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    failed = crm.http.post("Deals", json={"data": [{"Deal_Name": "No stage"}]})
    assert failed.status_code == 400
    assert failed.json()["data"][0]["details"]["api_name"] == "Stage"


@pytest.mark.parametrize(
    ("record", "api_name", "expected"),
    [
        (_lead(No_of_Employees="12"), "No_of_Employees", "integer"),
        (_lead(No_of_Employees=1.5), "No_of_Employees", "integer"),
        (_lead(No_of_Employees=True), "No_of_Employees", "integer"),
        (_lead(No_of_Employees=2**40), "No_of_Employees", "integer"),
        (_lead(Annual_Revenue="lots"), "Annual_Revenue", "currency"),
        (_lead(Email_Opt_Out="yes"), "Email_Opt_Out", "boolean"),
        (_lead(Email="not-an-email"), "Email", "email"),
        (_lead(Company=42), "Company", "text"),
        (_lead(Last_Name=["x"]), "Last_Name", "text"),
    ],
)
def test_wrong_types_are_invalid_data(
    crm: Crm, record: dict[str, Any], api_name: str, expected: str
) -> None:
    r = crm.http.post("Leads", json={"data": [record]})
    assert r.status_code == 400
    assert r.json()["data"][0] == {
        "code": "INVALID_DATA",
        "details": {
            "api_name": api_name,
            "json_path": f"$.data[0].{api_name}",
            "expected_data_type": expected,
        },
        "message": "invalid data",
        "status": "error",
    }


def test_other_value_rules(crm: Crm) -> None:
    long = crm.http.post("Leads", json={"data": [_lead(First_Name="x" * 41)]}).json()["data"][0]
    assert long["details"]["maximum_length"] == 40
    date = crm.http.post(
        "Contacts", json={"data": [{"Last_Name": "D", "Date_of_Birth": "1990-02-30"}]}
    )
    assert date.json()["data"][0]["details"]["expected_data_type"] == "date"
    # Unknown picklist values are fine at Zoho; unknown keys and read-only fields are ignored.
    ok = crm.http.post(
        "Leads",
        json={"data": [_lead(Lead_Status="Brand New Status", Nope=1, Created_Time="1999", id="1")]},
    )
    assert ok.status_code == 201
    new_id = ok.json()["data"][0]["details"]["id"]
    stored = crm.http.get(f"Leads/{new_id}").json()["data"][0]
    assert stored["Lead_Status"] == "Brand New Status"
    assert "Nope" not in stored
    assert stored["id"] == new_id
    assert stored["Created_Time"] != "1999"


def test_non_object_records_and_bad_bodies(crm: Crm) -> None:
    r = crm.http.post("Leads", json={"data": [_lead(), "text", 3, None]})
    assert r.status_code == 207
    assert [item["code"] for item in r.json()["data"]] == ["SUCCESS"] + ["INVALID_DATA"] * 3
    assert r.json()["data"][1]["details"] == {
        "api_name": "data",
        "json_path": "$.data[1]",
        "expected_data_type": "jsonobject",
    }
    for body in (b"{nope", b"", b"[]", b'"x"', b"\xff\xfe", b'{"data": [NaN]}', b"[" * 100_000):
        bad = crm.http.post("Leads", content=body)
        assert bad.status_code == 400, body[:20]
        assert bad.json()["code"] == "INVALID_DATA"
    for body_json in ({}, {"data": []}):
        missing = crm.http.post("Leads", json=body_json)
        assert missing.status_code == 400
        assert missing.json()["code"] == "MANDATORY_NOT_FOUND"
        assert missing.json()["details"] == {"api_name": "data", "json_path": "$.data"}
    wrong = crm.http.post("Leads", json={"data": {"Last_Name": "x"}})
    assert wrong.json()["details"]["expected_data_type"] == "jsonarray"


def test_at_most_100_records_per_call(crm: Crm) -> None:
    assert crm.http.post("Leads", json={"data": [_lead()] * 100}).status_code == 201
    r = crm.http.post("Leads", json={"data": [_lead()] * 101})
    assert r.status_code == 400
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    assert r.json()["details"]["limit"] == 100


def test_lookups_and_owner(crm_for: Callable[..., Crm]) -> None:
    ava = crm_for()
    account = ava.http.get("Accounts", params={"fields": "Account_Name", "per_page": 1}).json()[
        "data"
    ][0]
    ben = (
        crm_for("ben@zylker.com")
        .http.get("users", params={"type": "CurrentUser"})
        .json()["users"][0]
    )
    r = ava.http.post(
        "Contacts",
        json={
            "data": [
                {
                    "Last_Name": "L",
                    "Account_Name": {"id": account["id"]},
                    "Owner": {"id": ben["id"]},
                }
            ]
        },
    )
    assert r.status_code == 201
    stored = ava.http.get(f"Contacts/{r.json()['data'][0]['details']['id']}").json()["data"][0]
    assert stored["Account_Name"] == {"name": account["Account_Name"], "id": account["id"]}
    assert stored["Owner"]["id"] == ben["id"]
    assert stored["Created_By"]["name"] == "Ava Chen"
    bad = ava.http.post(
        "Contacts", json={"data": [{"Last_Name": "L", "Account_Name": {"id": "42"}}]}
    )
    assert bad.json()["data"][0]["message"] == "the id given seems to be invalid"
    bad_owner = ava.http.post("Contacts", json={"data": [{"Last_Name": "L", "Owner": "42"}]})
    assert bad_owner.json()["data"][0]["details"]["api_name"] == "Owner"


def test_update_in_bulk_and_by_id(crm: Crm, admin: httpx.Client) -> None:
    created = crm.http.post("Leads", json={"data": [_lead(), _lead()]}).json()["data"]
    first, second = (item["details"] for item in created)
    admin.post("/_emulator/clock", json={"advance_seconds": 120})
    r = crm.http.put(
        "Leads",
        json={
            "data": [{"id": first["id"], "City": "Pune"}, {"id": "123", "City": "X"}, {"City": "Y"}]
        },
    )
    assert r.status_code == 207
    ok, unknown, no_id = r.json()["data"]
    assert ok["message"] == "record updated"
    assert ok["details"]["Created_Time"] == first["Created_Time"]
    assert ok["details"]["Modified_Time"] > first["Modified_Time"]
    assert unknown["details"] == {"api_name": "id", "json_path": "$.data[1].id"}
    assert unknown["message"] == "the id given seems to be invalid"
    assert no_id["code"] == "MANDATORY_NOT_FOUND"
    one = crm.http.put(
        f"Leads/{second['id']}", json={"data": [{"City": "Oslo", "Last_Name": "New"}]}
    )
    assert one.status_code == 200
    stored = crm.http.get(f"Leads/{second['id']}").json()["data"][0]
    assert (stored["City"], stored["Last_Name"]) == ("Oslo", "New")
    cleared = crm.http.put(f"Leads/{second['id']}", json={"data": [{"Last_Name": None}]})
    assert cleared.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    missing = crm.http.put("Leads/123", json={"data": [{"City": "X"}]})
    assert missing.status_code == 400
    assert missing.json()["details"] == {"resource_path_index": 1}


def test_delete_in_bulk_and_by_id(crm: Crm) -> None:
    ids = [
        item["details"]["id"]
        for item in crm.http.post("Leads", json={"data": [_lead()] * 3}).json()["data"]
    ]
    r = crm.http.delete("Leads", params={"ids": f"{ids[0]},{ids[1]},999"})
    assert r.status_code == 207
    assert r.json()["data"][0] == {
        "code": "SUCCESS",
        "details": {"id": ids[0]},
        "message": "record deleted",
        "status": "success",
    }
    assert r.json()["data"][2]["details"] == {"id": "999"}
    one = crm.http.delete(f"Leads/{ids[2]}")
    assert one.status_code == 200
    assert one.json()["data"][0]["details"] == {"id": ids[2]}
    for gone in ids:
        assert crm.http.get(f"Leads/{gone}").status_code == 400
    assert crm.http.delete(f"Leads/{ids[2]}").status_code == 400
    assert crm.http.delete("Leads").json()["details"] == {"param_name": "ids"}
    many = ",".join(str(n) for n in range(101))
    assert crm.http.delete("Leads", params={"ids": many}).json()["code"] == "LIMIT_EXCEEDED"


def test_upsert_inserts_then_updates_on_email_by_default(crm: Crm) -> None:
    first = crm.http.post("Leads/upsert", json={"data": [_lead(City="Lagos")]})
    assert first.status_code == 201
    item = first.json()["data"][0]
    assert (item["action"], item["duplicate_field"], item["message"]) == (
        "insert",
        None,
        "record added",
    )
    again = crm.http.post(
        "Leads/upsert",
        json={
            "data": [{"Last_Name": "Okafor", "Email": "ADA.okafor@example.com", "City": "Abuja"}]
        },
    )
    assert again.status_code == 200
    item2 = again.json()["data"][0]
    assert (item2["action"], item2["duplicate_field"]) == ("update", "Email")
    assert item2["details"]["id"] == item["details"]["id"]
    stored = crm.http.get(f"Leads/{item['details']['id']}").json()["data"][0]
    assert stored["City"] == "Abuja"


def test_upsert_with_explicit_duplicate_check_fields_and_errors(crm: Crm) -> None:
    seeded = crm.http.get("Accounts", params={"fields": "Account_Name", "per_page": 1}).json()[
        "data"
    ][0]
    body = {
        "data": [{"Account_Name": seeded["Account_Name"], "Phone": "+1 555 0000"}],
        "duplicate_check_fields": ["Account_Name"],
    }
    r = crm.http.post("Accounts/upsert", json=body)
    assert r.json()["data"][0]["details"]["id"] == seeded["id"]
    by_phone = crm.http.post(
        "Accounts/upsert",
        json={
            "data": [{"Account_Name": "Other", "Phone": "+1 555 0000"}],
            "duplicate_check_fields": ["Phone"],
        },
    )
    assert by_phone.json()["data"][0]["duplicate_field"] == "Phone"
    new = crm.http.post(
        "Accounts/upsert", json={"data": [{"Phone": "000"}], "duplicate_check_fields": ["Phone"]}
    )
    assert new.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    bad = crm.http.post("Accounts/upsert", json={**body, "duplicate_check_fields": ["Nope"]})
    assert bad.status_code == 400
    assert bad.json()["details"]["api_name"] == "duplicate_check_fields"


def test_insert_with_duplicate_check_fields_reports_duplicate_data(crm: Crm) -> None:
    crm.http.post("Leads", json={"data": [_lead()]})
    r = crm.http.post("Leads", json={"data": [_lead()], "duplicate_check_fields": ["Email"]})
    assert r.status_code == 400
    error = r.json()["data"][0]
    assert (error["code"], error["message"]) == ("DUPLICATE_DATA", "duplicate data")
    assert error["details"]["api_name"] == "Email"
    assert error["details"]["duplicate_record"]["module"]["api_name"] == "Leads"


def test_body_over_the_limit_is_413(crm: Crm, admin: httpx.Client) -> None:
    admin.post("/_emulator/config", json={"max_body_bytes": 1000}).raise_for_status()
    big = json.dumps({"data": [_lead(Description="x" * 2000)]})
    r = crm.http.post("Leads", content=big)
    assert r.status_code == 413
    assert r.json()["status"] == "error"

    def chunks() -> Any:  # no Content-Length: the cap holds while streaming too
        yield big[:500].encode()
        yield big[500:].encode()

    streamed = crm.http.post("Leads", content=chunks())
    assert streamed.status_code == 413


def _make_unique(admin: httpx.Client, org_id: str, unique: bool = True) -> None:
    admin.post(
        "/_emulator/unique-fields",
        json={"org_id": org_id, "module": "Leads", "field": "Email", "unique": unique},
    ).raise_for_status()


def test_a_field_the_org_made_unique_refuses_a_value_another_record_holds(
    crm: Crm, crm_for: Callable[..., Crm], admin: httpx.Client
) -> None:
    org_id = crm.http.get("org").json()["org"][0]["zgid"]
    first = crm.http.post("Leads", json={"data": [_lead()]}).json()["data"][0]["details"]["id"]
    twin = crm.http.post("Leads", json={"data": [_lead()]})  # not unique yet
    assert twin.status_code == 201
    crm.http.delete(f"Leads/{twin.json()['data'][0]['details']['id']}").raise_for_status()
    _make_unique(admin, org_id)
    meta = crm.http.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    marks = {f["api_name"]: f["unique"] for f in meta}
    assert marks["Email"] == {"casesensitive": "false"} and marks["Last_Name"] == {}

    # Insert: the whole batch answers per record, the clash as Zoho words it.
    r = crm.http.post(
        "Leads",
        json={
            "data": [
                _lead(Last_Name="Other", Email="new.one@example.com"),
                _lead(Email="ADA.okafor@example.com"),
            ]
        },
    )
    assert r.status_code == 207
    ok, error = r.json()["data"]
    assert ok["code"] == "SUCCESS"
    assert (error["code"], error["status"], error["message"]) == (
        "DUPLICATE_DATA",
        "error",
        "duplicate data",
    )
    assert error["details"]["api_name"] == "Email"
    assert error["details"]["json_path"] == "$.data[1].Email"
    assert error["details"]["duplicate_record"]["id"] == first
    assert error["details"]["duplicate_record"]["module"]["api_name"] == "Leads"

    # Update: another record's value is refused, the record's own value is not.
    other = ok["details"]["id"]
    clash = crm.http.put(f"Leads/{other}", json={"data": [{"Email": "ada.okafor@example.com"}]})
    assert clash.status_code == 400
    assert clash.json()["data"][0]["code"] == "DUPLICATE_DATA"
    same = crm.http.put(f"Leads/{first}", json={"data": [{"Email": "ada.okafor@example.com"}]})
    assert same.status_code == 200

    # Upsert that matches on another field may not copy the unique value either.
    up = crm.http.post(
        "Leads/upsert",
        json={
            "data": [{"Last_Name": "Other", "Email": "ada.okafor@example.com"}],
            "duplicate_check_fields": ["Last_Name"],
        },
    )
    assert up.json()["data"][0]["code"] == "DUPLICATE_DATA"

    # Other orgs and other modules are untouched; undoing it lets duplicates in again.
    assert crm.http.post("Contacts", json={"data": [_lead(), _lead()]}).status_code == 201
    other_org = ({"80000001", "80000002"} - {org_id}).pop()  # Ava's second org
    elsewhere = crm_for(org=other_org).http.post("Leads", json={"data": [_lead(), _lead()]})
    assert elsewhere.status_code == 201
    _make_unique(admin, org_id, unique=False)
    assert crm.http.post("Leads", json={"data": [_lead()]}).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ({"org_id": "1", "module": "Leads", "field": "Email"}, 404, "unknown 'org_id'"),
        ({"org_id": "80000001", "module": "Nope", "field": "Email"}, 400, "'module' must be"),
        ({"org_id": "80000001", "module": "Leads", "field": "id"}, 400, "'field' must be"),
        ({"org_id": "80000001", "module": "Leads", "field": "Email", "unique": 1}, 400, "true"),
    ],
)
def test_making_a_field_unique_says_what_is_wrong(
    admin: httpx.Client, body: dict[str, Any], status: int, said: str
) -> None:
    r = admin.post("/_emulator/unique-fields", json=body)
    assert r.status_code == status
    assert said in r.json()["message"]
