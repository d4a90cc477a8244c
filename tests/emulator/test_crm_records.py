"""Reading records over HTTP: list parameters, info, 204, get by id."""

from __future__ import annotations

import pytest

from .conftest import Crm


def test_list_needs_fields(crm: Crm) -> None:
    for params in ({}, {"fields": ""}, {"fields": ",,"}):
        r = crm.http.get("Leads", params=params)
        assert r.status_code == 400
        assert r.json() == {
            "code": "REQUIRED_PARAM_MISSING",
            "details": {"param_name": "fields"},
            "message": "One of the expected parameter is missing",
            "status": "error",
        }


def test_more_than_50_fields_is_a_limit(crm: Crm) -> None:
    fifty = ",".join(["Last_Name"] * 50)
    assert crm.http.get("Leads", params={"fields": fifty}).status_code == 200
    r = crm.http.get("Leads", params={"fields": fifty + ",Email"})
    assert r.status_code == 400
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    assert r.json()["details"] == {"param_name": "fields", "limit": 50}


def test_list_returns_id_and_requested_fields_with_nulls(crm: Crm) -> None:
    r = crm.http.get("Leads", params={"fields": "Last_Name,Mobile,Nope"})
    assert r.status_code == 200
    for record in r.json()["data"]:
        assert set(record) == {"id", "Last_Name", "Mobile"}
        assert record["Mobile"] is None  # unset, but asked for


def test_info_and_default_sort(crm: Crm) -> None:
    body = crm.http.get("Leads", params={"fields": "Last_Name"}).json()
    ids = [int(r["id"]) for r in body["data"]]
    assert ids == sorted(ids, reverse=True)  # sort_by=id, sort_order=desc by default
    info = body["info"]
    assert info["per_page"] == 200  # the default
    assert info["count"] == len(ids) == 30
    assert info["page"] == 1
    assert info["more_records"] is False
    assert (info["sort_by"], info["sort_order"]) == ("id", "desc")
    assert info["next_page_token"] is None
    assert info["previous_page_token"] is None
    assert info["page_token_expiry"] is None


@pytest.mark.parametrize("sort_by", ["id", "Created_Time", "Modified_Time"])
def test_sorting(crm: Crm, sort_by: str) -> None:
    params = {"fields": "Last_Name,Created_Time,Modified_Time", "sort_by": sort_by}
    asc = crm.http.get("Leads", params={**params, "sort_order": "asc"}).json()["data"]
    desc = crm.http.get("Leads", params={**params, "sort_order": "desc"}).json()["data"]
    assert [r["id"] for r in asc] == [r["id"] for r in reversed(desc)]
    key = (lambda r: int(r["id"])) if sort_by == "id" else (lambda r: (r[sort_by], int(r["id"])))
    assert asc == sorted(asc, key=key)


def test_pages(crm: Crm) -> None:
    first = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 7}).json()
    assert first["info"]["count"] == 7
    assert first["info"]["more_records"] is True
    assert first["info"]["next_page_token"]
    assert first["info"]["page_token_expiry"]
    last = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 7, "page": 5}).json()
    assert last["info"] == {**last["info"], "count": 2, "page": 5, "more_records": False}
    beyond = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 7, "page": 6})
    assert beyond.status_code == 204
    assert beyond.content == b""


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"per_page": "201"}, "LIMIT_EXCEEDED"),
        ({"per_page": "0"}, "INVALID_DATA"),
        ({"per_page": "ten"}, "INVALID_DATA"),
        ({"page": "-1"}, "INVALID_DATA"),
        ({"page": "9" * 40}, "INVALID_DATA"),
        ({"sort_by": "Last_Name"}, "INVALID_DATA"),
        ({"sort_order": "up"}, "INVALID_DATA"),
        ({"page": "11"}, "DISCRETE_PAGINATION_LIMIT_EXCEEDED"),
        ({"page": "3", "per_page": "1000"}, "LIMIT_EXCEEDED"),
        ({"page": "1", "page_token": "x"}, "AMBIGUITY_DURING_PROCESSING"),
        ({"page_token": "not-a-token"}, "TOKEN_BOUND_DATA_MISMATCH"),
    ],
)
def test_bad_list_parameters(crm: Crm, params: dict[str, str], code: str) -> None:
    r = crm.http.get("Leads", params={"fields": "Last_Name", **params})
    assert r.status_code == 400
    assert r.json()["code"] == code
    assert r.json()["status"] == "error"


