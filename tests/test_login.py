"""Login with Zoho against the emulator: every DC (China through its own sign-in), re-login,
multi-org, forged and cross-sign-in callbacks, accepted DCs, per-DC secrets, Zoho's throttle."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import Status
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import (
    AccessDeniedError,
    AmbiguousConnectionError,
    DataCenterNotEnabledError,
    LoginError,
    LoginThrottledError,
    MixUpError,
    NotFoundError,
    StateMismatchError,
    TokenError,
)

from .support.tokens import zoho_token
from .support.trap import TrapServer
from .support.zoho import (
    consent,
    emulator_stats,
    login,
    make_auth,
    register_client,
    self_client_code,
)

DCS = ("us", "eu", "in", "au", "jp", "ca", "sa", "uk", "cn")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'zohoauth.db'}"


@pytest.fixture
async def auth(emulator: Any, sqlite_url: str, keys: str) -> AsyncIterator[ZohoAuth]:
    client = register_client(emulator.url)
    async with make_auth(emulator.url, sqlite_url, keys, client) as a:
        yield a


def _users(emulator: Any) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = httpx.get(emulator.url + "/_emulator/users").json()["users"]
    return users


@pytest.mark.parametrize("dc", DCS)
async def test_login_works_in_every_dc(emulator: Any, auth: ZohoAuth, dc: str) -> None:
    """Multi-DC users start at the default (US) sign-in; China's at China's own."""
    user = next(u for u in _users(emulator) if u["dc"] == dc)
    region = "cn" if dc == "cn" else None
    pending = auth.start_login(region)
    entry = "cn" if dc == "cn" else "us"
    assert pending.url.startswith(f"{emulator.url}/{entry}/accounts/oauth/v2/auth?")
    assert pending.login_dc == entry
    conn = await auth.complete_login(pending, str(consent(pending.url, user["email"])))
    assert conn.dc == dc
    assert conn.email == user["email"]
    assert conn.zuid == user["zuid"]
    assert conn.org_id == user["orgs"][0]["id"]
    assert conn.org_name == user["orgs"][0]["company_name"]
    tok = await auth.access_token(conn.id)
    assert tok.api_domain == f"{emulator.url}/{dc}/api"
    org = httpx.get(
        f"{tok.api_domain}/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {tok.token}"}
    )
    assert org.status_code == 200
    assert org.json()["org"][0]["zgid"] == conn.org_id


async def test_logging_in_again_updates_in_place(emulator: Any, auth: ZohoAuth) -> None:
    first = await login(auth, "clara@brightwave.eu")
    cred1 = await auth.store.get_credential(first.credential)
    second = await login(auth, "CLARA@brightwave.eu")
    cred2 = await auth.store.get_credential(second.credential)
    assert second.id == first.id
    assert cred1 is not None and cred2 is not None
    assert cred2.version > cred1.version
    assert cred2.tokens.refresh_token != cred1.tokens.refresh_token
    assert len(await auth.store.find_connections(email="clara@brightwave.eu")) == 1
    assert (await auth.connection_for("Clara@Brightwave.eu")).id == first.id


async def test_multi_org_user_gets_two_connections_sharing_one_credential(
    emulator: Any, auth: ZohoAuth
) -> None:
    base = await login(auth, "ava@zylker.com")
    other = await auth.connect_org(base.id, "80000002")
    assert other.id != base.id
    assert other.credential == base.credential
    assert {other.org_id, base.org_id} == {"80000001", "80000002"}
    assert other.org_name == "Zylker Labs"
    with pytest.raises(LoginError):
        await auth.connect_org(base.id, "80000003")  # an org Ava is not in
    with pytest.raises(AmbiguousConnectionError, match="several orgs"):
        await auth.connection_for("ava@zylker.com")
    with pytest.raises(NotFoundError, match="log that user in first"):
        await auth.connection_for("nobody@zylker.com")
    assert (await auth.connection_for("ava@zylker.com", "80000002")).id == other.id


async def test_reject_at_zoho_is_access_denied(emulator: Any, auth: ZohoAuth) -> None:
    pending = auth.start_login()
    redirect = consent(pending.url, "ava@zylker.com", decision="reject")
    assert redirect.params.get("error") == "access_denied"
    with pytest.raises(AccessDeniedError):
        await auth.complete_login(pending, str(redirect))


def _forged(
    emulator: Any, auth: ZohoAuth, email: str, **override: str
) -> tuple[Any, dict[str, str]]:
    pending = auth.start_login()
    got = self_client_code(emulator.url, auth.client, email)
    params = {
        "state": pending.state,
        "code": got["code"],
        "location": got["location"],
        "accounts-server": got["accounts_server"],
        **override,
    }
    return pending, params


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("foreign_accounts_server", MixUpError),
        ("disagreeing_location", MixUpError),
        ("unknown_location", MixUpError),
        ("wrong_state", StateMismatchError),
        ("missing_state", StateMismatchError),
    ],
)
async def test_forged_callbacks_never_reach_a_foreign_host(
    emulator: Any, auth: ZohoAuth, case: str, error: type[Exception]
) -> None:
    with TrapServer() as trap:
        before = emulator_stats(emulator.url)["token_requests"]
        overrides = {
            "foreign_accounts_server": {"accounts-server": trap.url},
            "disagreeing_location": {"location": "us"},  # code and accounts server are eu's
            "unknown_location": {"location": "zz", "accounts-server": trap.url},
            "wrong_state": {"state": "forged", "accounts-server": trap.url},
            "missing_state": {"state": ""},
        }[case]
        pending, params = _forged(emulator, auth, "clara@brightwave.eu", **overrides)
        with pytest.raises(error) as info:
            await auth.complete_login(pending, params)
        assert trap.requests == []
        after = emulator_stats(emulator.url)["token_requests"]
        assert after["authorization_code"] == before["authorization_code"]  # nothing exchanged
        assert params["code"] not in str(info.value)


async def test_replayed_state_is_refused(emulator: Any, auth: ZohoAuth) -> None:
    pending = auth.start_login()
    redirect = str(consent(pending.url, "dev@sunrise.in"))
    await auth.complete_login(pending, redirect)
    with pytest.raises(StateMismatchError, match="already"):
        await auth.complete_login(pending, redirect)


async def test_foreign_api_domain_in_token_response_is_rejected(
    emulator: Any, sqlite_url: str, keys: str
) -> None:
    """A token endpoint (on the list) answering with an api_domain off the list: the tokens are
    discarded and not one byte goes to that api_domain."""
    with TrapServer() as api_trap:
        body = json.dumps(
            {
                "access_token": zoho_token(),
                "refresh_token": zoho_token(),
                "expires_in": 3600,
                "api_domain": api_trap.url,
            }
        ).encode()
        with TrapServer(body) as accounts:
            reg = DataCenterRegistry.from_endpoints(
                {"us": {"accounts_server": accounts.url, "api_domain": emulator.url + "/us/api"}}
            )
            client = register_client(emulator.url)
            async with make_auth(emulator.url, sqlite_url, keys, client, registry=reg) as a:
                pending = a.start_login()
                params = {
                    "state": pending.state,
                    "code": "1000.x.y",
                    "location": "us",
                    "accounts-server": accounts.url,
                }
                with pytest.raises(MixUpError, match="api_domain"):
                    await a.complete_login(pending, params)
                assert await a.store.find_connections(client_id=client.client_id) == []
            assert len(accounts.requests) == 1  # the exchange at the listed accounts server
        assert api_trap.requests == []


async def test_login_leaves_credential_active(emulator: Any, auth: ZohoAuth) -> None:
    conn = await login(auth, "ben@zylker.com")
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    assert cred.status is Status.ACTIVE
    assert cred.email == "ben@zylker.com"
    assert "ZohoCRM.users.READ" in cred.scopes


# -- two sign-ins --------------------------------------------------------------------------------


def _registry_with(emulator: Any, dc: str, accounts_server: str) -> DataCenterRegistry:
    """The emulator's DCs, with `dc`'s accounts server moved to `accounts_server` (a trap)."""
    doc = httpx.get(emulator.url + "/_emulator/endpoints").json()
    doc[dc] = {**doc[dc], "accounts_server": accounts_server}
    return DataCenterRegistry.from_endpoints(doc)


def _token_requests(emulator: Any) -> int:
    stats = httpx.get(emulator.url + "/_emulator/stats").json()["token_requests"]
    return int(stats["authorization_code"])


async def test_multi_dc_users_cannot_use_chinas_sign_in_nor_china_users_the_us_one(
    emulator: Any, auth: ZohoAuth
) -> None:
    with pytest.raises(RuntimeError, match=r"li@dragongate\.cn"):
        consent(auth.start_login().url, "li@dragongate.cn")
    with pytest.raises(RuntimeError, match=r"isla@thamesledger\.co\.uk"):
        consent(auth.start_login("cn").url, "isla@thamesledger.co.uk")


async def test_a_uk_callback_naming_another_dcs_accounts_server_is_refused(
    emulator: Any, sqlite_url: str, keys: str
) -> None:
    """A real UK code, with the callback claiming another DC's accounts server (here a trap
    registered as Europe's): refused, and not one byte goes to that server or to the UK's."""
    client = register_client(emulator.url)
    with TrapServer() as trap:
        reg = _registry_with(emulator, "eu", trap.url)
        async with make_auth(emulator.url, sqlite_url, keys, client, registry=reg) as a:
            got = self_client_code(emulator.url, client, "isla@thamesledger.co.uk")
            assert got["location"] == "uk"
            before = _token_requests(emulator)
            for forged in ({"accounts-server": trap.url}, {"location": "eu"}):
                pending = a.start_login()
                params = {
                    "state": pending.state,
                    "code": got["code"],
                    "location": got["location"],
                    "accounts-server": got["accounts_server"],
                    **forged,
                }
                with pytest.raises(MixUpError):
                    await a.complete_login(pending, params)
            assert await a.store.find_connections(client_id=client.client_id) == []
        assert trap.requests == []
    assert _token_requests(emulator) == before


@pytest.mark.parametrize("started", ["us", "cn"])
async def test_a_callback_from_the_other_sign_in_is_refused_before_anything_is_sent(
    emulator: Any, sqlite_url: str, keys: str, started: str
) -> None:
    """A login started at one sign-in, completed by a callback of the other: a mix-up, even
    though the callback itself is consistent (its DC and accounts server agree). The DC it
    names is a trap, so "nothing sent" is seen where it would land."""
    other, email = ("cn", "li@dragongate.cn") if started == "us" else ("eu", "clara@brightwave.eu")
    client = register_client(emulator.url)
    with TrapServer() as trap:
        reg = _registry_with(emulator, other, trap.url)
        async with make_auth(emulator.url, sqlite_url, keys, client, registry=reg) as a:
            pending = a.start_login("cn" if started == "cn" else None)
            got = self_client_code(emulator.url, client, email)
            params = {
                "state": pending.state,
                "code": got["code"],
                "location": other,
                "accounts-server": trap.url,
            }
            with pytest.raises(MixUpError, match="do not sign in where this login started"):
                await a.complete_login(pending, params)
        assert trap.requests == []


async def test_a_user_from_a_dc_the_app_does_not_accept_gets_a_clear_error(
    emulator: Any, sqlite_url: str, keys: str
) -> None:
    """ZOHOAUTH_DATA_CENTERS=us,eu,uk: an Indian user is told, by name, that the app does not
    accept their DC, and nothing reaches India's accounts server (a trap here)."""
    registered = register_client(emulator.url)
    client = dataclasses.replace(registered, data_centers=frozenset({"us", "eu", "uk"}))
    with TrapServer() as trap:
        reg = _registry_with(emulator, "in", trap.url)
        async with make_auth(emulator.url, sqlite_url, keys, client, registry=reg) as a:
            assert [dc.code for dc in a.data_centers] == ["us", "eu", "uk"]
            pending = a.start_login()
            got = self_client_code(emulator.url, client, "dev@sunrise.in")
            params = {
                "state": pending.state,
                "code": got["code"],
                "location": "in",
                "accounts-server": trap.url,
            }
            with pytest.raises(DataCenterNotEnabledError) as info:
                await a.complete_login(pending, params)
            assert "does not accept Zoho accounts from India" in str(info.value)
            with pytest.raises(DataCenterNotEnabledError, match="from China"):
                a.start_login("cn")
            assert (await login(a, "isla@thamesledger.co.uk")).dc == "uk"
        assert trap.requests == []


