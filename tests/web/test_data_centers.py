"""The web app across Zoho's data centers: China's own sign-in, the DCs an app accepts, and
Zoho's throttle on sign-ins, through the HTTP API (the pages are in test_browser.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator

from ..support.web import Browser, LiveApp
from ..support.zoho import self_client_code

ALL = ["us", "eu", "in", "au", "jp", "ca", "sa", "uk", "cn"]


@pytest.fixture
def restricted(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[LiveApp]:
    """An app that accepts only US, EU and UK accounts (ZOHOAUTH_DATA_CENTERS=us,eu,uk)."""
    with LiveApp(
        emulator.url, f"sqlite:///{tmp_path / 'r.db'}", data_centers=frozenset({"us", "eu", "uk"})
    ) as app:
        yield app


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def test_session_lists_the_accepted_dcs_and_their_sign_in(
    live: LiveApp, restricted: LiveApp
) -> None:
    with closing(live.browser()) as b:
        dcs = b.get("/api/session").json()["data_centers"]
    assert sorted(d["code"] for d in dcs) == sorted(ALL)
    assert {d["code"]: d["login_dc"] for d in dcs} == {c: "cn" if c == "cn" else "us" for c in ALL}
    assert {"code": "uk", "name": "United Kingdom", "login_dc": "us"} in dcs
    with closing(restricted.browser()) as b:
        assert [d["code"] for d in b.get("/api/session").json()["data_centers"]] == [
            "us",
            "eu",
            "uk",
        ]


def test_china_signs_in_at_its_own_accounts_server(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    assert _where(b.start_login(region="cn")) == f"{live.emulator_url}/cn/accounts/oauth/v2/auth"
    assert _where(b.start_login(region="CN")).startswith(f"{live.emulator_url}/cn/")
    me = b.login("li@dragongate.cn", region="cn")["me"]
    assert (me["dc"], me["dc_name"], me["email"]) == ("cn", "China", "li@dragongate.cn")
    uk = b.login("isla@thamesledger.co.uk")["me"]
    assert (uk["dc"], uk["dc_name"]) == ("uk", "United Kingdom")
    assert b.get("/api/records/Leads", params={"per_page": 1}).status_code == 200
    bad = b.get("/login", params={"region": "mars"})
    assert (bad.status_code, bad.json()["error"]) == (400, "unknown_region")


def test_a_callback_from_the_other_sign_in_is_a_mixup(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    state = dict(httpx.URL(b.start_login(region="cn")).params)["state"]
    got = self_client_code(live.emulator_url, live.client, "clara@brightwave.eu")
    resp = b.post(
        "/api/auth/callback",
        json={
            "state": state,
            "code": got["code"],
            "location": got["location"],
            "accounts_server": got["accounts_server"],
        },
    )
    body = resp.json()
    assert (resp.status_code, body["error"]) == (400, "mixup")
    assert body["region"] == "cn"  # the page's "Try again" goes back to China's sign-in
    assert got["code"] not in resp.text


def test_a_user_from_a_dc_the_app_does_not_accept_is_told_so(
    restricted: LiveApp, admin: httpx.Client
) -> None:
    with closing(restricted.browser()) as b:
        resp = b.post("/api/auth/callback", json=b.callback_params("dev@sunrise.in"))
        body = resp.json()
        assert (resp.status_code, body["error"]) == (403, "dc_not_enabled")
        assert body["message"].startswith("this app does not accept Zoho accounts from India")
        assert b.get("/api/me").status_code == 401  # nothing was stored or signed in
        china = b.get("/login", params={"region": "cn"})
        assert (china.status_code, china.json()["error"]) == (403, "dc_not_enabled")
        assert "from China" in china.json()["message"]
        assert b.login("isla@thamesledger.co.uk")["me"]["dc"] == "uk"
    stats = admin.get("/_emulator/stats").json()["token_requests"]
    assert stats["authorization_code"] == 1  # the UK login's; India's code was never sent


def test_zohos_throttle_on_sign_in_is_a_503_that_says_to_wait(
    live: LiveApp, admin: httpx.Client, browser: Callable[[], Browser]
) -> None:
    admin.post(
        "/_emulator/config", json={"grant_limits": True, "max_new_refresh_tokens_per_window": 1}
    ).raise_for_status()
    b = browser()
    b.login("ava@zylker.com")
    resp = b.post("/api/auth/callback", json=b.callback_params("ava@zylker.com"))
    body: dict[str, Any] = resp.json()
    assert (resp.status_code, body["error"]) == (503, "login_throttled")
    assert body["message"] == "Zoho is limiting sign-ins; try again in a few minutes"
    assert 60 <= int(resp.headers["retry-after"]) <= 600
