"""A re-login revokes the refresh token it replaced, at the emulator over real HTTP, on SQLite,
PostgreSQL and MariaDB: at once, or — with the accounts server down — later (a refresh in that
DC, the next start, the back-off loop), never at the cost of the new token; bounded tries."""

from __future__ import annotations

import asyncio
import io
import random
import time
from typing import Any

import httpx
import pytest

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import CredentialKey
from zohoauth.events import Event, EventType
from zohoauth.oauth import OAuthClient
from zohoauth.retry import Failure, RetryPolicy
from zohoauth.revocations import RETRY, Drained, Next, Revoker, decide
from zohoauth.revoke import RevokeOutcome
from zohoauth.store.sql import SQLTokenStore

from .support.databases import table_dump
from .support.zoho import emulator_stats, login, make_auth, register_client

EMAIL = "clara@brightwave.eu"  # an EU user: her DC's accounts server is the one taken down


# -- helpers ---------------------------------------------------------------------------------


def refresh_token_live(auth: ZohoAuth, dc: str, token: str) -> bool:
    """Ask the emulator's accounts server, as Zoho would be asked, whether `token` still works."""
    client = auth.client
    resp = httpx.post(
        auth.registry.get(dc).accounts_server.rstrip("/") + "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client.client_id,
            "client_secret": client.secret_for(dc),
            "refresh_token": token,
        },
        timeout=10,
    )
    return "access_token" in resp.json()


def accounts_outage(emulator: Any, dc: str, down: bool) -> None:
    httpx.post(
        emulator.url + "/_emulator/faults",
        json={"target": "accounts", "dc": dc, "outage": down},
        timeout=10,
    ).raise_for_status()


async def refresh_token_of(auth: ZohoAuth, key: CredentialKey) -> str:
    cred = await auth.store.get_credential(key)
    assert cred is not None
    return cred.tokens.refresh_token


async def until_nothing_pending(auth: ZohoAuth, seconds: float = 10.0) -> None:
    """Wait on the event loop (so the background revocations run) until the queue is empty."""
    deadline = time.monotonic() + seconds
    while await pending(auth):
        assert time.monotonic() < deadline, "the replaced token was not revoked in time"
        await asyncio.sleep(0.05)


async def pending(auth: ZohoAuth) -> int:
    return len(await auth.store.pending_revocations())


async def relogin_during_outage(emulator: Any, auth: ZohoAuth) -> tuple[CredentialKey, str, str]:
    """Log Clara in twice; the accounts server goes down right after the second login is
    stored (before its revocation). Returns her key, the replaced and the new refresh token."""
    await auth.revocations.first_pass()  # the pass at start is over: only these logins try
    first = await login(auth, EMAIL)
    old = await refresh_token_of(auth, first.credential)

    async def take_down(event: Event) -> None:
        accounts_outage(emulator, event.dc, True)

    unsubscribe = auth.events.subscribe(EventType.LOGGED_IN, take_down)
    try:
        second = await login(auth, EMAIL)
    finally:
        unsubscribe()
    assert second.id == first.id
    new = await refresh_token_of(auth, second.credential)
    assert new != old
    return second.credential, old, new


@pytest.fixture
def client(emulator: Any) -> OAuthClient:
    return register_client(emulator.url)


# -- the decision (pure) ---------------------------------------------------------------------


def test_decide_forgets_dead_tokens_retries_with_backoff_and_gives_up() -> None:
    for dead in (RevokeOutcome.REVOKED, RevokeOutcome.ALREADY_INVALID):
        assert decide(dead, 1) == (Next.DONE, 0.0)
        assert decide(dead, RETRY.attempts) == (Next.DONE, 0.0)
    for failed in (RevokeOutcome.UNAVAILABLE, RevokeOutcome.REFUSED):
        nxt, first = decide(failed, 1, rand=lambda: 0.0)
        assert nxt is Next.RETRY and first == RETRY.base / 2
        nxt, later = decide(failed, 3, rand=lambda: 0.999)
        assert nxt is Next.RETRY and RETRY.base * 2 < later <= RETRY.base * 4
        assert decide(failed, RETRY.attempts) == (Next.GIVE_UP, 0.0)
    waits = [decide(RevokeOutcome.UNAVAILABLE, n, rand=random.random)[1] for n in range(1, 8)]
    assert waits == sorted(waits)  # each wait at least as long as the one before (2ⁿ vs jitter)
    assert sum(waits) < 9 * 3600  # bounded: all tries within hours, not days


# -- a re-login revokes the token it replaced ------------------------------------------------


async def test_relogin_revokes_the_replaced_refresh_token_at_zoho(
    emulator: Any, store_url: str, keys: str, client: OAuthClient, log_output: io.StringIO
) -> None:
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        conn = await login(auth, EMAIL)
        tokens = [await refresh_token_of(auth, conn.credential)]
        live_after_first = emulator_stats(emulator.url)["live_refresh_tokens"]
        for _ in range(3):
            again = await login(auth, EMAIL)
            assert again.id == conn.id
            tokens.append(await refresh_token_of(auth, conn.credential))
        assert len(set(tokens)) == 4
        # Every replaced token is dead at Zoho, the newest works, nothing is left queued, and
        # the user does not use up Zoho's 20 refresh tokens by logging in again.
        assert [refresh_token_live(auth, "eu", t) for t in tokens] == [False] * 3 + [True]
        assert await pending(auth) == 0
        assert emulator_stats(emulator.url)["live_refresh_tokens"] == live_after_first
        tok = await auth.access_token(conn.id)
        assert (await auth.access_token(conn.id, stale=tok.token)).token != tok.token
    logged = log_output.getvalue()
    assert "replaced refresh token revoked at Zoho" in logged
    assert not any(t in logged for t in tokens)


