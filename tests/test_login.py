"""Login with Zoho against the emulator: every DC, re-login, multi-org, and forged callbacks."""

from __future__ import annotations

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
    LoginError,
    MixUpError,
    NotFoundError,
    StateMismatchError,
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

DCS = ("us", "eu", "in", "au", "jp", "cn", "ca", "sa")


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
    user = next(u for u in _users(emulator) if u["dc"] == dc)
    conn = await login(auth, user["email"])
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
