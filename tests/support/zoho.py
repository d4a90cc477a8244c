"""Test helpers: wire a ZohoAuth to a running emulator, log users in without a browser, and
read or move the emulator's counters and clock."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import Connection
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.emulator import testing
from zohoauth.emulator.testing import consent
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore

REDIRECT_URI = "http://127.0.0.1:8765/redirect.html"
SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.modules.READ")


def register_client(
    emulator_url: str,
    redirect_uri: str = REDIRECT_URI,
    *,
    own_secrets: tuple[str, ...] = (),
    common: bool = True,
) -> OAuthClient:
    """A fresh client registered at the emulator (all DCs), with its real secret(s): a common
    one (unless `common` is false) and, for each DC in `own_secrets`, a secret of its own."""
    own = {dc: f"{dc}-{secrets.token_hex(16)}" for dc in own_secrets}
    client = OAuthClient(
        client_id=f"1000.{secrets.token_hex(12).upper()}",
        client_secret=secrets.token_hex(20) if common else "",
        redirect_uri=redirect_uri,
        scopes=SCOPES,
        client_secrets=own,
    )
    testing.register_client(
        emulator_url,
        client.client_id,
        client.client_secret or None,
        [redirect_uri],
        client_secrets=own,
    )
    return client


def make_auth(
    emulator_url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    *,
    clock: Callable[[], float] = time.time,
    config: ManagerConfig | None = None,
    registry: DataCenterRegistry | None = None,
) -> ZohoAuth:
    store = SQLTokenStore(store_url, KeyRing.from_config(keys), auto_migrate=True)
    reg = registry or DataCenterRegistry.load(f"{emulator_url}/_emulator/endpoints")
    return ZohoAuth(client=client, store=store, registry=reg, manager_config=config, clock=clock)


async def login(auth: ZohoAuth, email: str, region: str | None = None) -> Connection:
    """A full Login with Zoho through the emulator's consent page: Zoho's Multi-DC sign-in,
    or with `region="cn"` Zoho China's (the only one that knows China's users)."""
    pending = auth.start_login(region)
    redirect = consent(pending.url, email)
    return await auth.complete_login(pending, str(redirect))


def self_client_code(emulator_url: str, client: OAuthClient, email: str) -> dict[str, Any]:
    return dict(
        testing.self_client_grant(
            emulator_url, client.client_id, email, ",".join(client.all_scopes)
        )
    )


def emulator_stats(emulator_url: str | httpx.URL) -> dict[str, Any]:
    """`GET /_emulator/stats`: requests served, by kind (`token_requests`, `api_requests`, ...)."""
    url = str(emulator_url).rstrip("/") + "/_emulator/stats"
    stats: dict[str, Any] = httpx.get(url, timeout=10).json()
    return stats


def refresh_requests(emulator_url: str | httpx.URL) -> int:
    """How many refresh_token grants the emulator has answered since its last reset."""
    return int(emulator_stats(emulator_url)["token_requests"]["refresh_token"])


def advance_clock(emulator_url: str | httpx.URL, seconds: float) -> None:
    """Move the emulator's virtual clock on (tokens expire without anyone sleeping)."""
    url = str(emulator_url).rstrip("/") + "/_emulator/clock"
    httpx.post(url, json={"advance_seconds": seconds}, timeout=10).raise_for_status()