def test_ids_filter(crm: Crm) -> None:
    all_ids = [r["id"] for r in crm.http.get("Leads", params={"fields": "Email"}).json()["data"]]
    wanted = ",".join([all_ids[3], all_ids[1], "123", all_ids[1]])
    body = crm.http.get("Leads", params={"fields": "Email", "ids": wanted}).json()
    assert [r["id"] for r in body["data"]] == [all_ids[1], all_ids[3]]


def test_empty_module_is_204_with_empty_body(crm: Crm) -> None:
    ids = [r["id"] for r in crm.http.get("Deals", params={"fields": "Deal_Name"}).json()["data"]]
    assert crm.http.delete("Deals", params={"ids": ",".join(ids)}).status_code == 200
    r = crm.http.get("Deals", params={"fields": "Deal_Name"})
    assert r.status_code == 204
    assert r.content == b""


def test_if_modified_since(crm: Crm) -> None:
    newest = crm.http.get(
        "Leads", params={"fields": "Modified_Time", "sort_by": "Modified_Time", "per_page": 1}
    ).json()["data"][0]
    r = crm.http.get(
        "Leads",
        params={"fields": "Modified_Time"},
        headers={"If-Modified-Since": newest["Modified_Time"]},
    )
    assert [rec["id"] for rec in r.json()["data"]] == [newest["id"]]
    later = crm.http.get(
        "Leads",
        params={"fields": "Last_Name"},
        headers={"If-Modified-Since": "2099-01-01T00:00:00Z"},
    )
    assert later.status_code == 304
    assert later.content == b""
    bad = crm.http.get(
        "Leads", params={"fields": "Last_Name"}, headers={"If-Modified-Since": "soon"}
    )
    assert bad.status_code == 400


def test_get_by_id_returns_every_field(crm: Crm) -> None:
    some = crm.http.get("Contacts", params={"fields": "Last_Name", "per_page": 1}).json()["data"][0]
    r = crm.http.get(f"Contacts/{some['id']}")
    (record,) = r.json()["data"]
    assert "info" not in r.json()
    assert record["id"] == some["id"]
    assert record["Last_Name"] == some["Last_Name"]
    assert {"Owner", "Created_Time", "Modified_By", "Account_Name", "Date_of_Birth"} <= set(record)
    narrow = crm.http.get(f"Contacts/{some['id']}", params={"fields": "Email"}).json()["data"][0]
    assert set(narrow) == {"id", "Email"}


@pytest.mark.parametrize("record_id", ["5725767000000000001", "123", "abc", "𝟙𝟚𝟛"])
def test_get_unknown_id_is_invalid_data(crm: Crm, record_id: str) -> None:
    r = crm.http.get(f"Leads/{record_id}")
    assert r.status_code == 400
    assert r.json() == {
        "code": "INVALID_DATA",
        "details": {"resource_path_index": 1},
        "message": "the id given seems to be invalid",
        "status": "error",
    }


def test_module_names_ignore_case_and_unknown_modules_are_invalid(crm: Crm) -> None:
    assert crm.http.get("leads", params={"fields": "Last_Name"}).status_code == 200
    r = crm.http.get("Tickets", params={"fields": "Subject"})
    assert r.status_code == 400
    assert r.json() == {
        "code": "INVALID_MODULE",
        "details": {"resource_path_index": 0},
        "message": "the module name given seems to be invalid",
        "status": "error",
    }


@pytest.mark.parametrize(
    "path",
    ["", "Leads/1/photo/x", "Leads/actions", "Leads/actions/mass_update", "org/x", "users/1/2"],
)
def test_unknown_paths_are_invalid_url_pattern(crm: Crm, path: str) -> None:
    r = crm.http.get(path)
    assert r.status_code == 404
    assert r.json()["code"] == "INVALID_URL_PATTERN"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "Leads"),
        ("POST", "org"),
        ("DELETE", "users"),
        ("GET", "Leads/upsert"),
        ("PUT", "Leads/search"),
    ],
)
def test_wrong_methods(crm: Crm, method: str, path: str) -> None:
    r = crm.http.request(method, path)
    assert r.status_code == 405
    assert r.json() == {
        "code": "INVALID_REQUEST_METHOD",
        "details": {},
        "message": "The http request method type is not a valid one",
        "status": "error",
    }


def test_other_api_paths_answer_in_zohos_envelope(crm: Crm) -> None:
    other = crm.api_domain + "/crm/v2/Leads"
    assert crm.http.get(other).json()["code"] == "INVALID_URL_PATTERN"
    mars = crm.api_domain.replace("/us/api", "/mars/api") + "/crm/v8/org"
    assert crm.http.get(mars).status_code == 404
