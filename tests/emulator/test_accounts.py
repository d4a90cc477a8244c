"""The emulator's Zoho Accounts consent page (`/oauth/v2/auth`), over real HTTP.

Also home of the small helpers the other `test_accounts*` / `test_grants*` modules share: a
registered client, a consent that returns a code, a code exchange, a refresh.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator

TOKEN_RE = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
ZOHO_JSON = "application/json;charset=UTF-8"
CLIENT_ID = "1000.ACCOUNTS0TEST0CLIENT0000000"
CLIENT_SECRET = "accounts-test-secret-0123456789abcdef"
CLIENT_NAME = "Acme CRM Sync"
REDIRECT_URI = "http://app.example.test/oauth/callback"
SCOPE = "ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"
ALL_DCS = ("us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk")
MULTI_DC = tuple(dc for dc in ALL_DCS if dc != "cn")


# -- shared helpers ------------------------------------------------------------------------


def register_client(
    admin: httpx.Client,
    client_id: str = CLIENT_ID,
    secret: str = CLIENT_SECRET,
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
    name: str = CLIENT_NAME,
) -> None:
    r = admin.post(
        "/_emulator/clients",
        json={
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": list(redirect_uris),
            "name": name,
        },
    )
    assert r.status_code == 201, r.text


def user_in(admin: httpx.Client, dc: str) -> str:
    """The email of a seeded user in `dc`."""
    users = admin.get("/_emulator/users").json()["users"]
    return next(u["email"] for u in users if u["dc"] == dc)


def endpoints(admin: httpx.Client) -> dict[str, dict[str, str]]:
    eps: dict[str, dict[str, str]] = admin.get("/_emulator/endpoints").json()
    return eps


def auth_params(**overrides: str | None) -> dict[str, str]:
    """A valid authorization request; an override of None drops that parameter."""
    params: dict[str, str | None] = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "access_type": "offline",
        "prompt": "consent",
        "state": "st-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def consent(
    admin: httpx.Client,
    email: str,
    decision: str = "accept",
    dc_path: str = "us",
    **overrides: str | None,
) -> httpx.Response:
    """POST the consent form as a browser would after the user typed `email`."""
    data = auth_params(**overrides)
    data.update(email=email, decision=decision)
    return admin.post(f"/{dc_path}/accounts/oauth/v2/auth", data=data)


def redirect_query(resp: httpx.Response, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The query of a 302 to `redirect_uri` (checked), as a dict."""
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.split("?", 1)[0] == redirect_uri.split("?", 1)[0]
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def new_code(admin: httpx.Client, email: str, **overrides: str | None) -> tuple[str, str]:
    """(code, location) from an accepted consent."""
    q = redirect_query(
        consent(admin, email, **overrides), overrides.get("redirect_uri") or REDIRECT_URI
    )
    return q["code"], q["location"]


def token_call(
    admin: httpx.Client, dc: str, params: dict[str, str], in_query: bool = False
) -> httpx.Response:
    url = f"/{dc}/accounts/oauth/v2/token"
    if in_query:
        return admin.post(url, params=params)
    return admin.post(url, data=params)


def exchange(
    admin: httpx.Client, code: str, dc: str, in_query: bool = False, **extra: str | None
) -> httpx.Response:
    params: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "code": code,
    }
    params.update(extra)
    return token_call(admin, dc, {k: v for k, v in params.items() if v is not None}, in_query)


def refresh(
    admin: httpx.Client, refresh_token: str, dc: str, **extra: str | None
) -> httpx.Response:
    params: dict[str, str | None] = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    params.update(extra)
    return token_call(admin, dc, {k: v for k, v in params.items() if v is not None})


def login(admin: httpx.Client, email: str, **overrides: str | None) -> tuple[dict[str, Any], str]:
    """A full consent + exchange: (token response body, the user's DC)."""
    code, dc = new_code(admin, email, **overrides)
    body: dict[str, Any] = exchange(admin, code, dc).json()
    assert "access_token" in body, body
    return body, dc


