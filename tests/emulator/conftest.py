"""Fixtures for the emulator's CRM tests: tokens got the way a real client gets them.

`crm_for(email, scope)` registers a client, mints a Self Client grant code for the user
(`POST /_emulator/self-client/code`), exchanges it at the user's DC accounts server and returns
an HTTP client rooted at that DC's `{api_domain}/crm/v8/` with the token in Zoho's header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator

CLIENT_ID = "1000.CRMTESTCLIENT"
CLIENT_SECRET = "crm-test-secret"
#: Every scope the CRM routes check, as Zoho's examples write them (comma-separated).
ALL_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.settings.ALL"


@dataclass
class Crm:
    """A CRM session: the token, where it works, and an HTTP client rooted at `crm/v8/`."""

    access_token: str
    refresh_token: str | None
    api_domain: str
    dc: str
    http: httpx.Client

    @property
    def base(self) -> str:
        return f"{self.api_domain}/crm/v8/"


def exchange(admin: httpx.Client, email: str, scope: str) -> dict[str, str]:
    """A token response for `email` with `scope`, through Self Client code + token endpoint."""
    admin.post(
        "/_emulator/clients",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": []},
    ).raise_for_status()
    code = admin.post(
        "/_emulator/self-client/code",
        json={"client_id": CLIENT_ID, "email": email, "scope": scope, "access_type": "offline"},
    )
    code.raise_for_status()
    grant = code.json()
    token = admin.post(
        f"{grant['accounts_server']}/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": grant["code"],
        },
    )
    body: dict[str, str] = token.json()
    assert "access_token" in body, body
    body["location"] = grant["location"]
    return body


@pytest.fixture
def crm_for(admin: httpx.Client) -> Iterator[Callable[..., Crm]]:
    """`crm_for(email="ava@zylker.com", scope=ALL_SCOPES, org=None)` -> a `Crm` session."""
    opened: list[httpx.Client] = []

    def make(email: str = "ava@zylker.com", scope: str = ALL_SCOPES, org: str | None = None) -> Crm:
        body = exchange(admin, email, scope)
        headers = {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
        if org is not None:
            headers["X-CRM-ORG"] = org
        http = httpx.Client(base_url=f"{body['api_domain']}/crm/v8/", headers=headers, timeout=30)
        opened.append(http)
        return Crm(
            body["access_token"],
            body.get("refresh_token"),
            body["api_domain"],
            body["location"],
            http,
        )

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def crm(crm_for: Callable[..., Crm]) -> Crm:
    """Ava (two orgs, default Zylker Inc.) with every CRM scope."""
    return crm_for()


@pytest.fixture
def emu(emulator: BackgroundEmulator) -> BackgroundEmulator:
    """The running emulator, for in-process seeding (`emu.state`)."""
    return emulator