async def test_connect_org_and_same_token_saves_queue_nothing(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    """Saving the same refresh token again (another org of the user) replaces nothing."""
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        base = await login(auth, "ava@zylker.com")
        token = await refresh_token_of(auth, base.credential)
        await auth.connect_org(base.id, "80000002")
        assert await pending(auth) == 0
        assert refresh_token_live(auth, "us", token)


# -- with the accounts server down ------------------------------------------------------------


async def test_outage_keeps_the_new_token_and_a_refresh_in_that_dc_revokes_later(
    emulator: Any, store_url: str, keys: str, client: OAuthClient, log_output: io.StringIO
) -> None:
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        key, old, new = await relogin_during_outage(emulator, auth)
        [queued] = await auth.store.pending_revocations()
        assert queued.key == key and queued.refresh_token == old
        assert queued.attempts == 1 and queued.next_attempt_at > time.time() + 60  # backing off
        assert old not in await table_dump(store_url)  # queued encrypted
        accounts_outage(emulator, "eu", False)
        assert refresh_token_live(auth, "eu", new)  # the login's token was kept
        assert refresh_token_live(auth, "eu", old)  # and the old one is not yet revoked
        # A refresh in the EU works, so its accounts server is back: the queue is retried now,
        # not after the back-off.
        conn = await auth.connection_for(EMAIL)
        tok = await auth.access_token(conn.id)
        await auth.access_token(conn.id, stale=tok.token)
        await until_nothing_pending(auth)
    assert not refresh_token_live(auth, "eu", old)
    assert await refresh_token_of_store(store_url, keys, key) == new
    logged = log_output.getvalue()
    assert "it will be tried again" in logged
    assert old not in logged and new not in logged


async def refresh_token_of_store(store_url: str, keys: str, key: CredentialKey) -> str:
    from zohoauth.crypto import KeyRing

    async with SQLTokenStore(store_url, KeyRing.from_config(keys)) as store:
        cred = await store.get_credential(key)
    assert cred is not None
    return cred.tokens.refresh_token


async def test_outage_then_the_next_start_revokes_it(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        key, old, new = await relogin_during_outage(emulator, auth)
        assert await pending(auth) == 1
    accounts_outage(emulator, "eu", False)
    async with make_auth(emulator.url, store_url, keys, client) as restarted:
        await until_nothing_pending(restarted)  # opening it retried every queued token
        assert not refresh_token_live(restarted, "eu", old)
        assert await refresh_token_of(restarted, key) == new
        assert refresh_token_live(restarted, "eu", new)


async def test_outage_then_the_loop_retries_once_the_backoff_has_passed(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    offset = [0.0]
    auth = make_auth(emulator.url, store_url, keys, client, clock=lambda: time.time() + offset[0])
    auth.revocations.poll = 0.05
    async with auth:
        _, old, _ = await relogin_during_outage(emulator, auth)
        accounts_outage(emulator, "eu", False)
        await asyncio.sleep(0.5)  # ten polls: the row is not due, so it is left alone
        [waiting] = await auth.store.pending_revocations()
        assert waiting.attempts == 1 and refresh_token_live(auth, "eu", old)
        offset[0] = waiting.next_attempt_at - time.time() + 1  # the back-off has passed
        await until_nothing_pending(auth)
    assert not refresh_token_live(auth, "eu", old)


async def test_tries_are_bounded_then_the_row_is_dropped_and_logged_without_the_token(
    emulator: Any, store_url: str, keys: str, client: OAuthClient, log_output: io.StringIO
) -> None:
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        _, old, new = await relogin_during_outage(emulator, auth)  # try 1 failed
        two = RetryPolicy(attempts=2, base=0.0, cap=0.0, retry_on=frozenset({Failure.UNAVAILABLE}))
        revoker = Revoker(auth.store, auth.registry, auth.http, policy=two)
        # The last try is never taken early (not at a start, nor after a refresh in the DC).
        assert await revoker.revoke_pending(due_only=False) == Drained()
        assert await pending(auth) == 1
        later = Revoker(
            auth.store, auth.registry, auth.http, policy=two, clock=lambda: time.time() + 10**5
        )
        assert await later.revoke_pending() == Drained(given_up=1)  # the last, once due
        assert await pending(auth) == 0
        accounts_outage(emulator, "eu", False)
        assert refresh_token_live(auth, "eu", new)
    logged = log_output.getvalue()
    assert "gave up revoking a replaced refresh token" in logged
    assert "Connected Apps" in logged
    assert old not in logged and new not in logged


async def test_two_processes_never_both_claim_a_row(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        _, old, _ = await relogin_during_outage(emulator, auth)
        accounts_outage(emulator, "eu", False)
        revokers = [Revoker(auth.store, auth.registry, auth.http) for _ in range(4)]
        runs = await asyncio.gather(*(r.revoke_pending(due_only=False) for r in revokers))
        assert sum(r.done for r in runs) == 1
        assert sum(r.retry + r.given_up for r in runs) == 0
        assert await pending(auth) == 0
        assert not refresh_token_live(auth, "eu", old)
