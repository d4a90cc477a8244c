"""Test helpers: wire a ZohoAuth to a running emulator and log users in without a browser."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from html import unescape
from typing import Any

import httpx

from zohoauth.auth import ZohoAuth
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore
from zohoauth.tokens import Connection

REDIRECT_URI = "http://127.0.0.1:8765/redirect.html"
SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.modules.READ")


def register_client(emulator_url: str, redirect_uri: str = REDIRECT_URI) -> OAuthClient:
    """A fresh client registered at the emulator (all DCs), with its real secret."""
    client = OAuthClient(
        client_id=f"1000.{secrets.token_hex(12).upper()}",
        client_secret=secrets.token_hex(20),
        redirect_uri=redirect_uri,
        scopes=SCOPES,
    )
    httpx.post(
        f"{emulator_url}/_emulator/clients",
        json={
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uris": [redirect_uri],
        },
    ).raise_for_status()
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


_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)\s*=\s*"([^"]*)"')
_BUTTON = re.compile(r"<button\b[^>]*>", re.I)


def consent(auth_url: str, email: str, decision: str = "accept") -> httpx.URL:
    """Drive the emulator's consent page like a browser would; return the redirect URL."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        page = http.get(auth_url)
        page.raise_for_status()
        form: dict[str, str] = {}
        for tag in _INPUT.findall(page.text):
            attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag)}
            if "name" in attrs:
                form[attrs["name"]] = attrs.get("value", "")
        for tag in _BUTTON.findall(page.text):
            attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag)}
            if attrs.get("data-testid") == decision and "name" in attrs:
                form[attrs["name"]] = attrs.get("value", "")
        form["email"] = email
        action = re.search(r'<form\b[^>]*action="([^"]*)"', page.text)
        target = (
            page.url.join(unescape(action.group(1))) if action and action.group(1) else page.url
        )
        resp = http.post(target, data=form)
        assert resp.status_code in (302, 303), f"consent did not redirect: {resp.status_code}"
        return httpx.URL(resp.headers["location"])


async def login(auth: ZohoAuth, email: str) -> Connection:
    """A full Login with Zoho through the emulator's consent page."""
    pending = auth.start_login()
    redirect = consent(pending.url, email)
    return await auth.complete_login(pending, str(redirect))


def self_client_code(emulator_url: str, client: OAuthClient, email: str) -> dict[str, Any]:
    r = httpx.post(
        f"{emulator_url}/_emulator/self-client/code",
        json={
            "client_id": client.client_id,
            "email": email,
            "scope": ",".join(client.all_scopes),
            "access_type": "offline",
        },
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body
