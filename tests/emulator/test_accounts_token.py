"""The emulator's token endpoint (`/oauth/v2/token`): code exchange and refresh, over real HTTP."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator

from .test_accounts import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    TOKEN_RE,
    ZOHO_JSON,
    endpoints,
    exchange,
    login,
    new_code,
    refresh,
    register_client,
    token_call,
    user_in,
)


@pytest.fixture
def oauth_client(admin: httpx.Client) -> str:
    register_client(admin)
    return CLIENT_ID


def zoho_error(resp: httpx.Response) -> str:
    """The error of a token-endpoint failure, checking it came the Zoho way: HTTP 200, JSON."""
    assert resp.status_code == 200
    assert resp.headers["content-type"] == ZOHO_JSON
    body = resp.json()
    assert "access_token" not in body
    error: str = body["error"]
    return error


# -- code exchange ---------------------------------------------------------------------------


@pytest.mark.parametrize("in_query", [False, True], ids=["form-body", "query-string"])
@pytest.mark.parametrize("dc", ["us", "eu", "in"])
def test_code_exchange_returns_zohos_token_response(
    admin: httpx.Client, oauth_client: str, dc: str, in_query: bool
) -> None:
    code, location = new_code(admin, user_in(admin, dc))
    assert location == dc
    r = exchange(admin, code, dc, in_query=in_query)
    assert r.status_code == 200
    assert r.headers["content-type"] == ZOHO_JSON
    body = r.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "scope",
        "api_domain",
        "token_type",
        "expires_in",
    }
    assert TOKEN_RE.match(body["access_token"])
    assert TOKEN_RE.match(body["refresh_token"])
    assert body["access_token"] != body["refresh_token"]
    assert body["api_domain"] == endpoints(admin)[dc]["api_domain"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600  # seconds; no legacy expires_in_sec
    assert body["scope"] == "ZohoCRM.modules.ALL ZohoCRM.users.READ ZohoCRM.org.READ"


def test_the_access_token_authenticates_its_user_in_its_dc(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    email = user_in(admin, "eu")
    body, _ = login(admin, email)
    found = emulator.state.authenticate(body["access_token"])
    assert found is not None
    assert found.dc == "eu"
    assert found.client_id == CLIENT_ID
    assert emulator.state.users[found.zuid].email == email


def test_a_code_is_single_use(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    assert "access_token" in exchange(admin, code, dc).json()
    assert zoho_error(exchange(admin, code, dc)) == "invalid_code"


def test_an_unknown_code_is_invalid_code(admin: httpx.Client, oauth_client: str) -> None:
    assert zoho_error(exchange(admin, "1000." + "a" * 32 + "." + "b" * 32, "us")) == "invalid_code"


def test_a_code_expires_after_code_ttl(admin: httpx.Client, oauth_client: str) -> None:
    fresh, dc = new_code(admin, user_in(admin, "us"))
    stale, _ = new_code(admin, user_in(admin, "us"))
    admin.post("/_emulator/clock", json={"advance_seconds": 119})
    assert "access_token" in exchange(admin, fresh, dc).json()
    admin.post("/_emulator/clock", json={"advance_seconds": 2})
    assert zoho_error(exchange(admin, stale, dc)) == "invalid_code"


def test_code_ttl_is_configurable(admin: httpx.Client, oauth_client: str) -> None:
    admin.post("/_emulator/config", json={"code_ttl": 600})
    code, dc = new_code(admin, user_in(admin, "us"))
    admin.post("/_emulator/clock", json={"advance_seconds": 300})
    assert "access_token" in exchange(admin, code, dc).json()


@pytest.mark.parametrize("wrong_dc", ["us", "in", "au"])
def test_a_code_works_only_at_its_users_dc(
    admin: httpx.Client, oauth_client: str, wrong_dc: str
) -> None:
    code, dc = new_code(admin, user_in(admin, "eu"))
    assert dc == "eu"
    # Zoho answers invalid_client at another DC's accounts server [docs/zoho-reference.md
    # §Data centres].
    assert zoho_error(exchange(admin, code, wrong_dc)) == "invalid_client"
    assert "access_token" in exchange(admin, code, dc).json()  # not burnt by the attempt


@pytest.mark.parametrize("wrong_dc", ["us", "eu", "uk"])
def test_a_china_code_works_only_in_china(
    admin: httpx.Client, oauth_client: str, wrong_dc: str
) -> None:
    code, dc = new_code(admin, "li@dragongate.cn", dc_path="cn")
    assert dc == "cn"
    assert zoho_error(exchange(admin, code, wrong_dc)) == "invalid_client"
    assert "access_token" in exchange(admin, code, "cn").json()


@pytest.mark.parametrize("dc", ["us", "uk"])
def test_a_multi_dc_code_fails_in_china(admin: httpx.Client, oauth_client: str, dc: str) -> None:
    code, location = new_code(admin, user_in(admin, dc))
    assert location == dc
    assert zoho_error(exchange(admin, code, "cn")) == "invalid_client"
    assert "access_token" in exchange(admin, code, dc).json()


@pytest.mark.parametrize(
    "redirect_uri", ["http://app.example.test/other", REDIRECT_URI + "/", None]
)
def test_redirect_uri_must_match_the_authorization_request(
    admin: httpx.Client, oauth_client: str, redirect_uri: str | None
) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    r = exchange(admin, code, dc, redirect_uri=redirect_uri)
    assert zoho_error(r) == "invalid_redirect_uri"
    assert "access_token" in exchange(admin, code, dc).json()


def test_redirect_uri_must_be_the_one_used_even_if_also_registered(admin: httpx.Client) -> None:
    other = "http://app.example.test/second"
    register_client(admin, redirect_uris=(REDIRECT_URI, other))
    code, dc = new_code(admin, user_in(admin, "us"), redirect_uri=other)
    assert zoho_error(exchange(admin, code, dc)) == "invalid_redirect_uri"
    assert "access_token" in exchange(admin, code, dc, redirect_uri=other).json()


def test_client_authentication_errors(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    assert zoho_error(exchange(admin, code, dc, client_secret="wrong")) == "invalid_client_secret"
    assert zoho_error(exchange(admin, code, dc, client_secret=None)) == "invalid_client"
    assert zoho_error(exchange(admin, code, dc, client_id="1000.UNKNOWN")) == "invalid_client"
    assert "access_token" in exchange(admin, code, dc).json()


# -- per-DC client secrets -------------------------------------------------------------------

PER_DC = "1000.PERDCSECRETS"
COMMON, EU_SECRET, IN_SECRET = "common-secret", "eu-only-secret", "in-only-secret"


def register_per_dc(admin: httpx.Client, common: str | None = COMMON) -> None:
    body: dict[str, object] = {
        "client_id": PER_DC,
        "client_secrets": {"eu": EU_SECRET, "in": IN_SECRET},
        "redirect_uris": [REDIRECT_URI],
    }
    if common is not None:
        body["client_secret"] = common
    r = admin.post("/_emulator/clients", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["per_dc_secrets"] == ["eu", "in"]


def per_dc_login(admin: httpx.Client, dc: str, secret: str) -> httpx.Response:
    code, location = new_code(admin, user_in(admin, dc), client_id=PER_DC)
    assert location == dc
    return exchange(admin, code, dc, client_id=PER_DC, client_secret=secret)


@pytest.mark.parametrize(
    ("dc", "right", "wrong"),
    [("eu", EU_SECRET, COMMON), ("in", IN_SECRET, EU_SECRET), ("us", COMMON, EU_SECRET)],
)
def test_each_dc_takes_its_own_secret_or_the_common_one(
    admin: httpx.Client, dc: str, right: str, wrong: str
) -> None:
    register_per_dc(admin)
    code, _ = new_code(admin, user_in(admin, dc), client_id=PER_DC)
    assert zoho_error(exchange(admin, code, dc, client_id=PER_DC, client_secret=wrong)) == (
        "invalid_client_secret"
    )
    body = exchange(admin, code, dc, client_id=PER_DC, client_secret=right).json()
    assert "access_token" in body
    rt = body["refresh_token"]
    assert zoho_error(refresh(admin, rt, dc, client_id=PER_DC, client_secret=wrong)) == (
        "invalid_client_secret"
    )
    assert "access_token" in refresh(admin, rt, dc, client_id=PER_DC, client_secret=right).json()


def test_a_client_with_only_per_dc_secrets_is_off_elsewhere(admin: httpx.Client) -> None:
    register_per_dc(admin, common=None)
    assert "access_token" in per_dc_login(admin, "eu", EU_SECRET).json()
    # Not enabled in the US: Zoho's answer for a client not on in that DC.
    for secret in (EU_SECRET, COMMON):
        assert zoho_error(per_dc_login(admin, "us", secret)) == "invalid_client"
    sc = admin.post(
        "/_emulator/self-client/code", json={"client_id": PER_DC, "email": user_in(admin, "in")}
    )
    assert sc.status_code == 200
    body = exchange(
        admin, sc.json()["code"], "in", client_id=PER_DC, client_secret=IN_SECRET, redirect_uri=None
    ).json()
    assert "access_token" in body


def test_the_newer_revoke_path_checks_the_dcs_secret(admin: httpx.Client) -> None:
    register_per_dc(admin)
    body = per_dc_login(admin, "eu", EU_SECRET).json()
    url = "/eu/accounts/oauth/v2/revoke/token"

    def basic(secret: str) -> dict[str, str]:
        raw = base64.b64encode(f"{PER_DC}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    refused = admin.post(url, data={"token": body["refresh_token"]}, headers=basic(COMMON))
    assert refused.status_code == 400
    assert refused.json() == {"status": "failure", "error": "invalid_client_secret"}
    ok = admin.post(url, data={"token": body["refresh_token"]}, headers=basic(EU_SECRET))
    assert ok.json() == {"status": "success"}


def test_a_code_is_bound_to_its_client(admin: httpx.Client, oauth_client: str) -> None:
    register_client(admin, client_id="1000.OTHER", secret="other-secret")
    code, dc = new_code(admin, user_in(admin, "us"))
    r = exchange(admin, code, dc, client_id="1000.OTHER", client_secret="other-secret")
    assert zoho_error(r) == "invalid_code"


def test_self_client_codes_are_exchanged_without_redirect_uri(
    admin: httpx.Client, oauth_client: str
) -> None:
    sc = admin.post(
        "/_emulator/self-client/code",
        json={"client_id": CLIENT_ID, "email": user_in(admin, "in"), "scope": "ZohoCRM.users.ALL"},
    ).json()
    body = exchange(admin, sc["code"], sc["location"], redirect_uri=None).json()
    assert body["scope"] == "ZohoCRM.users.ALL"
    assert TOKEN_RE.match(body["refresh_token"])


# -- PKCE ------------------------------------------------------------------------------------

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
S256_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_challenge_matches_rfc7636_example() -> None:
    digest = hashlib.sha256(VERIFIER.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == S256_CHALLENGE


@pytest.mark.parametrize(
    ("challenge", "method"),
    [(S256_CHALLENGE, "S256"), (VERIFIER, "plain"), (VERIFIER, None)],
    ids=["S256", "plain", "plain-by-default"],
)
def test_pkce_right_verifier_works(
    admin: httpx.Client, oauth_client: str, challenge: str, method: str | None
) -> None:
    code, dc = new_code(
        admin, user_in(admin, "us"), code_challenge=challenge, code_challenge_method=method
    )
    assert "access_token" in exchange(admin, code, dc, code_verifier=VERIFIER).json()


@pytest.mark.parametrize("verifier", [None, "", "wrong-verifier-" * 3, S256_CHALLENGE])
@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce_wrong_or_missing_verifier_fails_and_burns_the_code(
    admin: httpx.Client, oauth_client: str, method: str, verifier: str | None
) -> None:
    challenge = S256_CHALLENGE if method == "S256" else VERIFIER
    if method == "plain" and verifier == S256_CHALLENGE:
        verifier = VERIFIER.upper()
    code, dc = new_code(
        admin, user_in(admin, "us"), code_challenge=challenge, code_challenge_method=method
    )
    assert zoho_error(exchange(admin, code, dc, code_verifier=verifier)) == "invalid_code"
    assert zoho_error(exchange(admin, code, dc, code_verifier=VERIFIER)) == "invalid_code"


def test_a_verifier_without_a_challenge_is_ignored(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    assert "access_token" in exchange(admin, code, dc, code_verifier=VERIFIER).json()


# -- online / offline, and the first-consent rule --------------------------------------------


@pytest.mark.parametrize("access_type", ["online", None])
def test_online_access_gives_no_refresh_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, access_type: str | None
) -> None:
    body, _ = login(admin, user_in(admin, "us"), access_type=access_type)
    assert "refresh_token" not in body
    assert TOKEN_RE.match(body["access_token"])
    assert emulator.state.authenticate(body["access_token"]) is not None


def test_offline_gives_a_refresh_token_only_on_first_consent(
    admin: httpx.Client, oauth_client: str
) -> None:
    ava, ben = user_in(admin, "us"), "ben@zylker.com"
    first, _ = login(admin, ava, prompt=None)
    assert "refresh_token" in first
    again, _ = login(admin, ava, prompt=None)
    assert "refresh_token" not in again  # only on first consent
    assert "access_token" in again
    forced, _ = login(admin, ava, prompt="consent")
    assert "refresh_token" in forced
    # Per user: another user's first consent still gets one.
    assert "refresh_token" in login(admin, ben, prompt=None)[0]


def test_the_first_consent_rule_is_per_client(admin: httpx.Client, oauth_client: str) -> None:
    register_client(admin, client_id="1000.SECOND", secret="s2")
    ava = user_in(admin, "us")
    assert "refresh_token" in login(admin, ava, prompt=None)[0]
    code, dc = new_code(admin, ava, prompt=None, client_id="1000.SECOND")
    body = exchange(admin, code, dc, client_id="1000.SECOND", client_secret="s2").json()
    assert "refresh_token" in body


def test_an_online_consent_does_not_use_up_the_first_offline_one(
    admin: httpx.Client, oauth_client: str
) -> None:
    ava = user_in(admin, "us")
    login(admin, ava, access_type="online", prompt=None)
    assert "refresh_token" in login(admin, ava, prompt=None)[0]


def test_removing_the_app_makes_the_next_consent_first_again(
    admin: httpx.Client, oauth_client: str
) -> None:
    ava = user_in(admin, "us")
    login(admin, ava, prompt=None)
    assert "refresh_token" not in login(admin, ava, prompt=None)[0]
    admin.post("/_emulator/revoke-user", json={"email": ava})
    assert "refresh_token" in login(admin, ava, prompt=None)[0]


def test_the_first_consent_rule_can_be_switched_off(admin: httpx.Client, oauth_client: str) -> None:
    r = admin.post("/_emulator/config", json={"refresh_token_only_on_first_consent": False})
    assert r.status_code == 200
    ava = user_in(admin, "us")
    assert "refresh_token" in login(admin, ava, prompt=None)[0]
    assert "refresh_token" in login(admin, ava, prompt=None)[0]


# -- refresh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dc", ["us", "eu", "in"])
def test_refresh_gives_a_new_access_token_and_no_refresh_token(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, dc: str
) -> None:
    first, home = login(admin, user_in(admin, dc))
    assert home == dc
    r = refresh(admin, first["refresh_token"], dc)
    assert r.status_code == 200
    assert r.headers["content-type"] == ZOHO_JSON
    body = r.json()
    assert set(body) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert TOKEN_RE.match(body["access_token"])
    assert body["access_token"] != first["access_token"]
    assert body["api_domain"] == first["api_domain"]
    assert body["scope"] == first["scope"]
    assert body["expires_in"] == 3600
    # The earlier access token stays valid until it expires or is evicted.
    assert emulator.state.authenticate(first["access_token"]) is not None
    assert emulator.state.authenticate(body["access_token"]) is not None
    stats = admin.get("/_emulator/stats").json()
    assert stats["token_requests"]["refresh_token"] == 1
    assert stats["refresh_by_dc"] == {dc: 1}


def test_refresh_errors(admin: httpx.Client, oauth_client: str) -> None:
    first, dc = login(admin, user_in(admin, "eu"))
    rt = first["refresh_token"]
    assert zoho_error(refresh(admin, rt, "us")) == "invalid_code"  # unknown in another DC
    assert zoho_error(refresh(admin, rt, dc, client_secret="nope")) == "invalid_client_secret"
    assert zoho_error(refresh(admin, rt, dc, client_id="1000.NOPE")) == "invalid_client"
    assert zoho_error(refresh(admin, "1000." + "0" * 32 + "." + "1" * 32, dc)) == "invalid_code"
    assert zoho_error(refresh(admin, first["access_token"], dc)) == "invalid_code"
    register_client(admin, client_id="1000.OTHER", secret="o")
    assert zoho_error(refresh(admin, rt, dc, client_id="1000.OTHER", client_secret="o")) == (
        "invalid_code"
    )
    assert "access_token" in refresh(admin, rt, dc).json()


# -- malformed requests: Zoho-style errors, HTTP 200 -----------------------------------------

MALFORMED = {
    "no grant_type": ({"client_id": CLIENT_ID, "code": "x"}, "invalid_request"),
    "empty grant_type": ({"grant_type": ""}, "invalid_request"),
    "password grant": ({"grant_type": "password", "username": "a"}, "unsupported_grant_type"),
    "client_credentials": ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    "code missing": (
        {"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": "s"},
        "invalid_request",
    ),
    "client_id missing": ({"grant_type": "authorization_code", "code": "c"}, "invalid_request"),
    "refresh_token missing": (
        {"grant_type": "refresh_token", "client_id": CLIENT_ID},
        "invalid_request",
    ),
    "nothing at all": ({}, "invalid_request"),
}


@pytest.mark.parametrize(("params", "error"), MALFORMED.values(), ids=list(MALFORMED))
@pytest.mark.parametrize("in_query", [False, True], ids=["body", "query"])
def test_malformed_requests_get_an_error_body_with_http_200(
    admin: httpx.Client, oauth_client: str, params: dict[str, str], error: str, in_query: bool
) -> None:
    assert zoho_error(token_call(admin, "us", params, in_query)) == error


def test_body_parameters_win_over_query_parameters(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    r = admin.post(
        f"/{dc}/accounts/oauth/v2/token",
        params={"client_secret": "wrong", "code": "bogus"},
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT_URI,
            "code": code,
        },
    )
    assert "access_token" in r.json()


def test_a_json_body_is_not_read_as_parameters(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    params = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "code": code,
    }
    r = admin.post(f"/{dc}/accounts/oauth/v2/token", json=params)
    assert zoho_error(r) == "invalid_request"
    assert "access_token" in exchange(admin, code, dc).json()


def test_multipart_form_bodies_are_read(admin: httpx.Client, oauth_client: str) -> None:
    code, dc = new_code(admin, user_in(admin, "us"))
    fields = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "code": code,
    }
    r = admin.post(
        f"/{dc}/accounts/oauth/v2/token",
        files={k: (None, v) for k, v in fields.items()},
    )
    assert "access_token" in r.json()


def test_the_token_endpoint_is_post_only(admin: httpx.Client) -> None:
    assert admin.get("/us/accounts/oauth/v2/token").status_code == 405


def test_an_unknown_dc_prefix_is_404(admin: httpx.Client, oauth_client: str) -> None:
    code, _ = new_code(admin, user_in(admin, "us"))
    assert exchange(admin, code, "xx").status_code == 404
    assert exchange(admin, code, "ae").status_code == 404  # a Zoho DC the emulator lacks
