"""CRM authentication over HTTP: the header, token life, DC binding, scopes, orgs, isolation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from .conftest import Crm

INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}


def test_zoho_oauthtoken_header_works_and_answers_zoho_json(crm: Crm) -> None:
    r = crm.http.get("users", params={"type": "CurrentUser"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert r.json()["users"][0]["email"] == "ava@zylker.com"


def test_bearer_header_is_an_invalid_token(crm: Crm) -> None:
    r = httpx.get(crm.base + "org", headers={"Authorization": f"Bearer {crm.access_token}"})
    assert r.status_code == 401
    assert r.json() == INVALID_TOKEN


def test_bearer_header_accepted_when_configured(crm: Crm, admin: httpx.Client) -> None:
    admin.post("/_emulator/config", json={"accept_bearer": True}).raise_for_status()
    r = httpx.get(crm.base + "org", headers={"Authorization": f"Bearer {crm.access_token}"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "header", ["Zoho-oauthtoken 1000.nope.nope", "Zoho-oauthtoken", "Basic abc", "garbage"]
)
def test_unknown_or_malformed_tokens_are_invalid(crm: Crm, header: str) -> None:
    r = httpx.get(
        crm.base + "Leads", params={"fields": "Last_Name"}, headers={"Authorization": header}
    )
    assert r.status_code == 401
    assert r.json() == INVALID_TOKEN


def test_missing_header_is_an_authentication_failure(crm: Crm) -> None:
    r = httpx.get(crm.base + "org")
    assert r.status_code == 401
    assert r.json()["code"] == "AUTHENTICATION_FAILURE"


def test_expired_token_is_invalid(crm: Crm, admin: httpx.Client) -> None:
    assert crm.http.get("org").status_code == 200
    admin.post("/_emulator/clock", json={"advance_seconds": 3601}).raise_for_status()
    r = crm.http.get("org")
    assert r.status_code == 401
    assert r.json() == INVALID_TOKEN


def test_token_of_a_user_who_removed_the_app_is_invalid(crm: Crm, admin: httpx.Client) -> None:
    admin.post("/_emulator/revoke-user", json={"email": "ava@zylker.com"}).raise_for_status()
    assert crm.http.get("org").json() == INVALID_TOKEN


def test_token_works_only_in_its_own_dc(crm_for: Callable[..., Crm]) -> None:
    eu = crm_for("clara@brightwave.eu")
    assert eu.dc == "eu"
    assert eu.http.get("org").json()["org"][0]["company_name"] == "Brightwave GmbH"
    us_base = eu.base.replace("/eu/api/", "/us/api/")
    r = httpx.get(us_base + "org", headers={"Authorization": f"Zoho-oauthtoken {eu.access_token}"})
    assert r.status_code == 401
    assert r.json() == INVALID_TOKEN


@pytest.mark.parametrize(
    ("scope", "method", "path", "params"),
    [
        ("ZohoCRM.org.READ", "GET", "users", {"type": "CurrentUser"}),
        ("ZohoCRM.users.READ", "GET", "org", {}),
        ("ZohoCRM.users.READ", "GET", "Leads", {"fields": "Last_Name"}),
        ("ZohoCRM.modules.Contacts.READ", "GET", "Leads", {"fields": "Last_Name"}),
        ("ZohoCRM.modules.Leads.READ", "POST", "Leads", {}),
        ("ZohoCRM.modules.Leads.CREATE", "DELETE", "Leads", {"ids": "1"}),
        ("ZohoCRM.modules.Leads.CREATE", "POST", "Leads/upsert", {}),
        ("ZohoCRM.modules.ALL", "GET", "settings/modules", {}),
        ("ZohoCRM.settings.modules.READ", "GET", "settings/fields", {"module": "Leads"}),
        ("ZohoCRM.modules.ALL", "GET", "users", {}),
    ],
)
def test_scope_mismatch(
    crm_for: Callable[..., Crm], scope: str, method: str, path: str, params: dict[str, str]
) -> None:
    session = crm_for(scope=scope)
    r = session.http.request(method, path, params=params, json={"data": [{"Last_Name": "X"}]})
    assert r.status_code == 401
    assert r.json() == {
        "code": "OAUTH_SCOPE_MISMATCH",
        "details": {},
        "message": "invalid oauth scope to access this URL",
        "status": "error",
    }


@pytest.mark.parametrize(
    ("scope", "method", "path", "params", "status"),
    [
        ("ZohoCRM.users.ALL", "GET", "users", {"type": "CurrentUser"}, 200),
        ("ZohoCRM.org.ALL", "GET", "org", {}, 200),
        ("ZohoCRM.modules.leads.READ", "GET", "Leads", {"fields": "Last_Name"}, 200),
        ("ZohoCRM.modules.Leads.READ", "GET", "Leads/search", {"word": "a"}, 200),
        ("ZohoCRM.modules.Leads.CREATE", "POST", "Leads", {}, 201),
        ("ZohoCRM.modules.Leads.WRITE", "POST", "Leads", {}, 201),
        (
            "ZohoCRM.modules.Leads.CREATE,ZohoCRM.modules.Leads.UPDATE",
            "POST",
            "Leads/upsert",
            {},
            201,
        ),
        ("ZohoCRM.modules.Leads.DELETE", "DELETE", "Leads", {"ids": "1"}, 400),
        ("ZohoCRM.settings.modules.READ", "GET", "settings/modules", {}, 200),
        ("ZohoCRM.settings.fields.READ", "GET", "settings/fields", {"module": "Deals"}, 200),
    ],
)
def test_narrow_scopes_are_enough(
    crm_for: Callable[..., Crm],
    scope: str,
    method: str,
    path: str,
    params: dict[str, str],
    status: int,
) -> None:
    session = crm_for(scope=scope)
    body = {"data": [{"Last_Name": "Scoped", "Email": "scoped@example.com"}]}
    r = session.http.request(method, path, params=params, json=body)
    assert r.status_code == status, r.text


def test_two_org_user_defaults_to_first_org_and_selects_with_x_crm_org(
    crm_for: Callable[..., Crm],
) -> None:
    default = crm_for("ava@zylker.com")
    assert default.http.get("org").json()["org"][0]["zgid"] == "80000001"
    labs = crm_for("ava@zylker.com", org="80000002")
    org = labs.http.get("org").json()["org"][0]
    assert (org["zgid"], org["company_name"]) == ("80000002", "Zylker Labs")
    me_there = labs.http.get("users", params={"type": "CurrentUser"}).json()["users"][0]
    me_here = default.http.get("users", params={"type": "CurrentUser"}).json()["users"][0]
    assert me_there["email"] == me_here["email"] == "ava@zylker.com"
    assert me_there["id"] != me_here["id"]  # one CRM user record per org
    ids_here = {
        r["id"] for r in default.http.get("Leads", params={"fields": "Last_Name"}).json()["data"]
    }
    ids_there = {
        r["id"] for r in labs.http.get("Leads", params={"fields": "Last_Name"}).json()["data"]
    }
    assert ids_here.isdisjoint(ids_there)


def test_x_crm_org_of_another_users_org_is_refused(crm_for: Callable[..., Crm]) -> None:
    ben = crm_for("ben@zylker.com", org="80000002")  # Ben is only in Zylker Inc.
    r = ben.http.get("org")
    assert r.status_code == 401
    assert r.json()["code"] == "AUTHENTICATION_FAILURE"
    assert crm_for("ben@zylker.com", org="not-a-zgid").http.get("org").status_code == 401


def test_a_token_never_sees_another_orgs_records(crm_for: Callable[..., Crm]) -> None:
    inc = crm_for("ben@zylker.com")
    labs = crm_for("ava@zylker.com", org="80000002")
    theirs = labs.http.get("Leads", params={"fields": "Last_Name", "per_page": 5}).json()["data"]
    foreign = theirs[0]["id"]
    assert inc.http.get(f"Leads/{foreign}").status_code == 400
    listed = inc.http.get("Leads", params={"fields": "Last_Name", "ids": foreign})
    assert listed.status_code == 204
    assert inc.http.put(f"Leads/{foreign}", json={"data": [{"Last_Name": "X"}]}).status_code == 400
    bulk = inc.http.put("Leads", json={"data": [{"id": foreign, "Last_Name": "X"}]})
    assert bulk.json()["data"][0]["code"] == "INVALID_DATA"
    assert inc.http.delete("Leads", params={"ids": foreign}).status_code == 400
    assert labs.http.get(f"Leads/{foreign}").json()["data"][0]["Last_Name"] != "X"
    found = inc.http.get("Leads/search", params={"criteria": f"(id:equals:{foreign})"})
    assert found.status_code == 204


def test_every_crm_request_is_counted(crm: Crm, admin: httpx.Client) -> None:
    before = admin.get("/_emulator/stats").json()["api_requests"]
    crm.http.get("org")
    crm.http.get("nope/nope/nope/nope")
    httpx.get(crm.base + "org")
    assert admin.get("/_emulator/stats").json()["api_requests"] == before + 3
