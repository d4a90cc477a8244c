"""The crash matrix: the web app SIGKILLed at each step of login and of refresh.

Each case starts the app in a child process (`crash_child.py`, the app `zohoauth serve` builds,
on PostgreSQL) told to kill itself at one step, drives a browser into that step, and checks
what the crash left behind and that the next process (an unharmed child serving the same store,
keys and session secret) picks up from there:

- every state is recoverable: after a login crash the next login works; after a refresh crash
  the same session reads again, without logging in;
- no orphan lease: a lease the dead process held expires when it should (its expiry is at most
  the lease TTL away) and is gone once the next process refreshed;
- no lost or duplicated token: one credential and one connection per user, active, the same
  refresh token as before the crash, the version bumped once per *stored* refresh; and Zoho
  sees one refresh more only when the crash threw a minted token away;
- the user at worst is asked to log in again (only when the crash hit their login).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from zohoauth.credentials import CredentialKey
from zohoauth.crypto import KeyRing
from zohoauth.emulator import BackgroundEmulator
from zohoauth.emulator.testing import consent
from zohoauth.store.sql import SQLTokenStore

from ..support.web import Browser, free_port
from ..support.zoho import register_client
from .crash_child import LEASE_TTL, STEP_ENV

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
HOUR = 3700


@dataclass
class World:
    emulator: BackgroundEmulator
    env: dict[str, str]
    db_url: str
    client_id: str
    keys: str
    crash_port: int
    healthy: str  # the next process's URL

    @property
    def crash(self) -> str:
        return f"http://{HOST}:{self.crash_port}"

    def start(self, port: int, step: str = "") -> subprocess.Popen[bytes]:
        """The app on `port` (its redirect URI on that port), dying at `step` if one is named."""
        redirect = f"http://{HOST}:{port}/redirect.html"
        env = {**self.env, "ZOHOAUTH_REDIRECT_URI": redirect, STEP_ENV: step}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.crash_child", HOST, str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"the app ({step or 'unharmed'}) exited {proc.returncode}"
            try:
                if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the app did not start within 90 s"
            time.sleep(0.1)

    def refreshes(self) -> int:
        stats = httpx.get(f"{self.emulator.url}/_emulator/stats", timeout=10).json()
        return int(stats["token_requests"]["refresh_token"])

    def rows(self, email: str) -> dict[str, list[dict[str, Any]]]:
        async def go() -> dict[str, list[dict[str, Any]]]:
            conn = await _connect(self.db_url)
            try:
                creds = await conn.fetch(
                    "SELECT dc, zuid, status, version, lease_owner, lease_expires_at "
                    "FROM zohoauth_credentials WHERE client_id = $1 AND email = $2",
                    self.client_id,
                    email,
                )
                conns = await conn.fetch(
                    "SELECT c.id FROM zohoauth_connections c JOIN zohoauth_credentials k "
                    "ON c.client_id = k.client_id AND c.dc = k.dc AND c.zuid = k.zuid "
                    "WHERE k.client_id = $1 AND k.email = $2",
                    self.client_id,
                    email,
                )
            finally:
                await conn.close()
            return {
                "credentials": [dict(r) for r in creds],
                "connections": [dict(r) for r in conns],
            }

        return asyncio.run(go())

    def refresh_token(self, dc: str, zuid: str) -> str:
        async def go() -> str:
            async with SQLTokenStore(self.db_url, KeyRing.from_config(self.keys)) as store:
                cred = await store.get_credential(CredentialKey(self.client_id, dc, zuid))
            assert cred is not None
            return cred.tokens.refresh_token

        return asyncio.run(go())

    def expire(self, email: str) -> None:
        """An hour passes: at Zoho (its clock) and in the app's view (the stored expiry)."""
        httpx.post(
            f"{self.emulator.url}/_emulator/clock", json={"advance_seconds": HOUR}, timeout=10
        ).raise_for_status()

        async def go() -> None:
            conn = await _connect(self.db_url)
            try:
                await conn.execute(
                    "UPDATE zohoauth_credentials SET expires_at = $1 "
                    "WHERE client_id = $2 AND email = $3",
                    time.time() - 1,
                    self.client_id,
                    email,
                )
            finally:
                await conn.close()

        asyncio.run(go())


async def _connect(url: str) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def world(pg_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    crash_port, healthy_port = free_port(), free_port()
    with BackgroundEmulator(config={"grant_limits": False}) as emu:
        client = register_client(emu.url, f"http://{HOST}:{crash_port}/redirect.html")
        httpx.post(  # the same client, with both apps' redirect URIs
            f"{emu.url}/_emulator/clients",
            json={
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": [
                    f"http://{HOST}:{crash_port}/redirect.html",
                    f"http://{HOST}:{healthy_port}/redirect.html",
                ],
            },
            timeout=10,
        ).raise_for_status()
        keys = KeyRing.generate_key()
        env = {
            **os.environ,
            "ZOHOAUTH_CLIENT_ID": client.client_id,
            "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
            "ZOHOAUTH_DATABASE_URL": pg_db_url,
            "ZOHOAUTH_LOGIN_RATE_LIMIT": "",  # one address logs in again and again here
            "ZOHOAUTH_CALLBACK_RATE_LIMIT": "",
            "ZOHOAUTH_ENCRYPTION_KEYS": keys,
            "ZOHOAUTH_SESSION_SECRET": secrets.token_urlsafe(32),
            "ZOHOAUTH_ZOHO_ENDPOINTS": f"{emu.url}/_emulator/endpoints",
            "ZOHOAUTH_DATA_DIR": str(tmp_path_factory.mktemp("crash")),
        }
        w = World(emu, env, pg_db_url, client.client_id, keys, crash_port, "")
        proc = w.start(healthy_port)
        w.healthy = f"http://{HOST}:{healthy_port}"
        try:
            yield w
        finally:
            _stop(proc)


