"""The CSRF check (web/csrf.py): the signed double-submit token is bound to its browser."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from zohoauth.web.csrf import CSRFTokens

from ..support.web import CSRF, Browser, LiveApp


def test_a_token_is_valid_only_for_the_binding_it_was_minted_for() -> None:
    tokens = CSRFTokens("s" * 32)
    token = tokens.mint("binding-of-browser-a")
    assert tokens.valid(token, "binding-of-browser-a")
    assert not tokens.valid(token, "binding-of-browser-b")
    assert not tokens.valid(token, "")
    assert not CSRFTokens("t" * 32).valid(token, "binding-of-browser-a")  # another secret
    assert tokens.matches(token, token, "binding-of-browser-a")
    assert not tokens.matches(token, token, "binding-of-browser-b")


def test_a_csrf_token_from_another_session_is_refused(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    """An attacker's own, genuine token (cookie planted and repeated in the header) does not
    pass in the victim's browser."""
    attacker, victim = browser(), browser()
    victim.login("ava@zylker.com")
    stolen = attacker.csrf
    assert stolen and stolen != victim.csrf
    victim.cookies.delete(CSRF)
    victim.cookies.set(CSRF, stolen)
    refused = victim.post("/api/auth/logout", headers={"X-CSRF-Token": stolen})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "csrf"
    assert victim.get("/api/me").json()["email"] == "ava@zylker.com"  # nothing happened
    # Its next page load hands the victim a token of its own again, which passes.
    victim.cookies.delete(CSRF)
    victim.get("/")
    assert victim.csrf != stolen
    assert victim.post("/api/auth/logout").status_code == 200


def test_a_browser_without_a_session_can_not_post_with_a_made_up_pair(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    """A first request that is already a POST has no binding yet: no token can be valid."""
    token = browser().csrf
    with httpx.Client(base_url=live.url, timeout=15) as fresh:  # never visited the page
        fresh.cookies.set(CSRF, token)
        resp = fresh.post("/api/auth/logout", headers={"X-CSRF-Token": token})
    assert resp.status_code == 403
    assert resp.json()["error"] == "csrf"
