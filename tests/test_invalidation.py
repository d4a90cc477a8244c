"""Issue 12, finding 1: once a connection is logged out, deleted, revoked or marked
reauth-required, no process uses it again — within 1 s on PostgreSQL (LISTEN/NOTIFY), and on
every engine before any write (a status + version check), reads within `recheck_interval`.

Two real processes share one store: this one ends the connection, a spawned one
(`support/invalidation.watcher`) held its token in its cache and says when it was refused.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import Status
from zohoauth.errors import NotFoundError, ReauthRequiredError, StoreError
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient

from .support.invalidation import watcher
from .support.zoho import login, make_auth, register_client

pytestmark = pytest.mark.timeout(120)

#: The watcher's re-check interval: on PostgreSQL an hour, so only the change feed can explain
#: a refusal within a second; elsewhere the default second.
RECHECK = {"postgresql": 3600.0, "sqlite": 1.0, "mysql": 1.0}


@pytest.fixture
def client(emulator: Any) -> OAuthClient:
    return register_client(emulator.url)


@pytest.fixture
async def auth(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> AsyncIterator[ZohoAuth]:
    async with make_auth(emulator.url, store_url, keys, client) as a:
        yield a


def _dialect(auth: ZohoAuth) -> str:
    return str(auth.store.dialect)  # type: ignore[attr-defined]


async def _end_in_other_process(
    emulator: Any,
    store_url: str,
    keys: str,
    client: OAuthClient,
    auth: ZohoAuth,
    connection_id: str,
    end: Any,
    *,
    write_first: bool,
) -> tuple[float, tuple[str, float, str, str, int]]:
    """Start the watcher, wait until it holds the token, `end()` the connection here; returns
    when the end was committed and what the watcher saw. With `write_first` the watcher has
    neither a change feed nor a re-check within the test (an hour): only the check before a
    write can refuse it."""
    ctx = multiprocessing.get_context("spawn")
    ready, ended, results = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=watcher,
        args=(
            emulator.url,
            store_url,
            keys,
            client,
            connection_id,
            3600.0 if write_first else RECHECK[_dialect(auth)],
            not write_first,
            write_first,
            ready,
            ended,
            results,
        ),
    )
    proc.start()
    try:
        assert await asyncio.to_thread(ready.wait, 60), "the watcher never got ready"
        await asyncio.sleep(0.2)  # it is now answering from its cache
        await end()
        ended_at = time.time()
        ended.set()
        try:
            kind, _pid, found = await asyncio.to_thread(results.get, True, 30)
        except queue.Empty:
            raise AssertionError("the watcher did not report") from None
        assert kind == "ok", found
        return ended_at, found
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()


@pytest.mark.parametrize("how", ["logout", "revoke_pending", "reauth_required"])
async def test_a_write_in_another_process_is_refused_at_once(
    emulator: Any,
    store_url: str,
    keys: str,
    client: OAuthClient,
    auth: ZohoAuth,
    how: str,
) -> None:
    conn = await login(auth, "ava@zylker.com")

    async def end() -> None:
        if how == "logout":
            await auth.logout(conn.id)
        else:
            await auth.store.set_status(conn.credential, Status(how))

    _at, (outcome, _t, error, write, _served) = await _end_in_other_process(
        emulator, store_url, keys, client, auth, conn.id, end, write_first=True
    )
    # The first write after the end is refused, whatever the engine and its cache say.
    expected = NotFoundError if how == "logout" else ReauthRequiredError
    assert write == expected.__name__, write
    assert outcome == "refused" and error == expected.__name__


async def test_reads_in_another_process_stop_within_a_second(
    emulator: Any, store_url: str, keys: str, client: OAuthClient, auth: ZohoAuth
) -> None:
    conn = await login(auth, "ben@zylker.com")
    ended_at, (outcome, refused_at, error, _w, served) = await _end_in_other_process(
        emulator,
        store_url,
        keys,
        client,
        auth,
        conn.id,
        lambda: auth.logout(conn.id),
        write_first=False,
    )
    assert outcome == "refused", f"still served {served} reads after the logout"
    assert error == NotFoundError.__name__
    late = refused_at - ended_at
    if _dialect(auth) == "postgresql":
        # The watcher re-checks only hourly: its change feed made it forget.
        assert late < 1.0, late
    else:
        assert late < RECHECK[_dialect(auth)] + 0.5, late


async def test_a_token_read_while_the_connection_ended_is_not_cached(
    auth: ZohoAuth,
) -> None:
    """The generation count: a store read that started before a forget must not put what it
    read back into the cache (else an ended connection would be served until the recheck)."""
    conn = await login(auth, "dev@sunrise.in")
    manager = auth.manager
    real = auth.store.get_connection_with_credential
    gate = asyncio.Event()

    async def slow(connection_id: str) -> Any:
        found = await real(connection_id)
        await gate.wait()  # the read is done; the answer is on its way back
        return found

    auth.store.get_connection_with_credential = slow  # type: ignore[method-assign]
    reading = asyncio.create_task(manager.access_token(conn.id))
    await asyncio.sleep(0.05)
    manager.forget(conn.id, conn.credential)  # what a change notice does meanwhile
    gate.set()
    await reading  # the caller that asked before the end still gets its answer
    assert conn.id not in manager.cache.served
    assert conn.credential not in manager.cache.tokens
    assert conn.id not in manager.cache.connections


async def test_without_a_feed_a_cached_answer_is_rechecked_after_the_interval(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    """The hot path stays a dict lookup within `recheck_interval`; past it, one status read."""
    config = ManagerConfig(recheck_interval=0.2, use_change_feed=False)
    async with make_auth(emulator.url, store_url, keys, client, config=config) as auth:
        conn = await login(auth, "ava@zylker.com")
        await auth.access_token(conn.id)
        checks = 0
        real = auth.store.connection_state

        async def counting(connection_id: str) -> Any:
            nonlocal checks
            checks += 1
            return await real(connection_id)

        auth.store.connection_state = counting  # type: ignore[method-assign]
        for _ in range(50):
            await auth.access_token(conn.id)
        assert checks == 0
        await asyncio.sleep(0.25)
        await auth.access_token(conn.id)
        await auth.access_token(conn.id)
        assert checks == 1
        await auth.access_token(conn.id, verify=True)
        assert checks == 2


async def test_a_store_outage_fails_writes_closed_and_reads_open(
    emulator: Any, store_url: str, keys: str, client: OAuthClient
) -> None:
    """When the re-check cannot reach the store, a read is served the answer not known to be
    ended (no logout can be committed through a store nobody reaches), a write is refused."""
    config = ManagerConfig(recheck_interval=0.05, use_change_feed=False)
    async with make_auth(emulator.url, store_url, keys, client, config=config) as auth:
        conn = await login(auth, "ava@zylker.com")
        first = await auth.access_token(conn.id)

        async def down(connection_id: str) -> Any:
            raise StoreError("the token store is unreachable (test)")

        auth.store.connection_state = down  # type: ignore[method-assign]
        await asyncio.sleep(0.1)
        assert (await auth.access_token(conn.id)).token == first.token
        with pytest.raises(StoreError):
            await auth.access_token(conn.id, verify=True)
