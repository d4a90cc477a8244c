"""The data-center registry is an allow-list: exact matches only."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zohoauth.datacenters import ZOHO_DATA_CENTERS, DataCenterRegistry, normalize_url
from zohoauth.emulator import BackgroundEmulator
from zohoauth.errors import ConfigError, DataCenterError, MixUpError


def test_zoho_has_the_nine_dcs_and_two_sign_ins() -> None:
    reg = DataCenterRegistry.zoho()
    assert set(reg.codes) == {"us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"}
    assert reg.get("EU").accounts_server == "https://accounts.zoho.eu"
    assert reg.get("ca").accounts_server == "https://accounts.zohocloud.ca"
    uk = reg.get("uk")
    assert (uk.name, uk.accounts_server) == ("United Kingdom", "https://accounts.zoho.uk")
    assert uk.api_domains == (
        "https://www.zohoapis.uk",
        "https://sandbox.zohoapis.uk",
        "https://developer.zohoapis.uk",
    )
    assert reg.login_dc.code == "us"
    assert [e.code for e in reg.entries] == ["us", "cn"]
    assert {dc.code for dc in reg if dc.multi_dc} == set(reg.codes) - {"cn"}
    assert reg.entry_of("cn").accounts_server == "https://accounts.zoho.com.cn"
    assert reg.entry_of("uk").accounts_server == "https://accounts.zoho.com"


@pytest.mark.parametrize(
    ("dc", "url", "ok"),
    [
        ("eu", "https://accounts.zoho.eu", True),
        ("eu", "https://Accounts.Zoho.EU/", False),  # exact, as Zoho sends it (RFC 9207)
        ("eu", "https://accounts.zoho.eu/", False),
        ("eu", "https://accounts.zoho.eu:443", False),
        ("eu", "https://accounts.zoho.eu\\@evil.example", False),
        ("eu", " https://accounts.zoho.eu", False),
        ("eu", "http://accounts.zoho.eu", False),
        ("eu", "https://accounts.zoho.com", False),
        ("eu", "https://accounts.zoho.eu.evil.example", False),
        ("eu", "https://evil.example/accounts.zoho.eu", False),
        ("eu", "https://accounts.zoho.eu@evil.example", False),
        ("eu", "https://accounts.zoho.eu:8443", False),
        ("xx", "https://accounts.zoho.eu", False),
        ("uk", "https://accounts.zoho.uk", True),
        ("uk", "https://accounts.zoho.uk.evil.example", False),
        ("uk", "https://accounts.zoho.co.uk", False),
        ("au", "https://accounts.zoho.com.au", True),
        ("au", "https://accounts.zoho.au", True),  # Zoho's newer name, exact (see the table)
        ("au", "https://accounts.zoho.au.evil.example", False),
        ("au", "https://evil.example/accounts.zoho.au", False),
        ("eu", "https://accounts.zoho.au", False),  # an alias belongs to its DC only
        ("cn", "https://accounts.zoho.com.cn", True),
        ("cn", "https://accounts.zoho.com", False),
        ("eu", "not a url", False),
        ("eu", "", False),
    ],
)
def test_accounts_server_must_match_exactly(dc: str, url: str, ok: bool) -> None:
    assert DataCenterRegistry.zoho().is_accounts_server(dc, url) is ok


def test_api_domains_include_sandbox_and_developer_of_the_same_dc_only() -> None:
    reg = DataCenterRegistry.zoho()
    assert reg.is_api_domain("in", "https://www.zohoapis.in")
    assert reg.is_api_domain("in", "https://sandbox.zohoapis.in")
    assert reg.is_api_domain("in", "https://developer.zohoapis.in/")
    assert not reg.is_api_domain("in", "https://www.zohoapis.com")
    assert not reg.is_api_domain("in", "https://www.zohoapis.in.evil.example")
    assert reg.dc_of_api_domain("https://www.zohoapis.com.au") == ZOHO_DATA_CENTERS["au"]
    assert reg.dc_of_api_domain("https://example.com") is None


def test_unknown_dc_is_a_clear_error() -> None:
    with pytest.raises(DataCenterError, match="known: us, eu"):
        DataCenterRegistry.zoho().get("mars")


def test_normalize_url_rejects_non_http() -> None:
    with pytest.raises(DataCenterError):
        normalize_url("ftp://accounts.zoho.com")


def test_load_from_emulator_endpoints(emulator: BackgroundEmulator) -> None:
    reg = DataCenterRegistry.load(emulator.url + "/_emulator/endpoints")
    assert set(reg.codes) == set(DataCenterRegistry.zoho().codes)
    assert reg.is_accounts_server("jp", f"{emulator.url}/jp/accounts")
    assert not reg.is_accounts_server("jp", f"{emulator.url}/us/accounts")
    assert reg.is_api_domain("sa", f"{emulator.url}/sa/api")
    assert reg.is_accounts_server("uk", f"{emulator.url}/uk/accounts")
    assert reg.get("uk").name == "United Kingdom"
    assert {dc.code: dc.login_dc for dc in reg} == {
        dc.code: dc.login_dc for dc in DataCenterRegistry.zoho()
    }
    assert reg.entry_of("cn").accounts_server == f"{emulator.url}/cn/accounts"


def test_endpoints_without_login_dc_keep_working() -> None:
    """Documents from before China's own sign-in: every DC signs in at "us" (or at itself
    when there is no "us"), as they did."""
    old = {
        code: {"accounts_server": f"https://a.example/{code}", "api_domain": f"https://b/{code}"}
        for code in ("us", "eu", "cn")
    }
    reg = DataCenterRegistry.from_endpoints(old)
    assert {dc.login_dc for dc in reg} == {"us"}
    alone = DataCenterRegistry.from_endpoints({"eu": old["eu"]})
    assert alone.login_dc.code == "eu"
    with pytest.raises(ConfigError, match="login_dc"):
        DataCenterRegistry.from_endpoints({"eu": {**old["eu"], "login_dc": "mars"}})


def test_load_from_file_and_bad_sources(tmp_path: Path, emulator: BackgroundEmulator) -> None:
    doc = httpx.get(emulator.url + "/_emulator/endpoints").json()
    f = tmp_path / "eps.json"
    f.write_text(json.dumps(doc))
    assert (
        DataCenterRegistry.load(str(f)).codes
        == DataCenterRegistry.load(emulator.url + "/_emulator/endpoints").codes
    )
    with pytest.raises(ConfigError, match="ZOHOAUTH_ZOHO_ENDPOINTS"):
        DataCenterRegistry.load(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="is the emulator running"):
        DataCenterRegistry.load("http://127.0.0.1:1/_emulator/endpoints")
    f.write_text(json.dumps({"us": {"accounts_server": "x"}}))
    with pytest.raises(ConfigError, match="api_domain"):
        DataCenterRegistry.load(str(f))
    assert DataCenterRegistry.load(None).codes == DataCenterRegistry.zoho().codes


# -- RFC 9207: the callback's accounts-server is compared as a string, exactly -------------
#: Every accounts server (and alias) of Zoho's table, with its DC: the forms Zoho sends.
EXACT = [
    (dc.code, url)
    for dc in ZOHO_DATA_CENTERS.values()
    for url in (dc.accounts_server, *dc.accounts_aliases)
]


def _rewrites(url: str) -> list[str]:
    """Forms some parser reads as the same accounts server, or as another host entirely."""
    scheme, _, host = url.partition("://")
    return [
        url + "/",
        url + "/.",
        url + "//",
        url.upper(),
        f"{scheme}://{host.upper()}",
        f"{scheme}://{host}.",  # a fully qualified name: the same host to DNS
        f"{scheme.upper()}://{host}",
        f"http://{host}",
        f"{scheme}://{host}:443",
        f"{scheme}://{host}:8443",
        f"{scheme}://user@{host}",
        f"{scheme}://{host}@evil.example",
        f"{scheme}://{host}\\@evil.example",
        f"{scheme}:\\\\{host}",
        f"{scheme}:/{host}",
        f"{scheme}:///{host}",
        f"{scheme}://{host}\\",
        f"{scheme}://{host}?",
        f"{scheme}://{host}#",
        f"{scheme}://{host}?next=https://evil.example",
        f"{scheme}://{host}#@evil.example",
        f"{scheme}://{host.replace('.', '%2e')}",
        f"{scheme}://{host}%00.evil.example",
        f" {url}",
        f"{url} ",
        f"{url}\t",
        f"{url}\n",
        f"{scheme}:// {host}",
    ]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, str]:
    """(dc, Zoho's form, that form rewritten, or with a few characters put in or taken out)."""
    dc, url = draw(st.sampled_from(EXACT))
    kind = draw(st.sampled_from(["rewrite", "insert", "delete"]))
    if kind == "rewrite":
        return dc, url, draw(st.sampled_from(_rewrites(url)))
    at = draw(st.integers(0, len(url) - 1))
    if kind == "insert":
        return dc, url, url[:at] + draw(st.text(min_size=1, max_size=3)) + url[at:]
    return dc, url, url[:at] + url[at + draw(st.integers(1, 3)) :]


@settings(max_examples=500, deadline=None)
@given(mutated())
def test_only_the_exact_form_zoho_sends_is_an_accounts_server(
    case: tuple[str, str, str],
) -> None:
    dc, url, form = case
    reg = DataCenterRegistry.zoho()
    assert reg.is_accounts_server(dc, url)
    exact = {u for code, u in EXACT if code == dc}
    # Accepted exactly when the mutation happens to spell one of the DC's own forms (an
    # insertion can turn accounts.zoho.au into accounts.zoho.com.au, both Australia's).
    assert reg.is_accounts_server(dc, form) is (form in exact), form


def test_a_callback_with_any_other_form_is_refused_with_a_clear_login_error() -> None:
    from zohoauth.oauth import Callback, OAuthClient, start_login, verify_callback

    reg = DataCenterRegistry.zoho()
    client = OAuthClient("1000.ID", "s", "https://app.example/redirect.html")
    for dc, url in EXACT:
        for form in [url, *_rewrites(url)]:
            pending = start_login(reg, client, 1000.0, region="cn" if dc == "cn" else None)
            params = {"state": pending.state, "code": "1000.x.y", "location": dc}
            callback = Callback.from_params({**params, "accounts-server": form})
            if form == url:
                assert verify_callback(reg, pending, callback, 1001.0).code == dc
                continue
            with pytest.raises(MixUpError, match="accounts server is not Zoho's"):
                verify_callback(reg, pending, callback, 1001.0)
