"""Pagination past 2,000 records over HTTP: page/per_page, then page_token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from .conftest import Crm

EXTRA = 2100  # records added to Zylker Inc.'s 30 seeded Leads


@pytest.fixture
def many(crm: Crm) -> Crm:
    """Ava's org with 2,130 Leads, created through the API in batches of 100."""
    for start in range(0, EXTRA, 100):
        batch = [{"Last_Name": f"Bulk {n:04d}"} for n in range(start, start + 100)]
        assert crm.http.post("Leads", json={"data": batch}).status_code == 201
    return crm


def _page(crm: Crm, **params: Any) -> dict[str, Any]:
    r = crm.http.get("Leads", params={"fields": "Last_Name", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_page_reaches_2000_then_page_token_goes_on(many: Crm) -> None:
    total = many.http.get("Leads/actions/count").json()["count"]
    assert total == EXTRA + 30
    seen: list[str] = []
    body: dict[str, Any] = {}
    for page in range(1, 11):
        body = _page(many, page=page, per_page=200)
        assert body["info"]["page"] == page
        seen += [r["id"] for r in body["data"]]
    assert body["info"]["more_records"] is True
    beyond = many.http.get("Leads", params={"fields": "Last_Name", "page": 11, "per_page": 200})
    assert beyond.status_code == 400
    assert beyond.json() == {
        "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "details": {"limit": 2000},
        "message": "You can only get the first 2000 records without using page_token param.",
        "status": "error",
    }
    rest = _page(many, page_token=body["info"]["next_page_token"], per_page=200)
    assert rest["info"]["page"] == 11
    assert rest["info"]["more_records"] is False
    assert rest["info"]["next_page_token"] is None
    seen += [r["id"] for r in rest["data"]]
    assert len(seen) == len(set(seen)) == total
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)


def test_walking_only_by_tokens_visits_every_record_once(many: Crm) -> None:
    seen: list[str] = []
    body = _page(many, sort_by="Created_Time", sort_order="asc")
    pages = 1
    while True:
        seen += [r["id"] for r in body["data"]]
        token = body["info"]["next_page_token"]
        if not body["info"]["more_records"]:
            break
        body = _page(many, sort_by="Created_Time", sort_order="asc", page_token=token)
        pages += 1
    assert pages == 11
    assert len(seen) == len(set(seen)) == EXTRA + 30


def test_previous_page_token_goes_back(many: Crm) -> None:
    first = _page(many, per_page=50)
    second = _page(many, per_page=50, page_token=first["info"]["next_page_token"])
    third = _page(many, per_page=50, page_token=second["info"]["next_page_token"])
    back = _page(many, per_page=50, page_token=third["info"]["previous_page_token"])
    assert back["data"] == second["data"]
    assert back["info"]["page"] == 2
    start = _page(many, per_page=50, page_token=second["info"]["previous_page_token"])
    assert start["data"] == first["data"]


def test_tokens_survive_new_records(crm: Crm) -> None:
    first = _page(crm, per_page=5)
    crm.http.post("Leads", json={"data": [{"Last_Name": "Newest"}]})
    second = _page(crm, per_page=5, page_token=first["info"]["next_page_token"])
    assert int(second["data"][0]["id"]) < int(first["data"][-1]["id"])


def test_page_tokens_are_bound_to_the_request(crm: Crm, crm_for: Callable[..., Crm]) -> None:
    token = _page(crm, per_page=5)["info"]["next_page_token"]
    for params in (
        {"per_page": 6},
        {"per_page": 5, "sort_order": "asc"},
        {"per_page": 5, "fields": "Email"},
    ):
        r = crm.http.get("Leads", params={"fields": "Last_Name", **params, "page_token": token})
        assert r.status_code == 400
        assert r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    r = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 5, "page_token": tampered})
    assert r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    other_org = crm_for("ava@zylker.com", org="80000002")
    r = other_org.http.get(
        "Leads", params={"fields": "Last_Name", "per_page": 5, "page_token": token}
    )
    assert r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    r = crm.http.get("Contacts", params={"fields": "Last_Name", "per_page": 5, "page_token": token})
    assert r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"


def test_page_tokens_expire_after_a_day(
    crm: Crm, crm_for: Callable[..., Crm], admin: httpx.Client
) -> None:
    body = _page(crm, per_page=5)
    assert datetime.fromisoformat(body["info"]["page_token_expiry"]).tzinfo is not None
    admin.post("/_emulator/clock", json={"advance_seconds": 24 * 3600 + 1})
    fresh = crm_for()  # the old access token expired too
    r = fresh.http.get(
        "Leads",
        params={
            "fields": "Last_Name",
            "per_page": 5,
            "page_token": body["info"]["next_page_token"],
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == "EXPIRED_VALUE"
    assert r.json()["details"] == {"param_name": "page_token"}
