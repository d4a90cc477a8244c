""" "Hosts" for the many-hosts refresher test: app processes (spawned) that serve their users'
CRM calls through the library, and the emulator seed with many users."""

from __future__ import annotations

import asyncio
import copy
import os
import time
from collections import Counter
from typing import Any

import httpx

from zohoauth.credentials import Connection, CredentialKey, Login, OrgInfo, TokenSet
from zohoauth.emulator.seed import DEFAULT_SEED
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.store.base import TokenStore

from .zoho import make_auth

#: DCs whose users sign in through Zoho's Multi-DC sign-in (China's is a Zoho of its own).
MULTI_DC = ("us", "eu", "in", "au", "jp", "ca", "uk", "sa")


def seed_with_users(count: int) -> tuple[dict[str, Any], list[str]]:
    """The built-in seed plus `count` single-org users spread over the Multi-DC DCs; the seed
    and the new users' emails."""
    seed = copy.deepcopy(DEFAULT_SEED)
    org_of: dict[str, str] = {}
    for org in seed["orgs"]:
        org_of.setdefault(org["dc"], org["zgid"])
    dcs = [dc for dc in MULTI_DC if dc in org_of]
    emails = []
    for i in range(count):
        dc = dcs[i % len(dcs)]
        email = f"user{i}@hosts-{dc}.example.com"
        emails.append(email)
        seed["users"].append(
            {
                "email": email,
                "first_name": f"User{i}",
                "last_name": "Hosts",
                "dc": dc,
                "orgs": [org_of[dc]],
            }
        )
    return seed, emails


def app_host(
    emulator_url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    jobs: Any,
    data_dir: str,
    skew: float,
    results: Any,
    crash_at: str | None = None,
) -> None:
    """An app "host": started early (imports take a while on a busy machine), it waits for
    its users and an end time on `jobs`; until then each of its users in turn gets a token
    from the library and makes a real CRM call with it, straight over HTTP (no library retry
    on 401 that could hide a stale token). Reports (ok, failed, failures by kind, refreshes
    it sent). `crash_at` names a step of tests/chaos/crash_child.py at which the process
    SIGKILLs itself (e.g. "refresh:before_exchange": its first request-path refresh, with the
    lease taken and nothing sent to Zoho)."""
    os.chdir(data_dir)
    if crash_at:
        from ..chaos.crash_child import install

        install(crash_at)
    connection_ids, until = jobs.get()

    async def run() -> tuple[int, int, dict[str, int], int]:
        config = ManagerConfig(skew=skew, lease_ttl=6.0, lease_wait=30.0, poll_interval=0.05)
        auth = make_auth(emulator_url, store_url, keys, client, config=config)
        ok = failed = 0
        kinds: Counter[str] = Counter()
        async with auth, httpx.AsyncClient(timeout=15) as http:
            while time.time() < until:
                for cid in connection_ids:
                    if time.time() >= until:
                        break
                    try:
                        tok = await auth.access_token(cid)
                        r = await http.get(
                            f"{tok.api_domain}/crm/v8/users",
                            params={"type": "CurrentUser"},
                            headers={"Authorization": f"Zoho-oauthtoken {tok.token}"},
                        )
                    except Exception as exc:  # counted, never hidden
                        failed += 1
                        kinds[type(exc).__name__] += 1
                    else:
                        if r.status_code == 200:
                            ok += 1
                        else:
                            failed += 1
                            kinds[f"http_{r.status_code}"] += 1
                    await asyncio.sleep(0.02)
            return ok, failed, dict(kinds), auth.manager.refresh_count

    try:
        ok, failed, kinds, refreshes = asyncio.run(run())
        results.put(("ok", os.getpid(), ok, failed, kinds, refreshes))
    except BaseException as exc:  # report, don't hang the parent
        results.put(("error", os.getpid(), 0, 0, {type(exc).__name__: 1}, 0))


def _tokens_for(
    http: httpx.Client, token_urls: dict[str, str], client: OAuthClient, email: str
) -> dict[str, Any]:
    """Tokens for `email` from the emulator's real token endpoint (a Self Client code), with
    `asked_at`: when the exchange was sent (expiry counts from there, never from later)."""
    grant = http.post(
        "/_emulator/self-client/code",
        json={
            "client_id": client.client_id,
            "email": email,
            "scope": ",".join(client.all_scopes),
            "access_type": "offline",
        },
    )
    grant.raise_for_status()
    asked_at = time.time()
    answer = http.post(
        token_urls[grant.json()["location"]],
        data={
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "code": grant.json()["code"],
        },
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    body["asked_at"] = asked_at
    return body


async def seed_logins(
    store: TokenStore, emulator_url: str, client: OAuthClient, emails: list[str]
) -> list[Connection]:
    """Many users logged in fast: each one's tokens from the emulator's token endpoint (Self
    Client codes, 25 at a time on threads), who they are from the emulator's user list (what
    the login's identity calls would answer), saved in one batch like an import."""
    users = httpx.get(f"{emulator_url}/_emulator/users", timeout=15).json()["users"]
    by_email = {u["email"]: u for u in users}
    endpoints = httpx.get(f"{emulator_url}/_emulator/endpoints", timeout=15).json()
    token_urls = {dc: e["accounts_server"] + "/oauth/v2/token" for dc, e in endpoints.items()}
    answers: list[dict[str, Any]] = []
    with httpx.Client(base_url=emulator_url, timeout=30) as http:
        for i in range(0, len(emails), 25):
            answers += await asyncio.gather(
                *(
                    asyncio.to_thread(_tokens_for, http, token_urls, client, e)
                    for e in emails[i : i + 25]
                )
            )
    logins = []
    for email, body in zip(emails, answers, strict=True):
        user = by_email[email]
        org = user["orgs"][0]
        tokens = TokenSet(
            body["refresh_token"],
            body["access_token"],
            body["asked_at"] + float(body["expires_in"]),
        )
        logins.append(
            Login(
                CredentialKey(client.client_id, user["dc"], str(user["zuid"])),
                email,
                tokens,
                body["api_domain"],
                client.all_scopes,
                (OrgInfo(str(org["id"]), org["company_name"]),),
            )
        )
    saved = await store.save_logins(logins)
    conns = []
    for result in saved:
        assert isinstance(result, list), result
        conns.append(result[0])
    return conns
