"""Helpers for testing any Zoho client against the emulator without a browser.

They speak plain HTTP (httpx) to the emulator's pages and admin API, so they work for other
people's apps as well as for zohoauth's own tests and benchmarks:

    code = testing.self_client_grant(emu_url, client_id, "ava@zylker.com")["code"]
    redirect = testing.consent(login_url, "ava@zylker.com")    # what Zoho sends back
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape

import httpx

_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_BUTTON = re.compile(r"<button\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)\s*=\s*"([^"]*)"')
_ACTION = re.compile(r'<form\b[^>]*action="([^"]*)"')
_PROBLEM = re.compile(r'data-testid="consent-error">([^<]*)<')


def consent(auth_url: str, email: str, decision: str = "accept", timeout: float = 10) -> httpx.URL:
    """Answer the consent page at `auth_url` as `email` ("accept" or "reject") the way a
    browser would, and return the URL Zoho redirects to (code, state, location, ...)."""
    with httpx.Client(follow_redirects=False, timeout=timeout) as http:
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
        action = _ACTION.search(page.text)
        target = (
            page.url.join(unescape(action.group(1))) if action and action.group(1) else page.url
        )
        resp = http.post(target, data=form)
        if resp.status_code not in (302, 303):
            # The page names its refusal (e.g. an email this accounts server does not know: a
            # China user at a Multi-DC page, or the other way round).
            said = _PROBLEM.search(resp.text)
            why = unescape(said.group(1)) if said else resp.text[:200]
            raise RuntimeError(f"consent did not redirect: {resp.status_code} {why}")
        return httpx.URL(resp.headers["location"])


def register_client(
    emulator_url: str,
    client_id: str,
    client_secret: str | None,
    redirect_uris: list[str],
    *,
    client_secrets: Mapping[str, str] | None = None,
) -> None:
    """Register an API-console client with Multi-DC on: `client_secret` is common to every DC,
    `client_secrets` gives DCs their own (`{"eu": "..."}`); with only the latter, the client
    works only in the DCs it names."""
    body: dict[str, object] = {"client_id": client_id, "redirect_uris": redirect_uris}
    if client_secret is not None:
        body["client_secret"] = client_secret
    if client_secrets:
        body["client_secrets"] = dict(client_secrets)
    httpx.post(f"{emulator_url}/_emulator/clients", json=body, timeout=10).raise_for_status()


def self_client_grant(
    emulator_url: str, client_id: str, email: str, scope: str = "ZohoCRM.modules.ALL"
) -> dict[str, str]:
    """A Self Client grant code for `email` (offline), with where to redeem and use it:
    `code`, `location`, `accounts_server`, `token_url` and the DC's `api_base`."""
    with httpx.Client(base_url=emulator_url, timeout=10) as admin:
        grant = admin.post(
            "/_emulator/self-client/code",
            json={"client_id": client_id, "email": email, "scope": scope, "access_type": "offline"},
        )
        grant.raise_for_status()
        body = grant.json()
        endpoints = admin.get("/_emulator/endpoints").json()
    return {
        "code": body["code"],
        "location": body["location"],
        "accounts_server": body["accounts_server"],
        "token_url": body["accounts_server"] + "/oauth/v2/token",
        "api_base": endpoints[body["location"]]["api_domain"],
    }


__all__ = ["consent", "register_client", "self_client_grant"]
