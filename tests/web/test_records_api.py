"""Records through the web app: Zoho's shapes, and one session never reaching another's data."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from zohoauth.web.session import SESSION_COOKIE, CookieCodec, Session

from ..support.web import Browser, LiveApp


def _create(b: Browser, last_name: str, **fields: Any) -> str:
    resp = b.post("/api/records/Leads", json={"data": [{"Last_Name": last_name, **fields}]})
    assert resp.status_code == 201, resp.text
    [result] = resp.json()["data"]
    assert result["code"] == "SUCCESS"
    assert set(result) >= {"code", "status", "message", "details"}
    rid: str = result["details"]["id"]
    return rid


def _names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [r.get("Last_Name") for r in resp.json()["data"]]


def test_records_answer_in_zohos_own_shape(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    b.login("ava@zylker.com")
    page = b.get("/api/records/Leads", params={"fields": "Last_Name,Email", "per_page": 5})
    body = page.json()
    assert set(body) == {"data", "info"}
    assert len(body["data"]) == 5
    assert set(body["data"][0]) == {"id", "Last_Name", "Email"}
    assert body["info"]["more_records"] is True
    token = body["info"]["next_page_token"]
    params = {"fields": "Last_Name,Email", "per_page": 5, "page_token": token}
    nxt = b.get("/api/records/Leads", params=params).json()
    assert {r["id"] for r in nxt["data"]}.isdisjoint({r["id"] for r in body["data"]})
    # Default columns when no fields are named; the module list and its fields.
    assert "Company" in b.get("/api/records/Leads").json()["data"][0]
    listed = b.get("/api/modules").json()
    modules = listed["modules"]
    assert [m["api_name"] for m in modules] == ["Leads", "Contacts", "Deals", "Accounts"]
    assert modules[0]["singular_label"] == "Lead" and modules[0]["plural_label"] == "Leads"
    # What the UI draws its tabs and tables from: each module's columns and naming fields.
    assert listed["default_fields"]["Deals"][0] == "Deal_Name"
    assert listed["name_fields"] == {
        "Leads": ["First_Name", "Last_Name"],
        "Contacts": ["First_Name", "Last_Name"],
        "Deals": ["Deal_Name"],
        "Accounts": ["Account_Name"],
    }
    fields = b.get("/api/modules/Deals/fields").json()["fields"]
    required = {f["api_name"] for f in fields if f["system_mandatory"]}
    assert required == {"Deal_Name", "Stage"}


def test_create_edit_search_delete_a_lead(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    b.login("clara@brightwave.eu")
    name = f"Lovelace{secrets.token_hex(3)}"
    rid = _create(b, name, Company="Engines Ltd", Email=f"{name.lower()}@example.com")
    got = b.get(f"/api/records/Leads/{rid}").json()["data"][0]
    assert got["Company"] == "Engines Ltd"

    upd = b.put(f"/api/records/Leads/{rid}", json={"data": [{"Company": "Analytical", "id": "1"}]})
    assert upd.status_code == 200, upd.text
    assert upd.json()["data"][0]["details"]["id"] == rid  # the path's id, not the body's
    assert b.get(f"/api/records/Leads/{rid}").json()["data"][0]["Company"] == "Analytical"

    assert _names(b.get("/api/records/Leads/search", params={"word": name})) == [name]
    found = b.get("/api/records/Leads/search", params={"email": f"{name.lower()}@example.com"})
    assert _names(found) == [name]

    gone = b.delete(f"/api/records/Leads/{rid}")
    assert gone.status_code == 200
    assert gone.json()["data"][0]["code"] == "SUCCESS"
    assert b.get(f"/api/records/Leads/{rid}").json()["error"] == "not_found"
    assert b.delete(f"/api/records/Leads/{rid}").json()["error"] == "not_found"


def test_zoho_refusals_are_422_with_zohos_results(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    resp = b.post("/api/records/Leads", json={"data": [{"Company": "No name"}]})
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "invalid_data"
    assert "Last_Name" in body["message"]
    assert body["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    mixed = b.post("/api/records/Leads", json={"data": [{"Last_Name": "Ok"}, {"Company": "x"}]})
    assert mixed.status_code == 207
    assert [r["status"] for r in mixed.json()["data"]] == ["success", "error"]
    bad = b.get("/api/records/Leads/search", params={"criteria": "((("})
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_data"


def test_two_users_never_reach_each_others_records(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    """Whatever ids, parameters or headers a session sends, it acts as its own connection."""
    alice, eve = browser(), browser()
    ava = alice.login("ava@zylker.com")["me"]
    eve.login("clara@brightwave.eu")
    secret_name = f"Secret{secrets.token_hex(4)}"
    rid = _create(alice, secret_name)

    # Eve knows the id: reading, changing or deleting it finds nothing in her own org.
    assert eve.get(f"/api/records/Leads/{rid}").status_code == 404
    edit = eve.put(f"/api/records/Leads/{rid}", json={"data": [{"Last_Name": "pwned"}]})
    assert edit.status_code == 404
    assert eve.delete(f"/api/records/Leads/{rid}").status_code == 404
    # Parameters and headers naming Ava's connection or org change nothing.
    sneaky: dict[str, Any] = {
        "params": {"connection_id": ava["id"], "org_id": ava["org_id"], "dc": "us"},
        "headers": {"X-CRM-ORG": ava["org_id"], "X-Connection-Id": ava["id"]},
    }
    assert eve.get(f"/api/records/Leads/{rid}", **sneaky).status_code == 404
    assert secret_name not in _names(eve.get("/api/records/Leads", **sneaky))
    assert _names(eve.get("/api/records/Leads/search", params={"word": secret_name})) == []
    assert eve.get("/api/me", **sneaky).json()["email"] == "clara@brightwave.eu"
    # A session cookie naming Ava's connection but signed with another key is no session.
    forged = CookieCodec(secrets.token_urlsafe(32)).dump_session(Session((ava["id"],), ava["id"]))
    intruder = browser()
    intruder.cookies.set(SESSION_COOKIE, forged)
    assert intruder.get(f"/api/records/Leads/{rid}").json()["error"] == "not_logged_in"
    # Ava's record is untouched.
    assert alice.get(f"/api/records/Leads/{rid}").json()["data"][0]["Last_Name"] == secret_name


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/records/Leads"),
        ("PUT", "/api/records/Leads/1"),
        ("DELETE", "/api/records/Leads/1"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/accounts/switch"),
        ("POST", "/api/auth/callback"),
    ],
)
def test_state_changing_calls_need_the_csrf_proof(
    live: LiveApp, browser: Callable[[], Browser], method: str, path: str
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    body = {"data": [{"Last_Name": "x"}]}
    forged_token = "abc.def"
    attempts = [
        b.without_csrf(method, path, json=body),
        b.without_csrf(method, path, json=body, headers={"X-CSRF-Token": "wrong"}),
        b.request(method, path, json=body, headers={"Origin": "https://evil.example"}),
        b.request(method, path, json=body, headers={"Sec-Fetch-Site": "cross-site"}),
    ]
    planted = browser()  # a cookie the attacker planted and repeats: not one we signed
    planted.cookies.set("zohoauth_csrf", forged_token)
    planted.cookies.set(SESSION_COOKIE, b.cookies[SESSION_COOKIE])
    repeated = {"X-CSRF-Token": forged_token}
    attempts.append(planted.without_csrf(method, path, json=body, headers=repeated))
    for resp in attempts:
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"] == "csrf"
    assert b.get("/api/me").json()["email"] == "ava@zylker.com"  # nothing happened
    # Same-origin requests with the proof pass the check (whatever they then answer).
    ok = b.request(method, path, json=body, headers={"Origin": live.url})
    assert ok.status_code != 403


def test_documented_errors(live: LiveApp, browser: Callable[[], Browser]) -> None:
    anon = browser()
    for path in ("/api/me", "/api/records/Leads", "/api/modules"):
        resp = anon.get(path)
        assert resp.status_code == 401
        assert resp.json()["error"] == "not_logged_in"
    assert anon.post("/api/records/Leads", json={"data": [{}]}).json()["error"] == "not_logged_in"

    b = browser()
    b.login("ava@zylker.com")
    bad = "invalid_request"
    expect: list[tuple[httpx.Response, int, str]] = [
        (b.get("/api/records/Nope"), 404, "unknown_module"),
        (b.get("/api/records/..%2Fsettings"), 404, "unknown_module"),
        (b.post("/api/records/Users", json={"data": [{}]}), 404, "unknown_module"),
        (b.put("/api/records/Nope/1", json={"data": [{}]}), 404, "unknown_module"),
        (b.delete("/api/records/Nope/1"), 404, "unknown_module"),
        (b.get("/api/modules/Nope/fields"), 404, "unknown_module"),
        (b.get("/api/records/Leads/12a"), 404, "not_found"),
        (b.put("/api/records/Leads/-1", json={"data": [{}]}), 404, "not_found"),
        (b.delete("/api/records/Leads/1%3Fx%3D1"), 404, "not_found"),
        (b.delete("/api/records/Leads/99999999999"), 404, "not_found"),
        (b.post("/api/records/Leads", content=b"{nope", headers=_json), 400, "bad_json"),
        (b.post("/api/records/Leads", json={"data": {"Last_Name": "x"}}), 422, "invalid_request"),
        (b.post("/api/records/Leads", json={"data": []}), 422, "invalid_request"),
        (b.post("/api/records/Leads", json=[1, 2]), 422, "invalid_request"),
        (b.put("/api/records/Leads/1", json={"data": [{}, {}]}), 422, "invalid_request"),
        (b.get("/api/records/Leads", params={"per_page": 0}), 422, "invalid_request"),
        (b.get("/api/records/Leads", params={"fields": "a b"}), 422, "invalid_request"),
        (b.get("/api/records/Leads", params={"page": 1, "page_token": "x"}), 422, bad),
        (b.get("/api/records/Leads/search"), 422, "invalid_request"),
        (b.get("/api/records/Leads/search", params={"word": "a", "email": "b"}), 422, bad),
        (b.post("/api/records/Leads", json={"data": [{"x": "y" * 1_100_000}]}), 413, "too_large"),
        (b.get("/api/nothing-here"), 404, "not_found"),
        (b.delete("/api/me"), 405, "method_not_allowed"),
    ]
    for resp, status, code in expect:
        assert (resp.status_code, resp.json()["error"]) == (status, code), resp.request.url
        assert resp.json()["message"]


_json = {"Content-Type": "application/json"}


def test_a_streamed_body_over_the_limit_is_413(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    b.login("ava@zylker.com")

    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 65536

    resp = b.post("/api/records/Leads", content=chunks(), headers=_json)
    assert resp.status_code == 413
    assert resp.json()["error"] == "too_large"


def test_zoho_outages_are_503_and_say_to_retry(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    admin.post("/_emulator/faults", json={"target": "api", "dc": "us", "outage": True})
    resp = b.get("/api/records/Leads")
    assert resp.status_code in (502, 503)
    assert resp.json()["error"] in ("zoho_unavailable", "zoho_error")
    assert "again" in resp.json()["message"]
    admin.post("/_emulator/faults", json={"target": "api", "dc": "us"})
    assert b.get("/api/records/Leads").status_code == 200
