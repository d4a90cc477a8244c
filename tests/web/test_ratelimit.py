"""Rate limits on /login and the callback, per client address (web/ratelimit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zohoauth import ConfigError, Settings
from zohoauth.emulator import BackgroundEmulator
from zohoauth.web.app import uvicorn_options
from zohoauth.web.ratelimit import client_key

from ..support.web import Browser, LiveApp


@pytest.fixture
def limited(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[LiveApp]:
    settings = Settings.load(login_rate_limit="3/minute", callback_rate_limit="2/minute")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        yield app


def _too_many(resp: httpx.Response) -> int:
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert body["error"] == "too_many_requests"
    assert "try again" in body["message"]
    assert resp.headers["cache-control"] == "no-store"
    wait = int(resp.headers["retry-after"])
    assert 1 <= wait <= 60
    assert f"wait {wait} seconds" in body["message"]
    return wait


def test_login_is_limited_per_client_address(limited: LiveApp) -> None:
    b = limited.browser()
    for _ in range(3):
        assert b.get("/login").status_code == 302
    _too_many(b.get("/login"))
    assert b.get("/api/session").status_code == 200  # only the login routes are counted
    other = limited.browser()  # another browser, but the same address: the same budget
    _too_many(other.get("/login"))


def test_each_callback_attempt_counts_and_the_limit_stops_token_requests(
    limited: LiveApp, admin: httpx.Client
) -> None:
    """Each callback with a live pending login costs a token request signed with the client
    secret: over the limit, Zoho is not asked, even for a login that would have succeeded."""
    b = limited.browser()

    def token_requests() -> int:
        count: int = admin.get("/_emulator/stats").json()["token_requests"]["authorization_code"]
        return count

    wrong = {**b.callback_params("ava@zylker.com"), "code": "1000.0bad"}
    assert b.post("/api/auth/callback", json=wrong).status_code == 400
    assert b.post("/api/auth/callback", json=b.callback_params("ava@zylker.com")).is_success
    assert token_requests() == 2
    _too_many(b.post("/api/auth/callback", json=b.callback_params("clara@brightwave.eu")))
    assert token_requests() == 2
    assert b.get("/api/me").json()["email"] == "ava@zylker.com"


def test_a_request_refused_by_the_csrf_check_is_not_counted(limited: LiveApp) -> None:
    b = limited.browser()
    for _ in range(5):
        assert b.without_csrf("POST", "/api/auth/callback", json={}).status_code == 403
    assert b.post("/api/auth/callback", json={}).status_code == 400  # state_mismatch, counted


def test_empty_settings_turn_the_limits_off(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    settings = Settings.load(login_rate_limit="", callback_rate_limit="")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        b = app.browser()
        assert all(b.get("/login").status_code == 302 for _ in range(40))


def test_the_defaults_and_a_malformed_setting() -> None:
    defaults = Settings.model_construct()
    assert (defaults.login_rate_limit, defaults.callback_rate_limit) == ("30/minute", "10/minute")
    with pytest.raises(ConfigError, match="ZOHOAUTH_CALLBACK_RATE_LIMIT") as caught:
        Settings.load(callback_rate_limit="ten-a-minute-s3cret")
    assert "s3cret" not in str(caught.value)


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_named(limited: LiveApp) -> None:
    """Without ZOHOAUTH_FORWARDED_ALLOW_IPS, a client can't pick its bucket by sending
    X-Forwarded-For: every request from this connection's address shares one."""
    b = limited.browser()
    for n in range(3):
        assert b.get("/login", headers=_from(f"203.0.113.{n}")).status_code == 302
    _too_many(b.get("/login", headers=_from("203.0.113.99")))


def test_behind_a_named_proxy_each_forwarded_client_has_its_own_budget(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    settings = Settings.load(login_rate_limit="2/minute", forwarded_allow_ips="127.0.0.1")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        b: Browser = app.browser()
        for _ in range(2):
            assert b.get("/login", headers=_from("203.0.113.7")).status_code == 302
        _too_many(b.get("/login", headers=_from("203.0.113.7")))
        assert b.get("/login", headers=_from("198.51.100.4")).status_code == 302


def test_uvicorn_believes_proxy_headers_only_from_the_named_proxies() -> None:
    assert uvicorn_options()["proxy_headers"] is False
    named = uvicorn_options(Settings.load(forwarded_allow_ips="10.0.0.0/8"))
    assert named["proxy_headers"] is True
    assert named["forwarded_allow_ips"] == "10.0.0.0/8"


@pytest.mark.parametrize(
    ("client", "key"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8:1:2:3:4:5:6", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff::1", 5000), "2001:db8:1:2::/64"),
        (None, "unknown"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(
    client: tuple[str, int] | None, key: str
) -> None:
    assert client_key({"type": "http", "client": client}) == key