@contextlib.contextmanager
def crashing(world: World, step: str) -> Iterator[None]:
    """The app that dies at `step` runs at `world.crash` for the block, which must make a
    request reach that step (the request gets no answer); the app must have died there."""
    proc = world.start(world.crash_port, step)
    try:
        with pytest.raises(httpx.TransportError):
            yield
        assert proc.wait(timeout=20) == -signal.SIGKILL, f"the app did not die at {step}"
    finally:
        _stop(proc)


# -- login -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "email"),
    [
        ("login:before_exchange", "ava@zylker.com"),
        ("login:before_store", "clara@brightwave.eu"),
        ("login:before_response", "dev@sunrise.in"),
    ],
)
def test_a_crash_during_login_leaves_a_state_the_next_login_recovers(
    world: World, step: str, email: str
) -> None:
    browser = Browser(world.healthy)
    try:
        with crashing(world, step):
            start = browser.get(f"{world.crash}/login")
            assert start.status_code == 302
            params = dict(consent(start.headers["location"], email).params)
            params["accounts_server"] = params.pop("accounts-server")
            browser.post(f"{world.crash}/api/auth/callback", json=params)

        left = world.rows(email)
        assert browser.get("/api/me").status_code == 401  # no session: asked to log in again
        if step == "login:before_response":  # stored, the browser just never heard
            assert len(left["credentials"]) == len(left["connections"]) == 1
            assert left["credentials"][0]["status"] == "active"
            assert left["credentials"][0]["lease_owner"] is None
        else:  # nothing stored: the login simply did not happen
            assert left == {"credentials": [], "connections": []}

        me = browser.login(email)["me"]  # the next login, at the next process
        assert me["email"] == email
        assert browser.get("/api/records/Leads", params={"per_page": 1}).status_code == 200
        after = world.rows(email)
        assert len(after["credentials"]) == len(after["connections"]) == 1  # not duplicated
        assert after["credentials"][0]["status"] == "active"
        assert after["credentials"][0]["lease_owner"] is None
        if left["connections"]:
            assert after["connections"] == left["connections"]  # updated in place, same id
    finally:
        browser.close()


# -- refresh ---------------------------------------------------------------------------------

#: step -> (refreshes Zoho saw by the crash, lease left held, refreshes Zoho saw in all once the
#: next process read): `before_store` throws a minted token away, so the next process asks once
#: more; `before_response` stored it, so the next process just uses it. Either way exactly one
#: refresh is stored (the version goes up by one).
REFRESH_CASES = {
    "refresh:before_exchange": (0, True, 1),
    "refresh:before_store": (1, True, 2),
    "refresh:before_response": (1, False, 1),
}


@pytest.mark.parametrize(
    ("step", "email"),
    [
        ("refresh:before_exchange", "ella@koalafreight.au"),
        ("refresh:before_store", "noah@maple.ca"),
        ("refresh:before_response", "omar@oasis.sa"),
    ],
)
def test_a_crash_during_refresh_leaves_a_state_the_next_process_recovers(
    world: World, step: str, email: str
) -> None:
    seen_by_crash, lease_left, seen_in_all = REFRESH_CASES[step]
    browser = Browser(world.healthy)
    try:
        browser.login(email)
        assert browser.get("/api/records/Leads", params={"per_page": 1}).status_code == 200
        before = world.rows(email)["credentials"][0]
        refresh_token = world.refresh_token(before["dc"], before["zuid"])
        world.expire(email)
        refreshes = world.refreshes()

        with crashing(world, step):
            crashed_at = time.time()
            browser.get(f"{world.crash}/api/records/Leads")

        left = world.rows(email)["credentials"][0]
        assert world.refreshes() - refreshes == seen_by_crash
        if lease_left:  # the dead holder's lease: still in the row, but it expires on time
            assert left["lease_owner"] is not None
            assert crashed_at < left["lease_expires_at"] <= time.time() + LEASE_TTL
            assert left["version"] == before["version"]
        else:
            assert left["lease_owner"] is None
            assert left["version"] == before["version"] + 1

        # The same session, at the next process: read without logging in again.
        got = browser.get("/api/records/Leads", params={"per_page": 1})
        assert got.status_code == 200, got.text
        after = world.rows(email)
        cred = after["credentials"][0]
        assert len(after["credentials"]) == len(after["connections"]) == 1
        assert cred["status"] == "active"
        assert cred["lease_owner"] is None and cred["lease_expires_at"] is None
        assert cred["version"] == before["version"] + 1  # one stored refresh, no more
        assert world.refreshes() - refreshes == seen_in_all
        assert world.refresh_token(cred["dc"], cred["zuid"]) == refresh_token  # not lost
    finally:
        browser.close()