# -- per-DC client secrets -----------------------------------------------------------------------


async def test_each_dc_exchanges_and_refreshes_with_its_own_secret(
    emulator: Any, sqlite_url: str, keys: str
) -> None:
    """Registered with own secrets for EU, UK and China and a common one for the rest: the
    emulator refuses a wrong secret, so each login and refresh working proves the choice."""
    client = register_client(emulator.url, own_secrets=("eu", "uk", "cn"))
    async with make_auth(emulator.url, sqlite_url, keys, client) as a:
        users = [
            ("clara@brightwave.eu", None),
            ("isla@thamesledger.co.uk", None),
            ("ava@zylker.com", None),
            ("li@dragongate.cn", "cn"),
        ]
        for email, region in users:
            conn = await login(a, email, region)
            first = await a.access_token(conn.id)
            fresh = await a.access_token(conn.id, stale=first.token)  # forces a refresh
            assert fresh.token != first.token


async def test_only_own_secrets_no_common_one(emulator: Any, sqlite_url: str, keys: str) -> None:
    client = register_client(emulator.url, own_secrets=("us", "eu"), common=False)
    client = dataclasses.replace(client, data_centers=frozenset({"us", "eu"}))
    async with make_auth(emulator.url, sqlite_url, keys, client) as a:
        assert (await login(a, "clara@brightwave.eu")).dc == "eu"
        assert (await login(a, "ava@zylker.com")).dc == "us"


