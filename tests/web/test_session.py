"""The session cookie is kept in one place: read on the way in, written only when it changed;
every cookie is bound to its browser, and named `__Host-…` over https."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from zohoauth.web.session import LOGIN_COOKIE, SESSION_COOKIE, CookieCodec

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
    binding = CookieCodec(live.session_secret).load_session(b.cookies[SESSION_COOKIE]).binding
    out = b.post("/api/auth/logout")
    [emptied] = _session_cookies(out)  # kept: it holds the browser's binding id
    value = emptied.split(";")[0].split("=", 1)[1]
    left = CookieCodec(live.session_secret).load_session(value)
    assert left.ids == () and left.active is None and left.binding == binding
    assert b.get("/api/me").status_code == 401


def test_every_browser_gets_a_binding_id_on_its_first_request(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    codec = CookieCodec(live.session_secret)
    first, second = browser(), browser()  # each has visited / once
    bindings = [codec.load_session(b.cookies[SESSION_COOKIE]).binding for b in (first, second)]
    assert all(len(b) >= 16 for b in bindings) and bindings[0] != bindings[1]
    assert _session_cookies(first.get("/")) == []  # kept, not re-minted
    assert codec.load_session(first.cookies[SESSION_COOKIE]).binding == bindings[0]


def test_a_pending_login_minted_in_one_browser_is_refused_in_another(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    """Login CSRF by cookie tossing: the attacker starts a login in their own browser, consents
    with their own Zoho account, plants their pending-login cookie in the victim's browser and
    sends it to redirect.html with their code and state. The victim must not end up logged in
    as the attacker."""
    attacker = browser()
    params = attacker.callback_params("ava@zylker.com")
    pending = attacker.cookies.get(LOGIN_COOKIE, path="/api/auth")
    assert pending is not None
    victim = browser()
    victim.cookies.set(LOGIN_COOKIE, pending, path="/api/auth")
    tossed = victim.post("/api/auth/callback", json=params)
    assert tossed.status_code == 400, tossed.text
    assert tossed.json()["error"] == "state_mismatch"
    assert victim.get("/api/me").status_code == 401
    session = victim.get("/api/session").json()
    assert (session["authenticated"], session["me"]) == (False, None)
    # The cookie itself was genuine: in the browser it was made for, the same login completes.
    done = attacker.post("/api/auth/callback", json=params)
    assert done.status_code == 200, done.text
    assert done.json()["me"]["email"] == "ava@zylker.com"


def test_over_https_every_cookie_is_host_prefixed_secure_and_bound(live_tls: LiveApp) -> None:
    assert live_tls.verify is not None
    with httpx.Client(base_url=live_tls.url, verify=live_tls.verify) as first_visit:
        page = first_visit.get("/")
        set_cookies = page.headers.get_list("set-cookie")
        names = sorted(c.split("=", 1)[0] for c in set_cookies)
        assert names == ["__Host-zohoauth_csrf", "__Host-zohoauth_session"]
        start = first_visit.get("/login")
        assert start.status_code == 302
        set_cookies += start.headers.get_list("set-cookie")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    b = live_tls.browser()
    try:
        assert any(c.startswith("__Host-zohoauth_login=") for c in set_cookies)
        for cookie in set_cookies:  # what a browser requires of a __Host- cookie
            attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
            assert "secure" in attrs and "path=/" in attrs, cookie
            assert not any(a.startswith("domain") for a in attrs), cookie
        me = b.login("clara@brightwave.eu")["me"]
        assert me["email"] == "clara@brightwave.eu"
        assert b.post("/api/auth/logout").status_code == 200  # the CSRF proof works too
        assert not any(name.startswith("zohoauth_") for name in b.cookies)
    finally:
        b.close()
