"""Pure login decisions: the authorization URL, callback verification, token parsing."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import (
    AccessDeniedError,
    ConfigError,
    DataCenterError,
    DataCenterNotEnabledError,
    InvalidClientError,
    LoginError,
    MixUpError,
    ReauthRequiredError,
    StateMismatchError,
    ThrottledError,
    TokenError,
    ZohoUnavailableError,
)
from zohoauth.oauth import (
    Callback,
    OAuthClient,
    RevokeAnswer,
    parse_revoke_response,
    parse_token_response,
    start_login,
    verify_callback,
)

REG = DataCenterRegistry.zoho()
CLIENT = OAuthClient("1000.ID", "sekret", "https://app.example/redirect.html")
NOW = 1_800_000_000.0


def _cb(pending_state: str, **kw: str) -> Callback:
    params = {
        "state": pending_state,
        "code": "1000.c.c",
        "location": "eu",
        "accounts-server": "https://accounts.zoho.eu",
        **kw,
    }
    return Callback.from_params(params)


def test_authorization_url_has_what_zoho_needs() -> None:
    pending = start_login(REG, CLIENT, NOW)
    url = urlsplit(pending.url)
    assert f"{url.scheme}://{url.netloc}" == "https://accounts.zoho.com"
    assert url.path == "/oauth/v2/auth"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["client_id"] == "1000.ID"
    assert q["response_type"] == "code"
    assert q["access_type"] == "offline"
    assert q["prompt"] == "consent"
    assert q["redirect_uri"] == CLIENT.redirect_uri
    assert q["state"] == pending.state
    scopes = q["scope"].split(",")
    assert {"ZohoCRM.modules.ALL", "ZohoCRM.users.READ", "ZohoCRM.org.READ"} <= set(scopes)
    assert q["code_challenge_method"] == "S256"
    assert pending.code_verifier is not None
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert q["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "sekret" not in pending.url


def test_states_are_unique_and_pkce_optional() -> None:
    assert start_login(REG, CLIENT, NOW).state != start_login(REG, CLIENT, NOW).state
    plain = OAuthClient("1000.ID", "s", "https://a/r", use_pkce=False, prompt_consent=False)
    p = start_login(REG, plain, NOW)
    assert p.code_verifier is None
    assert "code_challenge" not in p.url
    assert "prompt=" not in p.url


def test_good_callback_resolves_the_dc() -> None:
    pending = start_login(REG, CLIENT, NOW)
    assert verify_callback(REG, pending, _cb(pending.state), NOW + 5).code == "eu"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"state": "wrong"}, StateMismatchError),
        ({"location": "mars"}, MixUpError),
        ({"accounts-server": "https://evil.example"}, MixUpError),
        ({"accounts-server": "https://accounts.zoho.com"}, MixUpError),  # disagrees with eu
        ({"accounts-server": "https://accounts.zoho.eu.evil.example"}, MixUpError),
        ({"error": "access_denied"}, AccessDeniedError),
        ({"error": "server_error"}, LoginError),
    ],
)
def test_forged_or_failed_callbacks_are_rejected(
    overrides: dict[str, str], error: type[Exception]
) -> None:
    pending = start_login(REG, CLIENT, NOW)
    with pytest.raises(error) as info:
        verify_callback(REG, pending, _cb(pending.state, **overrides), NOW)
    assert "evil" not in str(info.value)


def test_missing_state_pending_or_code_and_expiry() -> None:
    pending = start_login(REG, CLIENT, NOW)
    with pytest.raises(StateMismatchError):
        verify_callback(REG, None, _cb(pending.state), NOW)
    with pytest.raises(StateMismatchError):
        verify_callback(REG, pending, Callback.from_params({"code": "x", "location": "eu"}), NOW)
    with pytest.raises(StateMismatchError, match="expired"):
        verify_callback(REG, pending, _cb(pending.state), NOW + 601)
    no_code = Callback(
        state=pending.state, location="eu", accounts_server="https://accounts.zoho.eu"
    )
    with pytest.raises(LoginError, match="no code"):
        verify_callback(REG, pending, no_code, NOW)


def test_callback_accepts_both_spellings_of_accounts_server() -> None:
    a = Callback.from_params({"accounts-server": "https://x"})
    b = Callback.from_params({"accounts_server": "https://x"})
    assert a.accounts_server == b.accounts_server == "https://x"


def test_token_response_parsing() -> None:
    eu = REG.get("eu")
    body = {
        "access_token": "1000.a.b",
        "refresh_token": "1000.r.r",
        "expires_in": 3600,
        "api_domain": "https://www.zohoapis.eu",
        "scope": "ZohoCRM.modules.ALL a.b",
        "token_type": "Bearer",
    }
    g = parse_token_response(REG, eu, body, NOW)
    assert g.expires_at == NOW + 3600
    assert g.scopes == ("ZohoCRM.modules.ALL", "a.b")
    assert g.refresh_token == "1000.r.r"
    legacy = {**body, "expires_in": 3600000, "expires_in_sec": 3600}
    assert parse_token_response(REG, eu, legacy, NOW).expires_at == NOW + 3600
    with pytest.raises(MixUpError):
        parse_token_response(REG, eu, {**body, "api_domain": "https://www.zohoapis.com"}, NOW)
    with pytest.raises(MixUpError):
        parse_token_response(REG, eu, {**body, "api_domain": "https://evil.example"}, NOW)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"error": "invalid_code"}, ReauthRequiredError),
        ({"error": "Access Denied", "status": "failure"}, ThrottledError),
        ({"error": "invalid_client"}, InvalidClientError),
        ({"error": "whatever"}, TokenError),
        ({"token_type": "Bearer"}, TokenError),
        ("not json", ZohoUnavailableError),
    ],
)
def test_token_errors_map_to_the_tree(body: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_token_response(REG, REG.get("us"), body, NOW)


@pytest.mark.parametrize(
    ("status", "body", "answer"),
    [
        (200, {"status": "success"}, RevokeAnswer.REVOKED),
        (400, {"status": "failure", "error": "invalid_token"}, RevokeAnswer.INVALID),
        (400, None, RevokeAnswer.INVALID),  # Zoho documents the 400, not its body
        (200, {"status": "failure", "error": "invalid_token"}, RevokeAnswer.INVALID),
        (400, {"status": "failure", "error": "invalid_request"}, RevokeAnswer.REFUSED),
        (400, {"status": "failure", "error": "invalid_client"}, RevokeAnswer.REFUSED),
        (200, {"error": "Access Denied"}, RevokeAnswer.REFUSED),
        (401, None, RevokeAnswer.REFUSED),
        (404, "Not Found", RevokeAnswer.REFUSED),
    ],
)
def test_revoke_answers(status: int, body: object, answer: RevokeAnswer) -> None:
    """Only a confirmation or "not a valid token" may lead to deleting the local copy."""
    assert parse_revoke_response(status, body) is answer


# -- two sign-ins, accepted DCs, per-DC secrets ------------------------------------------------


def _cb_for(dc: str, pending_state: str) -> Callback:
    return _cb(pending_state, location=dc, **{"accounts-server": REG.get(dc).accounts_server})


def test_china_logins_start_at_chinas_accounts_server() -> None:
    pending = start_login(REG, CLIENT, NOW, region="cn")
    url = urlsplit(pending.url)
    assert f"{url.scheme}://{url.netloc}" == "https://accounts.zoho.com.cn"
    assert url.path == "/oauth/v2/auth"
    assert pending.login_dc == "cn"
    assert start_login(REG, CLIENT, NOW).login_dc == "us"
    # Any Multi-DC code starts at the Multi-DC sign-in.
    assert start_login(REG, CLIENT, NOW, region="uk").url.startswith("https://accounts.zoho.com/")
    with pytest.raises(DataCenterError, match="known"):
        start_login(REG, CLIENT, NOW, region="mars")


@pytest.mark.parametrize("dc", ["us", "eu", "in", "au", "jp", "ca", "sa", "uk"])
def test_a_multi_dc_login_accepts_every_multi_dc_callback_and_not_chinas(dc: str) -> None:
    pending = start_login(REG, CLIENT, NOW)
    assert verify_callback(REG, pending, _cb_for(dc, pending.state), NOW).code == dc
    with pytest.raises(MixUpError, match="do not sign in where this login started"):
        verify_callback(REG, pending, _cb_for("cn", pending.state), NOW)
    china = start_login(REG, CLIENT, NOW, region="cn")
    assert verify_callback(REG, china, _cb_for("cn", china.state), NOW).code == "cn"
    with pytest.raises(MixUpError, match="do not sign in where this login started"):
        verify_callback(REG, china, _cb_for(dc, china.state), NOW)


def test_australia_accepts_exactly_its_two_accounts_server_names() -> None:
    pending = start_login(REG, CLIENT, NOW)
    for server in ("https://accounts.zoho.com.au", "https://accounts.zoho.au"):
        cb = _cb(pending.state, location="au", **{"accounts-server": server})
        assert verify_callback(REG, pending, cb, NOW).accounts_server == (
            "https://accounts.zoho.com.au"  # where the code goes, whichever name came back
        )
    for forged in (
        "https://accounts.zoho.au.evil.example",
        "https://evil.accounts.zoho.au",
        "https://accounts.zoho.au:8443",
        "http://accounts.zoho.au",
    ):
        cb = _cb(pending.state, location="au", **{"accounts-server": forged})
        with pytest.raises(MixUpError):
            verify_callback(REG, pending, cb, NOW)


def test_a_dc_the_client_does_not_accept_is_refused_by_name() -> None:
    client = OAuthClient("1000.ID", "s", "https://a/r", data_centers=frozenset({"us", "EU", "uk"}))
    pending = start_login(REG, client, NOW)
    assert verify_callback(REG, pending, _cb_for("uk", pending.state), NOW, client=client)
    with pytest.raises(DataCenterNotEnabledError) as info:
        verify_callback(REG, pending, _cb_for("in", pending.state), NOW, client=client)
    assert str(info.value).startswith("this app does not accept Zoho accounts from India")
    assert (info.value.dc, info.value.dc_name) == ("in", "India")
    # A forged callback is still a mix-up first: the accounts server is checked before the DC.
    forged = _cb(pending.state, location="in", **{"accounts-server": "https://evil.example"})
    with pytest.raises(MixUpError):
        verify_callback(REG, pending, forged, NOW, client=client)
    with pytest.raises(DataCenterNotEnabledError, match="from China"):
        start_login(REG, client, NOW, region="cn")
    only_china = OAuthClient("1000.ID", "s", "https://a/r", data_centers=frozenset({"cn"}))
    assert start_login(REG, only_china, NOW).login_dc == "cn"  # the only sign-in it can use


def test_each_dc_gets_its_own_secret_or_the_common_one() -> None:
    client = OAuthClient(
        "1000.ID", "common-s", "https://a/r", client_secrets={"EU": "eu-s", "uk": "uk-s"}
    )
    assert client.secret_for("eu") == "eu-s"
    assert client.secret_for("uk") == "uk-s"
    assert client.secret_for("us") == "common-s"
    assert (client.secret_source("eu"), client.secret_source("in")) == ("own", "common")
    for secret in ("common-s", "eu-s", "uk-s"):
        assert secret not in repr(client)
    only_own = OAuthClient("1000.ID", "", "https://a/r", client_secrets={"eu": "eu-s"})
    with pytest.raises(ConfigError, match="no client secret for data center us"):
        only_own.secret_for("us")
    assert hash(client) == hash(OAuthClient("1000.ID", "common-s", "https://a/r"))


def test_a_refused_secret_names_the_setting_to_check_never_the_secret() -> None:
    client = OAuthClient("1000.ID", "common-s", "https://a/r", client_secrets={"eu": "eu-s"})
    with pytest.raises(InvalidClientError) as own:
        parse_token_response(REG, REG.get("eu"), {"error": "invalid_client_secret"}, NOW, client)
    assert "the eu entry of ZOHOAUTH_CLIENT_SECRETS" in str(own.value)
    with pytest.raises(InvalidClientError) as common:
        parse_token_response(REG, REG.get("in"), {"error": "invalid_client_secret"}, NOW, client)
    assert "ZOHOAUTH_CLIENT_SECRET," in str(common.value) and "India (in)" in str(common.value)
    for message in (str(own.value), str(common.value)):
        assert "eu-s" not in message and "common-s" not in message