async def test_a_wrong_per_dc_secret_gives_zohos_error_naming_the_setting(
    emulator: Any, sqlite_url: str, keys: str
) -> None:
    registered = register_client(emulator.url, own_secrets=("eu",))
    wrong = "0" * 40
    client = dataclasses.replace(registered, client_secrets={"eu": wrong})
    async with make_auth(emulator.url, sqlite_url, keys, client) as a:
        with pytest.raises(LoginError) as info:
            await login(a, "clara@brightwave.eu")
        message = str(info.value)
        assert "invalid_client_secret" in message
        assert "the eu entry of ZOHOAUTH_CLIENT_SECRETS" in message
        assert wrong not in message and registered.client_secret not in message
        assert (await login(a, "ava@zylker.com")).dc == "us"  # the common secret still works
    # The right secret at login, the wrong one later: the refresh says the same.
    async with make_auth(emulator.url, sqlite_url, keys, registered) as good:
        conn = await login(good, "clara@brightwave.eu")
    async with make_auth(emulator.url, sqlite_url, keys, client) as a:
        first = await a.access_token(conn.id)
        with pytest.raises(TokenError, match="the eu entry of ZOHOAUTH_CLIENT_SECRETS"):
            await a.access_token(conn.id, stale=first.token)


# -- Zoho's throttle -----------------------------------------------------------------------------


async def test_zohos_throttle_on_the_exchange_is_a_clear_wait(
    emulator: Any, admin: httpx.Client, auth: ZohoAuth
) -> None:
    """Past Zoho's limit of new refresh tokens per user and client, the exchange answers
    "Access Denied": a LoginThrottledError that says to wait, with when."""
    admin.post(
        "/_emulator/config", json={"grant_limits": True, "max_new_refresh_tokens_per_window": 1}
    ).raise_for_status()
    await login(auth, "ava@zylker.com")
    with pytest.raises(LoginThrottledError, match="limiting sign-ins; try again in a few") as info:
        await login(auth, "ava@zylker.com")
    assert info.value.retry_after > auth.clock()
