"""Zoho's token limits and revocation in the emulator, over real HTTP.

Throttle (10 refreshes per 10 minutes per refresh token), live access tokens per refresh token
(the 16th evicts the oldest), refresh tokens per user and client (the 21st kills the oldest),
the grant limits (10 codes per client and 10 new refresh tokens per user and client per 10
minutes), lifetimes on the virtual clock, and both revoke paths (docs/zoho-reference.md
§Lifetimes and limits, §Revoke). Whether a token is live is
read in-process with `state.authenticate()`, the same call the CRM routes use.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator, create_app
from zohoauth.emulator.config import make_config
from zohoauth.emulator.seed import DEFAULT_SEED

from .test_accounts import (
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_RE,
    ZOHO_JSON,
    consent,
    exchange,
    login,
    new_code,
    redirect_query,
    refresh,
    register_client,
    user_in,
)

ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


@pytest.fixture
def oauth_client(admin: httpx.Client) -> str:
    register_client(admin)
    return CLIENT_ID


def configure(admin: httpx.Client, **settings: object) -> None:
    r = admin.post("/_emulator/config", json=settings)
    assert r.status_code == 200, r.text


def advance(admin: httpx.Client, seconds: float) -> None:
    assert admin.post("/_emulator/clock", json={"advance_seconds": seconds}).status_code == 200


def live(emulator: BackgroundEmulator, token: str) -> bool:
    return emulator.state.authenticate(token) is not None


# -- refresh throttle ------------------------------------------------------------------------


def test_the_11th_refresh_in_10_minutes_is_access_denied(
    admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    rt = first["refresh_token"]
    for _ in range(10):
        assert "access_token" in refresh(admin, rt, dc).json()
    denied = refresh(admin, rt, dc)
    assert denied.status_code == 200  # the status stays 200 [docs/zoho-reference.md §4]
    assert denied.headers["content-type"] == ZOHO_JSON
    assert denied.json() == ACCESS_DENIED
    assert admin.get("/_emulator/stats").json()["throttled"] == 1
    # Still denied just before the window ends ...
    advance(admin, 590)
    assert refresh(admin, rt, dc).json() == ACCESS_DENIED
    # ... and fine once the first refresh of the window is 10 minutes old.
    advance(admin, 11)
    assert TOKEN_RE.match(refresh(admin, rt, dc).json()["access_token"])


def test_the_throttle_counts_per_refresh_token(admin: httpx.Client, oauth_client: str) -> None:
    ava = user_in(admin, "us")
    one, dc = login(admin, ava)
    two, _ = login(admin, ava)
    for _ in range(10):
        refresh(admin, one["refresh_token"], dc)
    assert refresh(admin, one["refresh_token"], dc).json() == ACCESS_DENIED
    assert "access_token" in refresh(admin, two["refresh_token"], dc).json()


def test_the_window_slides(admin: httpx.Client, oauth_client: str) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    rt = first["refresh_token"]
    for _ in range(5):
        refresh(admin, rt, dc)
    advance(admin, 300)
    for _ in range(5):
        refresh(admin, rt, dc)
    assert refresh(admin, rt, dc).json() == ACCESS_DENIED
    advance(admin, 301)  # the first five are out of the window, the last five are not
    for _ in range(5):
        assert "access_token" in refresh(admin, rt, dc).json()
    assert refresh(admin, rt, dc).json() == ACCESS_DENIED


def test_throttle_limits_are_configurable(admin: httpx.Client, oauth_client: str) -> None:
    configure(admin, max_refreshes_per_window=2, refresh_window=60)
    first, dc = login(admin, user_in(admin, "us"))
    rt = first["refresh_token"]
    refresh(admin, rt, dc)
    refresh(admin, rt, dc)
    assert refresh(admin, rt, dc).json() == ACCESS_DENIED
    advance(admin, 61)
    assert "access_token" in refresh(admin, rt, dc).json()


# -- live access tokens per refresh token ----------------------------------------------------


def test_the_16th_live_access_token_evicts_the_oldest(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, max_refreshes_per_window=100)  # the throttle is not under test here
    first, dc = login(admin, user_in(admin, "us"))
    tokens = [first["access_token"]]
    for _ in range(14):
        tokens.append(refresh(admin, first["refresh_token"], dc).json()["access_token"])
    assert all(live(emulator, t) for t in tokens)  # 15 live: the cap
    tokens.append(refresh(admin, first["refresh_token"], dc).json()["access_token"])
    assert not live(emulator, tokens[0])
    assert all(live(emulator, t) for t in tokens[1:])
    tokens.append(refresh(admin, first["refresh_token"], dc).json()["access_token"])
    assert not live(emulator, tokens[1])
    assert all(live(emulator, t) for t in tokens[2:])


def test_eviction_counts_per_refresh_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, max_live_access_tokens=2)
    ava = user_in(admin, "us")
    one, dc = login(admin, ava)
    two, _ = login(admin, ava)
    refresh(admin, one["refresh_token"], dc)
    refresh(admin, one["refresh_token"], dc)
    assert not live(emulator, one["access_token"])
    assert live(emulator, two["access_token"])


def test_online_access_tokens_are_not_evicted_by_offline_ones(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, max_live_access_tokens=1)
    ava = user_in(admin, "us")
    online, _ = login(admin, ava, access_type="online")
    offline, dc = login(admin, ava)
    refresh(admin, offline["refresh_token"], dc)
    assert live(emulator, online["access_token"])
    assert not live(emulator, offline["access_token"])


# -- refresh tokens per user and client ------------------------------------------------------


def test_the_21st_refresh_token_kills_the_oldest_and_its_access_tokens(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, max_refresh_tokens_per_user=2)  # the default 20, scaled down
    ava = user_in(admin, "us")
    one, dc = login(admin, ava)
    one_b = refresh(admin, one["refresh_token"], dc).json()["access_token"]
    two, _ = login(admin, ava)
    assert live(emulator, one["access_token"])
    three, _ = login(admin, ava)
    assert refresh(admin, one["refresh_token"], dc).json() == {"error": "invalid_code"}
    assert not live(emulator, one["access_token"])
    assert not live(emulator, one_b)
    for survivor in (two, three):
        assert live(emulator, survivor["access_token"])
        assert "access_token" in refresh(admin, survivor["refresh_token"], dc).json()


def test_the_default_refresh_token_cap_is_20(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, grant_limits=False)  # 21 logins in a minute: past Zoho's grant limits
    ava = user_in(admin, "us")
    tokens = [
        admin.post(
            "/_emulator/self-client/code", json={"client_id": CLIENT_ID, "email": ava}
        ).json()["code"]
        for _ in range(21)
    ]
    rts = []
    for code in tokens:
        body = httpx.post(
            f"{emulator.url}/us/accounts/oauth/v2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "code": code,
            },
        ).json()
        rts.append(body["refresh_token"])
    assert rts[0] not in emulator.state.refresh_tokens
    assert all(rt in emulator.state.refresh_tokens for rt in rts[1:])


def test_the_refresh_token_cap_is_per_user_and_client(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, max_refresh_tokens_per_user=1)
    register_client(admin, client_id="1000.SECOND", secret="s2")
    ava, ben = user_in(admin, "us"), "ben@zylker.com"
    ava_first, dc = login(admin, ava)
    login(admin, ben)
    code, _ = new_code(admin, ava, client_id="1000.SECOND")
    httpx.post(
        f"{emulator.url}/{dc}/accounts/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "1000.SECOND",
            "client_secret": "s2",
            "redirect_uri": "http://app.example.test/oauth/callback",
            "code": code,
        },
    )
    assert ava_first["refresh_token"] in emulator.state.refresh_tokens


# -- grant limits: codes per client, new refresh tokens per user and client --------------------


def test_grant_limits_are_on_by_default() -> None:
    """As the emulator ships (the test session itself switches them off: its tests log in a
    lot). The numbers are Zoho's: 10 codes per client and 10 new refresh tokens per user and
    client in 10 minutes."""
    state = create_app().state.emulator
    cfg = state.config
    assert cfg.grant_limits is True
    assert (cfg.max_grant_codes_per_window, cfg.grant_code_window) == (10, 600)
    assert (cfg.max_new_refresh_tokens_per_window, cfg.new_refresh_token_window) == (10, 600)
    assert make_config({"grant_limits": False}).grant_limits is False
    off = create_app({**DEFAULT_SEED, "config": {"grant_limits": False}}).state.emulator
    assert off.config.grant_limits is False


def test_the_11th_grant_code_in_10_minutes_is_access_denied(
    admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, grant_limits=True)
    ava, ben = user_in(admin, "us"), "ben@zylker.com"
    for n in range(10):
        new_code(admin, ava if n % 2 else ben)  # per client, whoever signs in
    refused = redirect_query(consent(admin, ava))
    assert refused == {"error": "access_denied", "state": "st-123"}  # Zoho: access_denied
    sc = admin.post("/_emulator/self-client/code", json={"client_id": CLIENT_ID, "email": ava})
    assert sc.status_code == 429
    assert sc.json()["error"] == "access_denied"
    assert admin.get("/_emulator/stats").json()["grant_limited"] == 2
    # Another client has a limit of its own.
    register_client(admin, client_id="1000.SECOND", secret="s2")
    assert "code" in redirect_query(consent(admin, ava, client_id="1000.SECOND"))
    # Refused for the rest of the window, then fine once the first code is 10 minutes old.
    advance(admin, 590)
    assert redirect_query(consent(admin, ava))["error"] == "access_denied"
    advance(admin, 11)
    code, dc = new_code(admin, ava)
    assert "access_token" in exchange(admin, code, dc).json()


def test_the_grant_code_window_slides(admin: httpx.Client, oauth_client: str) -> None:
    configure(admin, grant_limits=True)
    ava = user_in(admin, "us")
    for _ in range(5):
        new_code(admin, ava)
    advance(admin, 300)
    for _ in range(5):
        new_code(admin, ava)
    assert redirect_query(consent(admin, ava))["error"] == "access_denied"
    advance(admin, 301)  # the first five are out of the window, the last five are not
    for _ in range(5):
        new_code(admin, ava)
    assert redirect_query(consent(admin, ava))["error"] == "access_denied"


def test_a_refused_consent_is_not_a_first_consent(admin: httpx.Client, oauth_client: str) -> None:
    configure(admin, grant_limits=True, max_grant_codes_per_window=0)
    ava = user_in(admin, "us")
    assert redirect_query(consent(admin, ava, prompt=None))["error"] == "access_denied"
    configure(admin, max_grant_codes_per_window=10)
    assert "refresh_token" in login(admin, ava, prompt=None)[0]


def test_the_11th_new_refresh_token_in_10_minutes_is_access_denied(
    admin: httpx.Client, oauth_client: str
) -> None:
    # Codes are limited too (10 per client): lift that one, this test is about refresh tokens.
    configure(admin, grant_limits=True, max_grant_codes_per_window=100)
    ava, ben = user_in(admin, "us"), "ben@zylker.com"
    for _ in range(10):
        assert "refresh_token" in login(admin, ava)[0]
    code, dc = new_code(admin, ava)
    denied = exchange(admin, code, dc)
    assert denied.status_code == 200  # the status stays 200 [docs/zoho-reference.md §4]
    assert denied.headers["content-type"] == ZOHO_JSON
    assert denied.json() == ACCESS_DENIED
    assert admin.get("/_emulator/stats").json()["grant_limited"] == 1
    # Per user and client: Ben, and Ava with another client, still get theirs ...
    assert "refresh_token" in login(admin, ben)[0]
    register_client(admin, client_id="1000.SECOND", secret="s2")
    second, _ = new_code(admin, ava, client_id="1000.SECOND")
    body = exchange(admin, second, dc, client_id="1000.SECOND", client_secret="s2").json()
    assert "refresh_token" in body
    # ... and an online login mints no refresh token, so it is not limited.
    online, _ = login(admin, ava, access_type="online")
    assert "refresh_token" not in online
    # The refused code was not used up: it works once the window has moved on.
    configure(admin, new_refresh_token_window=60)
    advance(admin, 61)
    assert "refresh_token" in exchange(admin, code, dc).json()


def test_the_switch_turns_the_grant_limits_off(admin: httpx.Client, oauth_client: str) -> None:
    r = admin.post("/_emulator/config", json={"grant_limits": False})
    assert r.json()["config"]["grant_limits"] is False
    ava = user_in(admin, "us")
    for _ in range(12):
        assert "refresh_token" in login(admin, ava)[0]
    for _ in range(3):
        sc = admin.post("/_emulator/self-client/code", json={"client_id": CLIENT_ID, "email": ava})
        assert sc.status_code == 200
    assert admin.get("/_emulator/stats").json()["grant_limited"] == 0
    assert admin.post("/_emulator/config", json={"grant_limits": "no"}).status_code == 400


# -- lifetimes ---------------------------------------------------------------------------------


def test_access_tokens_expire_after_access_token_ttl(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    advance(admin, 3599)
    assert live(emulator, first["access_token"])
    advance(admin, 2)
    assert not live(emulator, first["access_token"])
    # The refresh token does not expire: it mints a fresh one.
    fresh = refresh(admin, first["refresh_token"], dc).json()["access_token"]
    assert live(emulator, fresh)


def test_access_token_ttl_is_configurable(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    configure(admin, access_token_ttl=60)
    first, _ = login(admin, user_in(admin, "us"))
    assert first["expires_in"] == 60
    advance(admin, 61)
    assert not live(emulator, first["access_token"])


# -- revoke ------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_query", [True, False], ids=["query", "form"])
def test_revoking_a_refresh_token_kills_its_access_tokens(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, as_query: bool
) -> None:
    first, dc = login(admin, user_in(admin, "eu"))
    second = refresh(admin, first["refresh_token"], dc).json()["access_token"]
    url = f"/{dc}/accounts/oauth/v2/token/revoke"
    params = {"token": first["refresh_token"]}
    r = admin.post(url, params=params) if as_query else admin.post(url, data=params)
    assert r.status_code == 200
    assert r.json() == {"status": "success"}
    assert not live(emulator, first["access_token"])
    assert not live(emulator, second)
    assert refresh(admin, first["refresh_token"], dc).json() == {"error": "invalid_code"}
    # Revoking it again: it is unknown now, and Zoho answers an invalid token with HTTP 400.
    assert admin.post(url, params=params).status_code == 400
    assert admin.get("/_emulator/stats").json()["token_requests"]["revoke"] == 2


def test_revoking_an_access_token_leaves_its_refresh_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    second = refresh(admin, first["refresh_token"], dc).json()["access_token"]
    r = admin.post(f"/{dc}/accounts/oauth/v2/token/revoke", data={"token": first["access_token"]})
    assert r.json() == {"status": "success"}
    assert not live(emulator, first["access_token"])
    assert live(emulator, second)
    assert "access_token" in refresh(admin, first["refresh_token"], dc).json()


@pytest.mark.parametrize("token", ["", "1000." + "f" * 32 + "." + "e" * 32, "garbage"])
def test_revoking_an_unknown_token_is_400(admin: httpx.Client, token: str) -> None:
    r = admin.post("/us/accounts/oauth/v2/token/revoke", data={"token": token})
    assert r.status_code == 400
    assert r.headers["content-type"] == ZOHO_JSON
    assert admin.post("/us/accounts/oauth/v2/token/revoke").status_code == 400


def test_revoking_at_another_dc_fails_and_leaves_the_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "in"))
    r = admin.post("/us/accounts/oauth/v2/token/revoke", data={"token": first["refresh_token"]})
    assert r.status_code == 400
    assert live(emulator, first["access_token"])
    assert "access_token" in refresh(admin, first["refresh_token"], dc).json()


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.mark.parametrize("token_type", ["refresh_token", None])
def test_the_newer_revoke_path_with_client_auth(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, token_type: str | None
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    data = {"token": first["refresh_token"]}
    if token_type:
        data["token_type"] = token_type
    r = admin.post(
        f"/{dc}/accounts/oauth/v2/revoke/token",
        data=data,
        headers=basic(CLIENT_ID, CLIENT_SECRET),
    )
    assert r.status_code == 200
    assert r.json() == {"status": "success"}
    assert not live(emulator, first["access_token"])
    assert refresh(admin, first["refresh_token"], dc).json() == {"error": "invalid_code"}


def test_the_newer_revoke_path_revokes_an_access_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    r = admin.post(
        f"/{dc}/accounts/oauth/v2/revoke/token",
        params={"token": first["access_token"], "token_type": "access_token"},
        headers=basic(CLIENT_ID, CLIENT_SECRET),
    )
    assert r.json() == {"status": "success"}
    assert not live(emulator, first["access_token"])
    assert "access_token" in refresh(admin, first["refresh_token"], dc).json()


def test_the_newer_revoke_path_refuses_bad_requests(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    first, dc = login(admin, user_in(admin, "us"))
    register_client(admin, client_id="1000.OTHER", secret="o")
    url = f"/{dc}/accounts/oauth/v2/revoke/token"
    rt = {"token": first["refresh_token"]}
    refused = [
        admin.post(url, data=rt),  # no client authentication
        admin.post(url, data=rt, headers={"Authorization": "Basic !!notbase64"}),
        admin.post(url, data=rt, headers={"Authorization": "Bearer x"}),
        admin.post(url, data=rt, headers=basic(CLIENT_ID, "wrong")),
        admin.post(url, data=rt, headers=basic("1000.NOPE", "x")),
        admin.post(url, data=rt, headers=basic("1000.OTHER", "o")),  # another client's token
        admin.post(
            url, data={**rt, "token_type": "access_token"}, headers=basic(CLIENT_ID, CLIENT_SECRET)
        ),
        admin.post(
            url, data={**rt, "token_type": "id_token"}, headers=basic(CLIENT_ID, CLIENT_SECRET)
        ),
    ]
    for r in refused:
        assert r.status_code == 400, r.text
        assert r.json()["status"] == "failure"
    assert live(emulator, first["access_token"])
    assert first["refresh_token"] in emulator.state.refresh_tokens


def test_revoke_user_kills_every_token_code_and_consent(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    ava, ben = user_in(admin, "us"), "ben@zylker.com"
    one, dc = login(admin, ava)
    two, _ = login(admin, ava, prompt=None)
    online, _ = login(admin, ava, access_type="online")
    pending, _ = new_code(admin, ava)
    bens, _ = login(admin, ben)
    r = admin.post("/_emulator/revoke-user", json={"email": ava})
    assert r.status_code == 200
    assert r.json()["revoked"] >= 2
    for body in (one, two, online):
        assert not live(emulator, body["access_token"])
    assert refresh(admin, one["refresh_token"], dc).json() == {"error": "invalid_code"}
    assert pending not in emulator.state.codes
    assert all(k[0] != emulator.state.user_by_email(ava).zuid for k in emulator.state.consents)
    # Other users keep theirs.
    assert live(emulator, bens["access_token"])
    assert "access_token" in refresh(admin, bens["refresh_token"], dc).json()
    assert admin.post("/_emulator/revoke-user", json={"email": "no@one.x"}).status_code == 404
