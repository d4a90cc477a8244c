"""The session cookie is kept in one place: read on the way in, written only when it changed."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from zohoauth.web.session import SESSION_COOKIE

from ..support.web import Browser, LiveApp


def _session_cookies(resp: httpx.Response) -> list[str]:
    return [h for h in resp.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")]


def test_an_unchanged_session_is_not_written_back(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    assert _session_cookies(b.post("/api/auth/callback", json=b.callback_params("ava@zylker.com")))
    for resp in (b.get("/api/me"), b.get("/api/session"), b.get("/api/records/Leads")):
        assert resp.status_code == 200, resp.text
        assert _session_cookies(resp) == []
    visitor = browser()  # no session at all: nothing to write either
    assert _session_cookies(visitor.get("/api/session")) == []
    assert _session_cookies(visitor.get("/api/me")) == []


def test_a_failed_request_leaves_the_session_as_it_was(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    ava = b.login("ava@zylker.com")["me"]
    clara = b.login("clara@brightwave.eu")["me"]
    elsewhere = browser()
    elsewhere.login("ava@zylker.com")
    assert elsewhere.post("/api/auth/logout").status_code == 200  # Ava's connection is gone
    failed = b.post("/api/accounts/switch", json={"id": ava["id"]})
    assert failed.json()["error"] == "unknown_account"
    assert _session_cookies(failed) == []  # the route gave up: its cleaned session is not kept
    assert b.get("/api/me").json()["id"] == clara["id"]


def test_a_changed_session_is_re_signed_and_an_empty_one_deleted(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    ava = b.login("ava@zylker.com")["me"]
    clara = b.login("clara@brightwave.eu")["me"]
    switched = b.post("/api/accounts/switch", json={"id": ava["id"]})
    [cookie] = _session_cookies(switched)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "max-age=2592000" in cookie.lower()
    assert b.get("/api/me").json()["id"] == ava["id"]
    assert b.post("/api/auth/logout").json()["active"]["id"] == clara["id"]
    out = b.post("/api/auth/logout")
    [deleted] = _session_cookies(out)
    assert 'zohoauth_session=""' in deleted or "max-age=0" in deleted.lower()
    assert b.get("/api/me").status_code == 401