class FormParser(HTMLParser):
    """Collects the consent form's action, inputs and buttons, and every data-testid."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method: str | None = None
        self.inputs: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []
        self.testids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-testid"):
            self.testids.add(str(a["data-testid"]))
        if tag == "form":
            self.action, self.method = a.get("action"), a.get("method")
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "button":
            self.buttons.append(a)

    def hidden(self) -> dict[str, str]:
        return {
            str(i["name"]): str(i.get("value") or "")
            for i in self.inputs
            if i.get("type") == "hidden"
        }


def parse_form(text: str) -> FormParser:
    parser = FormParser()
    parser.feed(text)
    return parser


@pytest.fixture
def oauth_client(admin: httpx.Client) -> str:
    register_client(admin)
    return CLIENT_ID


# -- the page --------------------------------------------------------------------------------


def test_consent_page_shows_client_scopes_and_the_form(
    admin: httpx.Client, oauth_client: str
) -> None:
    before = admin.get("/_emulator/stats").json()["consent_pages"]
    params = auth_params(code_challenge="abc" * 15, code_challenge_method="S256")
    r = admin.get("/us/accounts/oauth/v2/auth", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "location" not in r.headers
    form = parse_form(r.text)
    assert {"email", "accept", "reject"} <= form.testids
    email_input = next(i for i in form.inputs if i.get("data-testid") == "email")
    assert email_input["name"] == "email"
    assert {b.get("data-testid") for b in form.buttons} == {"accept", "reject"}
    assert form.method == "post"
    assert form.action == "/us/accounts/oauth/v2/auth"
    # Every request parameter travels on in a hidden field.
    assert form.hidden() == {**params, "scope": SCOPE}
    assert CLIENT_NAME in r.text
    for scope in SCOPE.split(","):
        assert scope in r.text
    assert admin.get("/_emulator/stats").json()["consent_pages"] == before + 1


def test_consent_page_is_not_cached_framed_or_leaking_the_referrer(
    admin: httpx.Client, oauth_client: str
) -> None:
    r = admin.get("/us/accounts/oauth/v2/auth", params=auth_params())
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_scopes_may_be_separated_by_spaces(admin: httpx.Client, oauth_client: str) -> None:
    r = admin.get(
        "/us/accounts/oauth/v2/auth", params=auth_params(scope="ZohoCRM.users.READ ZohoCRM.org.ALL")
    )
    assert r.status_code == 200
    assert parse_form(r.text).hidden()["scope"] == "ZohoCRM.users.READ,ZohoCRM.org.ALL"


@pytest.mark.parametrize("dc", ALL_DCS)
def test_consent_page_is_served_under_every_dc_prefix(
    admin: httpx.Client, oauth_client: str, dc: str
) -> None:
    r = admin.get(f"/{dc}/accounts/oauth/v2/auth", params=auth_params())
    assert r.status_code == 200
    assert parse_form(r.text).action == f"/{dc}/accounts/oauth/v2/auth"


def test_everything_on_the_page_is_escaped(admin: httpx.Client) -> None:
    evil = '<script>alert("x")</script>'
    register_client(admin, name=f"Evil {evil}")
    r = admin.get(
        "/us/accounts/oauth/v2/auth",
        params=auth_params(state=f'"><img src=x onerror=alert(1)>{evil}', scope=f"A.b,{evil}"),
    )
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "<img" not in r.text
    assert html.escape(evil) in r.text
    # The escaped state still round-trips through the hidden field intact.
    assert parse_form(r.text).hidden()["state"] == f'"><img src=x onerror=alert(1)>{evil}'


# -- requests refused before any page: an error page, never a redirect -----------------------

REFUSED = {
    "unknown client": {"client_id": "1000.NOPE"},
    "missing client": {"client_id": None},
    "redirect not registered": {"redirect_uri": "http://evil.example/cb"},
    "redirect prefix only": {"redirect_uri": REDIRECT_URI + "/more"},
    "redirect with extra query": {"redirect_uri": REDIRECT_URI + "?x=1"},
    "redirect case differs": {"redirect_uri": REDIRECT_URI.upper()},
    "missing redirect": {"redirect_uri": None},
    "response_type token": {"response_type": "token"},
    "missing response_type": {"response_type": None},
    "missing scope": {"scope": None},
    "blank scope": {"scope": " , "},
    "bad access_type": {"access_type": "forever"},
    "bad challenge method": {"code_challenge": "x" * 43, "code_challenge_method": "S512"},
    "oversized state": {"state": "s" * 5000},
}


@pytest.mark.parametrize("overrides", REFUSED.values(), ids=list(REFUSED))
def test_bad_requests_get_an_error_page_and_no_redirect(
    admin: httpx.Client, oauth_client: str, overrides: dict[str, str | None]
) -> None:
    before = admin.get("/_emulator/stats").json()["consent_pages"]
    r = admin.get("/us/accounts/oauth/v2/auth", params=auth_params(**overrides))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "consent-error" in r.text
    assert 'data-testid="accept"' not in r.text
    # The same request tampered into the form's POST is refused the same way.
    posted = consent(admin, user_in(admin, "us"), **overrides)
    assert posted.status_code == 400
    assert "location" not in posted.headers
    assert admin.get("/_emulator/stats").json()["consent_pages"] == before


def test_error_pages_name_the_problem(admin: httpx.Client, oauth_client: str) -> None:
    r = admin.get("/us/accounts/oauth/v2/auth", params=auth_params(client_id="1000.NOPE"))
    assert "Invalid client" in r.text
    r = admin.get("/us/accounts/oauth/v2/auth", params=auth_params(redirect_uri="http://x/cb"))
    assert "Invalid redirect URI" in r.text
    assert "http://x/cb" in r.text


def test_unknown_dc_prefix_is_404_without_redirect(admin: httpx.Client, oauth_client: str) -> None:
    r = admin.get("/mars/accounts/oauth/v2/auth", params=auth_params())
    assert r.status_code == 404
    assert "location" not in r.headers
    posted = consent(admin, user_in(admin, "us"), dc_path="mars")
    assert posted.status_code == 404
    assert "location" not in posted.headers


# -- the decision ----------------------------------------------------------------------------


@pytest.mark.parametrize("dc", MULTI_DC)
def test_accept_redirects_with_code_state_and_the_users_own_dc(
    admin: httpx.Client, oauth_client: str, dc: str
) -> None:
    r = consent(admin, user_in(admin, dc))
    q = redirect_query(r)
    assert TOKEN_RE.match(q["code"])
    assert q["state"] == "st-123"
    assert q["location"] == dc
    assert q["accounts-server"] == endpoints(admin)[dc]["accounts_server"]
    assert set(q) == {"code", "state", "location", "accounts-server"}


def test_the_grant_belongs_to_the_users_dc_whatever_page_served_it(
    admin: httpx.Client, oauth_client: str
) -> None:
    q = redirect_query(consent(admin, user_in(admin, "eu"), dc_path="in"))
    assert q["location"] == "eu"
    assert q["accounts-server"] == endpoints(admin)["eu"]["accounts_server"]
    assert (
        exchange(admin, q["code"], "eu").json()["api_domain"]
        == endpoints(admin)["eu"]["api_domain"]
    )


def test_email_is_matched_case_insensitively(admin: httpx.Client, oauth_client: str) -> None:
    q = redirect_query(consent(admin, "  " + user_in(admin, "in").upper() + " "))
    assert q["location"] == "in"


def test_state_is_omitted_when_not_sent(admin: httpx.Client, oauth_client: str) -> None:
    q = redirect_query(consent(admin, user_in(admin, "us"), state=None))
    assert "state" not in q
    assert "code" in q
    q = redirect_query(consent(admin, user_in(admin, "us"), decision="reject", state=None))
    assert q == {"error": "access_denied"}


def test_state_round_trips_exactly(admin: httpx.Client, oauth_client: str) -> None:
    odd = "a b&c=d/é?#%2F+"
    assert redirect_query(consent(admin, user_in(admin, "us"), state=odd))["state"] == odd


def test_redirect_uri_with_its_own_query_keeps_it(admin: httpx.Client) -> None:
    uri = "https://app.example.test/cb?tenant=7"
    register_client(admin, redirect_uris=(REDIRECT_URI, uri))
    r = consent(admin, user_in(admin, "us"), redirect_uri=uri)
    q = redirect_query(r, uri)
    assert q["tenant"] == "7"
    assert "code" in q


def test_reject_redirects_with_access_denied(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str
) -> None:
    r = consent(admin, "", decision="reject")
    assert redirect_query(r) == {"error": "access_denied", "state": "st-123"}
    assert not emulator.state.codes  # no code was issued


@pytest.mark.parametrize("email", ["nobody@nowhere.example", ""])
def test_unknown_or_missing_email_shows_the_form_again(
    admin: httpx.Client, oauth_client: str, email: str
) -> None:
    r = consent(admin, email)
    assert r.status_code == 200
    assert "location" not in r.headers
    form = parse_form(r.text)
    assert {"email", "accept", "reject", "consent-error"} <= form.testids
    assert form.hidden()["state"] == "st-123"
    if email:
        assert email in r.text
        assert "No Zoho account" in r.text
    # And it still works once a real account is typed.
    data = {**form.hidden(), "email": user_in(admin, "us"), "decision": "accept"}
    assert "code" in redirect_query(admin.post(str(form.action), data=data))


def test_a_missing_decision_shows_the_form_again(admin: httpx.Client, oauth_client: str) -> None:
    r = consent(admin, user_in(admin, "us"), decision="maybe")
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "Choose Accept or Reject" in r.text


def test_the_form_as_a_browser_submits_it_round_trips(
    admin: httpx.Client, oauth_client: str
) -> None:
    """GET the page, then POST exactly its hidden fields plus the typed email and button."""
    page = parse_form(
        admin.get(
            "/us/accounts/oauth/v2/auth",
            params=auth_params(code_challenge="plainchallenge" * 4, code_challenge_method=None),
        ).text
    )
    data = {**page.hidden(), "email": user_in(admin, "eu"), "decision": "accept"}
    q = redirect_query(admin.post(str(page.action), data=data))
    assert q["location"] == "eu"
    ok = exchange(admin, q["code"], "eu", code_verifier="plainchallenge" * 4)
    assert "access_token" in ok.json()


# -- two sign-in worlds: Multi-DC at the US server, China at its own -------------------------

CHINA_USER = "li@dragongate.cn"


def test_a_uk_user_signs_in_at_the_us_server_and_gets_a_uk_code(
    admin: httpx.Client, oauth_client: str
) -> None:
    q = redirect_query(consent(admin, "isla@thamesledger.co.uk"))
    assert q["location"] == "uk"
    assert q["accounts-server"] == endpoints(admin)["uk"]["accounts_server"]
    body = exchange(admin, q["code"], "uk").json()
    assert body["api_domain"] == endpoints(admin)["uk"]["api_domain"]


def test_a_china_user_signs_in_at_the_china_server(admin: httpx.Client, oauth_client: str) -> None:
    page = admin.get("/cn/accounts/oauth/v2/auth", params=auth_params())
    assert page.status_code == 200
    assert "accounts.zoho.com.cn" in page.text  # China's own page
    form = parse_form(page.text)
    assert form.action == "/cn/accounts/oauth/v2/auth"
    data = {**form.hidden(), "email": CHINA_USER, "decision": "accept"}
    q = redirect_query(admin.post(str(form.action), data=data))
    assert q["location"] == "cn"
    assert q["accounts-server"] == endpoints(admin)["cn"]["accounts_server"]
    assert q["state"] == "st-123"
    body = exchange(admin, q["code"], "cn").json()
    assert body["api_domain"] == endpoints(admin)["cn"]["api_domain"]


@pytest.mark.parametrize("page_dc", MULTI_DC)
def test_a_china_user_is_unknown_at_every_multi_dc_page(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, page_dc: str
) -> None:
    r = consent(admin, CHINA_USER, dc_path=page_dc)
    unknown = consent(admin, "nobody@nowhere.example", dc_path=page_dc)
    assert r.status_code == unknown.status_code == 200
    assert "location" not in r.headers
    assert "No Zoho account" in r.text  # exactly as for an email nobody uses
    assert r.text.replace(CHINA_USER, "X") == unknown.text.replace("nobody@nowhere.example", "X")
    assert not emulator.state.codes


@pytest.mark.parametrize("dc", MULTI_DC)
def test_a_multi_dc_user_is_unknown_at_the_china_page(
    emulator: BackgroundEmulator, admin: httpx.Client, oauth_client: str, dc: str
) -> None:
    r = consent(admin, user_in(admin, dc), dc_path="cn")
    assert r.status_code == 200
    assert "location" not in r.headers
    assert "No Zoho account" in r.text
    assert not emulator.state.codes


def test_each_page_suggests_only_its_own_accounts(admin: httpx.Client, oauth_client: str) -> None:
    us = admin.get("/us/accounts/oauth/v2/auth", params=auth_params()).text
    cn = admin.get("/cn/accounts/oauth/v2/auth", params=auth_params()).text
    assert CHINA_USER not in us
    assert "isla@thamesledger.co.uk" in us
    assert CHINA_USER in cn
    assert "ava@zylker.com" not in cn


# -- serverinfo ------------------------------------------------------------------------------


@pytest.mark.parametrize("dc", ["us", "eu", "uk"])
def test_serverinfo_lists_the_multi_dc_accounts_servers(admin: httpx.Client, dc: str) -> None:
    r = admin.get(f"/{dc}/accounts/oauth/serverinfo")
    assert r.status_code == 200
    assert r.headers["content-type"] == ZOHO_JSON
    eps = endpoints(admin)
    assert r.json() == {
        "result": "success",
        "locations": {d: eps[d]["accounts_server"] for d in MULTI_DC},
    }


def test_serverinfo_in_china_lists_china_alone(admin: httpx.Client) -> None:
    body = admin.get("/cn/accounts/oauth/serverinfo").json()
    assert body == {
        "result": "success",
        "locations": {"cn": endpoints(admin)["cn"]["accounts_server"]},
    }
    assert admin.get("/xx/accounts/oauth/serverinfo").status_code == 404
