"""`zohoauth.emulator.testing`: the browserless helpers other people's tests can use too."""

from __future__ import annotations

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator, testing

CLIENT_ID, SECRET = "1000.HELPERS", "helper-secret"
REDIRECT = "http://127.0.0.1:9/cb"


def _auth_url(emu: BackgroundEmulator, state: str = "s1") -> str:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "ZohoCRM.modules.ALL",
        "access_type": "offline",
        "state": state,
    }
    return str(httpx.URL(f"{emu.url}/us/accounts/oauth/v2/auth", params=params))


def test_consent_accept_and_reject(emulator: BackgroundEmulator) -> None:
    testing.register_client(emulator.url, CLIENT_ID, SECRET, [REDIRECT])
    ok = testing.consent(_auth_url(emulator), "clara@brightwave.eu")
    assert str(ok).startswith(REDIRECT)
    assert ok.params["state"] == "s1"
    assert ok.params["location"] == "eu"
    assert ok.params["accounts-server"] == f"{emulator.url}/eu/accounts"
    assert ok.params["code"].startswith("1000.")
    no = testing.consent(_auth_url(emulator, "s2"), "clara@brightwave.eu", decision="reject")
    assert no.params["error"] == "access_denied"
    assert "code" not in no.params
    with pytest.raises(RuntimeError, match="did not redirect: 200 No Zoho account"):
        testing.consent(_auth_url(emulator), "nobody@nowhere.example")
    # China's users sign in at China's own accounts server, and only there.
    china = _auth_url(emulator).replace("/us/accounts/", "/cn/accounts/")
    assert testing.consent(china, "li@dragongate.cn").params["location"] == "cn"
    with pytest.raises(RuntimeError, match=r"li@dragongate\.cn"):
        testing.consent(_auth_url(emulator), "li@dragongate.cn")


def test_self_client_grant_says_where_to_redeem(emulator: BackgroundEmulator) -> None:
    testing.register_client(emulator.url, CLIENT_ID, SECRET, [])
    grant = testing.self_client_grant(emulator.url, CLIENT_ID, "dev@sunrise.in")
    assert grant["location"] == "in"
    assert grant["api_base"] == f"{emulator.url}/in/api"
    token = httpx.post(
        grant["token_url"],
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "code": grant["code"],
        },
    ).json()
    assert token["api_domain"] == grant["api_base"]
    with pytest.raises(httpx.HTTPStatusError):
        testing.self_client_grant(emulator.url, "1000.UNKNOWN", "dev@sunrise.in")


def test_register_client_with_per_dc_secrets(emulator: BackgroundEmulator) -> None:
    testing.register_client(emulator.url, CLIENT_ID, None, [], client_secrets={"in": "in-secret"})
    grant = testing.self_client_grant(emulator.url, CLIENT_ID, "dev@sunrise.in")
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "code": grant["code"]}
    wrong = httpx.post(grant["token_url"], data={**form, "client_secret": SECRET}).json()
    assert wrong == {"error": "invalid_client_secret"}
    right = httpx.post(grant["token_url"], data={**form, "client_secret": "in-secret"}).json()
    assert right["api_domain"] == grant["api_base"]
