"""Login with Zoho through the web app's HTTP API: state cookie, callback, session, accounts."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from zohoauth.web.session import LOGIN_COOKIE, SESSION_COOKIE

from ..support.web import Browser, LiveApp
from ..support.zoho import emulator_stats


def _set_cookie(resp: httpx.Response, name: str) -> str:
    found = [h for h in resp.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[-1]


def test_login_redirects_to_zohos_us_accounts_server_with_a_state_cookie(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    resp = b.get("/login")
    assert resp.status_code == 302
    target = urlsplit(resp.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        f"{live.emulator_url}/us/accounts/oauth/v2/auth"
    )
    query = parse_qs(target.query)
    assert query["client_id"] == [live.client.client_id]
    assert query["redirect_uri"] == [f"{live.url}/redirect.html"]
    assert query["code_challenge_method"] == ["S256"]
    state = query["state"][0]
    cookie = _set_cookie(resp, LOGIN_COOKIE)
    attrs = cookie.lower()
    assert "httponly" in attrs
    assert "path=/api/auth" in attrs
    assert "max-age=600" in attrs
    assert "samesite=lax" in attrs
    assert state not in cookie  # encrypted, not just signed: the PKCE verifier is in there
    assert resp.headers["cache-control"] == "no-store"


def test_callback_sets_a_session_cookie_that_names_only_the_connection(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    resp = b.post("/api/auth/callback", json=b.callback_params("clara@brightwave.eu"))
    assert resp.status_code == 200, resp.text
    me = resp.json()["me"]
    assert me["email"] == "clara@brightwave.eu"
    assert me["dc"] == "eu"
    assert me["org_name"] == "Brightwave GmbH"
    assert me["status"] == "active"
    cookie = _set_cookie(resp, SESSION_COOKIE)
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # http://127.0.0.1: Secure only under https
    assert "clara" not in cookie and "brightwave" not in cookie.lower()
    # The pending login is cleared: it is single use.
    assert 'zohoauth_login=""' in " ".join(resp.headers.get_list("set-cookie"))
    got = b.get("/api/me")
    assert got.status_code == 200
    assert got.json()["email"] == "clara@brightwave.eu"
    assert set(got.json()) >= {"email", "zuid", "org_id", "org_name", "dc", "accounts"}


def test_a_callback_can_not_be_replayed(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    params = b.callback_params("ava@zylker.com")
    pending = b.cookies.get(LOGIN_COOKIE, path="/api/auth")
    assert b.post("/api/auth/callback", json=params).status_code == 200
    again = b.post("/api/auth/callback", json=params)  # the cookie is gone now
    assert again.status_code == 400
    assert again.json()["error"] == "state_mismatch"
    # Even with the old pending cookie put back, the state was redeemed once already.
    replay = browser()
    assert pending is not None
    replay.cookies.set(LOGIN_COOKIE, pending, path="/api/auth")
    resp = replay.post("/api/auth/callback", json=params)
    assert resp.status_code == 400
    assert resp.json()["error"] == "state_mismatch"
    assert replay.get("/api/me").status_code == 401


def test_callback_checks_state_and_data_center(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    params = b.callback_params("ava@zylker.com")
    forged = b.post("/api/auth/callback", json={**params, "state": "forged"})
    assert forged.status_code == 400
    assert forged.json()["error"] == "state_mismatch"

    b2 = browser()
    params = b2.callback_params("ava@zylker.com")
    mixed = {**params, "accounts_server": "https://accounts.evil.example"}
    resp = b2.post("/api/auth/callback", json=mixed)
    assert resp.status_code == 400
    assert resp.json()["error"] == "mixup"

    nobody = browser()  # never visited /login: no pending cookie
    resp = nobody.post("/api/auth/callback", json=params)
    assert resp.status_code == 400
    assert resp.json()["error"] == "state_mismatch"
    assert "start the login again" in resp.json()["message"]


def test_reject_at_zoho_is_answered_with_a_clear_message(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    params = b.callback_params("ava@zylker.com", decision="reject")
    assert params["error"] == "access_denied"
    resp = b.post("/api/auth/callback", json=params)
    assert resp.status_code == 400
    assert resp.json()["error"] == "access_denied"
    assert "declined" in resp.json()["message"]
    assert b.get("/api/me").status_code == 401


def test_one_browser_holds_several_accounts_and_switches_between_them(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    ava = b.login("ava@zylker.com")["me"]
    clara = b.login("clara@brightwave.eu")["me"]
    me = b.get("/api/me").json()
    assert me["id"] == clara["id"]
    assert [a["email"] for a in me["accounts"]] == ["ava@zylker.com"]

    switched = b.post("/api/accounts/switch", json={"id": ava["id"]})
    assert switched.status_code == 200
    assert switched.json()["email"] == "ava@zylker.com"
    leads = b.get("/api/records/Leads", params={"fields": "Last_Name"}).json()["data"]
    assert leads  # Ava's org has seeded leads

    # Ava's second org, through X-CRM-ORG (Zoho checks she belongs to it).
    labs = b.post("/api/accounts/connect-org", json={"org_id": "80000002"})
    assert labs.status_code == 200, labs.text
    assert labs.json()["org_name"] == "Zylker Labs"
    refused = b.post("/api/accounts/connect-org", json={"org_id": "80000003"})
    assert refused.status_code == 404
    assert refused.json()["error"] == "unknown_org"
    assert len(b.get("/api/me").json()["accounts"]) == 2


def test_switching_only_reaches_this_browsers_own_accounts(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    a, b = browser(), browser()
    ava = a.login("ava@zylker.com")["me"]
    b.login("clara@brightwave.eu")
    resp = b.post("/api/accounts/switch", json={"id": ava["id"]})
    assert resp.status_code == 404
    assert resp.json()["error"] == "unknown_account"
    assert b.get("/api/me").json()["email"] == "clara@brightwave.eu"


def test_logout_ends_the_session_and_forgets_the_tokens(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    stolen = b.cookies.get(SESSION_COOKIE)
    resp = b.post("/api/auth/logout", json={"revoke": False})
    assert resp.status_code == 200
    assert resp.json()["revoked"] is False
    assert resp.json()["active"] is None
    assert b.get("/api/me").status_code == 401
    # A copy of the old cookie is worth nothing: the connection is gone from the store.
    thief = browser()
    assert stolen is not None
    thief.cookies.set(SESSION_COOKIE, stolen)
    assert thief.get("/api/records/Leads").json()["error"] == "not_logged_in"
    assert emulator_stats(admin.base_url)["token_requests"]["revoke"] == 0


def test_logout_with_revoke_revokes_at_zoho_and_switches_to_the_next_account(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b = browser()
    b.login("clara@brightwave.eu")
    b.login("dev@sunrise.in")
    resp = b.post("/api/auth/logout", json={"revoke": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["revoked"] is True
    assert resp.json()["message"] == "logged out; access was revoked at Zoho"
    assert resp.json()["active"]["email"] == "clara@brightwave.eu"
    assert emulator_stats(admin.base_url)["token_requests"]["revoke"] == 1
    assert b.get("/api/me").json()["email"] == "clara@brightwave.eu"
    assert b.post("/api/auth/logout").status_code == 200  # no body: revoke defaults to false
    assert b.get("/api/me").status_code == 401
    assert b.post("/api/auth/logout").json()["error"] == "not_logged_in"


def test_logout_with_revoke_while_zoho_is_down_ends_the_session_but_keeps_the_grant(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b, elsewhere = browser(), browser()
    b.login("ava@zylker.com")
    elsewhere.login("ava@zylker.com")  # the same user in another browser
    admin.post("/_emulator/faults", json={"target": "accounts", "outage": True})
    resp = b.post("/api/auth/logout", json={"revoke": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["revoked"] is False
    assert resp.json()["active"] is None
    assert "could not be reached" in resp.json()["message"]
    assert "Connected Apps" in resp.json()["message"]
    assert b.get("/api/me").status_code == 401
    # Still on record (the grant may be live at Zoho), and no longer used: Reconnect.
    me = elsewhere.get("/api/me").json()
    assert (me["status"], me["needs_reconnect"]) == ("revoke_pending", True)
    assert elsewhere.get("/api/records/Leads").json()["error"] == "reauth_required"
    admin.post("/_emulator/faults", json={"target": "accounts"})
    assert elsewhere.login("ava@zylker.com")["me"]["status"] == "active"


def test_logout_with_revoke_of_a_grant_zoho_already_ended_forgets_it(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b, elsewhere = browser(), browser()
    b.login("clara@brightwave.eu")
    elsewhere.login("clara@brightwave.eu")
    admin.post("/_emulator/revoke-user", json={"email": "clara@brightwave.eu"})
    resp = b.post("/api/auth/logout", json={"revoke": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["revoked"] is True
    assert resp.json()["message"] == "logged out; Zoho had already ended this app's access"
    assert elsewhere.get("/api/me").status_code == 401  # deleted here too


def test_a_revoked_grant_asks_for_reconnect_and_reconnecting_keeps_the_connection(
    live: LiveApp, browser: Callable[[], Browser], admin: httpx.Client
) -> None:
    b = browser()
    first = b.login("ava@zylker.com")["me"]
    assert b.get("/api/records/Leads").status_code == 200
    admin.post("/_emulator/revoke-user", json={"email": "ava@zylker.com"}).raise_for_status()
    resp = b.get("/api/records/Leads")
    assert resp.status_code == 401
    assert resp.json()["error"] == "reauth_required"
    me = b.get("/api/me").json()
    assert me["needs_reconnect"] is True
    assert me["status"] == "reauth_required"
    again = b.login("ava@zylker.com")["me"]
    assert again["id"] == first["id"]
    assert again["needs_reconnect"] is False
    assert b.get("/api/records/Leads").status_code == 200


def test_connecting_an_org_already_connected_is_refused_with_a_plain_409(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    me = b.login("ava@zylker.com")["me"]
    again = b.post("/api/accounts/connect-org", json={"org_id": me["org_id"]})
    assert again.status_code == 409
    assert again.json()["error"] == "already_connected"
    assert "ava@zylker.com" in again.json()["message"]
    other = "80000002" if me["org_id"] == "80000001" else "80000001"
    assert b.post("/api/accounts/connect-org", json={"org_id": other}).status_code == 200
    # The first org is now one of the other accounts: still "already connected".
    assert b.post("/api/accounts/connect-org", json={"org_id": me["org_id"]}).status_code == 409
    assert len(b.get("/api/me").json()["accounts"]) == 1


def test_logout_names_who_left_and_all_logs_out_every_account(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    b.login("clara@brightwave.eu")
    b.login("dev@sunrise.in")
    b.login("ava@zylker.com")
    one = b.post("/api/auth/logout", json={"revoke": False}).json()
    assert [a["email"] for a in one["logged_out"]] == ["ava@zylker.com"]
    assert one["active"]["email"] == "dev@sunrise.in"
    everyone = b.post("/api/auth/logout", json={"all": True}).json()
    assert sorted(a["email"] for a in everyone["logged_out"]) == [
        "clara@brightwave.eu",
        "dev@sunrise.in",
    ]
    assert everyone["active"] is None
    assert b.get("/api/me").status_code == 401


def test_login_passes_an_email_hint_to_zohos_sign_in_and_refuses_a_malformed_one(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    resp = b.get("/login", params={"login_hint": "ava@zylker.com"})
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["login_hint"] == ["ava@zylker.com"]
    page = httpx.get(resp.headers["location"])  # the emulator's sign-in, email filled in
    assert 'value="ava@zylker.com"' in page.text
    assert "login_hint" not in parse_qs(urlsplit(b.get("/login").headers["location"]).query)
    bad = b.get("/login", params={"login_hint": "not an email"})
    assert bad.status_code == 422
