"""The `users` and `org` endpoints over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Crm


def test_current_user_is_the_tokens_user(crm: Crm) -> None:
    r = crm.http.get("users", params={"type": "CurrentUser"})
    body = r.json()
    (me,) = body["users"]
    assert me["email"] == "ava@zylker.com"
    assert me["full_name"] == "Ava Chen"
    assert me["zuid"] == "90000001"
    assert me["status"] == "active"
    assert me["confirm"] is True
    assert set(me["role"]) == set(me["profile"]) == {"name", "id"}
    assert "created_time" in me
    assert "Modified_Time" in me  # Zoho's mixed case (docs/zoho-reference.md §6.1)
    assert body["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}


def test_user_types(crm: Crm) -> None:
    everyone = crm.http.get("users", params={"type": "AllUsers"}).json()["users"]
    assert {u["email"] for u in everyone} == {"ava@zylker.com", "ben@zylker.com"}
    admins = crm.http.get("users", params={"type": "AdminUsers"}).json()["users"]
    assert [u["email"] for u in admins] == ["ava@zylker.com"]
    assert crm.http.get("users").json()["info"]["count"] == 2
    for kind in ("DeactiveUsers", "NotConfirmedUsers", "DeletedUsers"):
        r = crm.http.get("users", params={"type": kind})
        assert r.status_code == 204
        assert r.content == b""
    assert crm.http.get("users", params={"type": "Everybody"}).status_code == 400
    one = crm.http.get("users", params={"per_page": 1, "page": 2}).json()
    assert one["info"] == {"per_page": 1, "count": 1, "page": 2, "more_records": False}


def test_user_by_id(crm: Crm) -> None:
    me = crm.http.get("users", params={"type": "CurrentUser"}).json()["users"][0]
    assert crm.http.get(f"users/{me['id']}").json()["users"][0]["email"] == me["email"]
    assert crm.http.get("users/123").status_code == 204


def test_org_has_the_keys_clients_read(crm: Crm) -> None:
    body = crm.http.get("org").json()
    (org,) = body["org"]
    assert org["zgid"] == "80000001"
    assert org["company_name"] == "Zylker Inc."
    assert org["domain_name"] == "org80000001"
    assert org["primary_email"] == "ava@zylker.com"
    assert org["primary_zuid"] == "90000001"
    assert org["id"] != org["zgid"]
    for key in ("time_zone", "country_code", "iso_code", "currency", "currency_symbol"):
        assert isinstance(org[key], str)
    assert org["type"] == "Production"
    assert org["max_per_page"] == 200
    assert set(org["license_details"]) >= {"paid", "paid_type", "users_license_purchased"}


@pytest.mark.parametrize(
    ("email", "company"),
    [
        ("dev@sunrise.in", "Sunrise Traders"),
        ("omar@oasis.sa", "Oasis Holdings"),
        ("li@dragongate.cn", "Dragon Gate Trading"),
        ("isla@thamesledger.co.uk", "Thames Ledger Ltd"),
    ],
)
def test_org_in_other_dcs(crm_for: Callable[..., Crm], email: str, company: str) -> None:
    crm = crm_for(email)
    assert crm.http.get("org").json()["org"][0]["company_name"] == company
    leads = crm.http.get("Leads", params={"fields": "Last_Name", "per_page": 5}).json()
    assert len(leads["data"]) == 5  # each DC's org has records of its own


def test_the_uk_org_is_british(crm_for: Callable[..., Crm]) -> None:
    crm = crm_for("isla@thamesledger.co.uk")
    (org,) = crm.http.get("org").json()["org"]
    assert (org["country_code"], org["iso_code"], org["currency_symbol"]) == ("GB", "GBP", "£")
    assert org["time_zone"] == "Europe/London"
    (me,) = crm.http.get("users", params={"type": "CurrentUser"}).json()["users"]
    assert (me["zuid"], me["locale"]) == ("90000010", "en_GB")
    assert crm.api_domain.endswith("/uk/api")
