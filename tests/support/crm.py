"""Test-only helpers for the CRM client: a real emulator login and a token provider over it.

`EmulatorTokens` stands in for TokenManager: it holds a real access token from the emulator and,
asked with `stale=` the token it holds, refreshes it at the emulator's token endpoint
(refresh_token grant) — counting calls, so tests can assert "refreshed once, retried once".
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDictProxy
from yarl import URL

from zohoauth._http import ZohoHTTP
from zohoauth.manager import AccessToken

CLIENT_ID = "1000.CRMTESTCLIENT0000000000000000000"
CLIENT_SECRET = "crm-test-secret"
ALL_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"


@dataclass
class Login:
    """What a Self Client login at the emulator gave us."""

    email: str
    dc: str
    accounts_server: str
    api_domain: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)


def login(admin: httpx.Client, email: str, scope: str = ALL_SCOPES) -> Login:
    admin.post(
        "/_emulator/clients",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": []},
    ).raise_for_status()
    grant = admin.post(
        "/_emulator/self-client/code",
        json={"client_id": CLIENT_ID, "email": email, "scope": scope, "access_type": "offline"},
    )
    grant.raise_for_status()
    g = grant.json()
    resp = httpx.post(
        g["accounts_server"] + "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": g["code"],
        },
    )
    body = resp.json()
    assert "access_token" in body, body
    return Login(
        email=email,
        dc=g["location"],
        accounts_server=g["accounts_server"],
        api_domain=body["api_domain"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


def org_ids(admin: httpx.Client, email: str) -> list[str]:
    users = admin.get("/_emulator/users").json()["users"]
    return next([o["id"] for o in u["orgs"]] for u in users if u["email"] == email)


class EmulatorTokens:
    """A TokenProvider holding one real emulator token; refreshes it when told it is stale."""

    def __init__(self, login: Login, org_id: str = "", *, api_domain: str | None = None) -> None:
        self.login = login
        self.token = login.access_token
        self.org_id = org_id
        self.api_domain = api_domain or login.api_domain
        self.calls = 0
        self.stale_calls = 0
        self.refreshes = 0
        self.dead_refresh = False  # True: a "refresh" hands out a token Zoho never issued

    def __repr__(self) -> str:
        return f"EmulatorTokens({self.login.email!r})"

    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken:
        self.calls += 1
        if stale is not None:
            self.stale_calls += 1
            if stale == self.token:
                await self.refresh()
        return AccessToken(
            self.token, self.api_domain, time.time() + 3600, connection_id, self.org_id,
            self.login.dc,
        )  # fmt: skip

    async def refresh(self) -> None:
        self.refreshes += 1
        if self.dead_refresh:
            self.token = "1000." + "0" * 32 + "." + "f" * 32
            return
        async with httpx.AsyncClient() as http:
            resp = await http.post(
                self.login.accounts_server + "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "refresh_token": self.login.refresh_token,
                },
            )
        body = resp.json()
        assert "access_token" in body, body
        self.token = body["access_token"]


@dataclass(frozen=True)
class Sent:
    """One request as it went out: method, URL with its query, headers (case-insensitive)."""

    method: str
    url: URL
    headers: CIMultiDictProxy[str]


class RequestLog:
    """aiohttp trace hooks that record every request sent and every response status; each of
    `on_status` is awaited with the status as a response arrives (to change the emulator's
    behaviour between two requests of one call)."""

    def __init__(self, *on_status: Callable[[int], Awaitable[None]]) -> None:
        self.requests: list[Sent] = []
        self.statuses: list[int] = []
        self.on_status = on_status
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._start)
        self.trace.on_request_end.append(self._end)

    async def _start(self, _s: Any, _c: Any, sent: aiohttp.TraceRequestStartParams) -> None:
        self.requests.append(Sent(sent.method, sent.url, CIMultiDictProxy(sent.headers)))

    async def _end(self, _s: Any, _c: Any, end: aiohttp.TraceRequestEndParams) -> None:
        self.statuses.append(end.response.status)
        for hook in self.on_status:
            await hook(end.response.status)

    def client(self, **kw: Any) -> ZohoHTTP:
        """A transport whose requests this log records."""
        return ZohoHTTP(trace_configs=[self.trace], **kw)

    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.query) for r in self.requests]
