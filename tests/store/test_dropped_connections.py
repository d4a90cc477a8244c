"""A pooled connection the server dropped (restart, killed backend, a proxy's idle cut).

The engines no longer ping every connection on checkout (issue 11: that `SELECT 1` was most of
a cold lookup), so the first statement on a dropped connection fails: a read is run once more
on a fresh connection and answers; a write is not run again (it might have been applied) and
surfaces as a StoreError, applied zero times, and the next write works. Each test kills only
the connection its own store holds, found by that connection's own id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from zohoauth.credentials import Status
from zohoauth.errors import StoreError
from zohoauth.store import engine as engine_module
from zohoauth.store.sql import SQLTokenStore

from ..support.store import key, login

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
OWN_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
STILL_THERE = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE pid = :id",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE id = :id",
}


async def own_connection_id(store: SQLTokenStore) -> int:
    """The server's id for the one connection in the store's pool (tests use it sequentially)."""
    async with store.engine.connect() as conn:
        return int(await conn.scalar(text(OWN_ID[store.dialect])))


async def kill(store: SQLTokenStore, connection_id: int) -> None:
    """Kill that one connection from a separate session and wait until the server let it go."""
    admin = create_async_engine(store.url, poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            if store.dialect == "postgresql":
                await conn.execute(text("SELECT pg_terminate_backend(:id)"), {"id": connection_id})
            else:
                await conn.execute(text(f"KILL {int(connection_id)}"))
            for _ in range(100):
                if not await conn.scalar(text(STILL_THERE[store.dialect]), {"id": connection_id}):
                    return
                await asyncio.sleep(0.05)
        raise AssertionError(f"connection {connection_id} is still there")
    finally:
        await admin.dispose()


def count_connects(store: SQLTokenStore) -> list[int]:
    connects = [0]

    @event.listens_for(store.engine.sync_engine, "connect")
    def _count(*_args: Any) -> None:
        connects[0] += 1

    return connects


@pytest.mark.parametrize("store_url", SERVERS, indirect=True)
async def test_a_read_on_a_dropped_connection_is_answered_from_a_fresh_one(
    store: SQLTokenStore,
) -> None:
    [conn] = await login(store, key())
    expected = await store.get_connection_with_credential(conn.id)
    assert expected is not None
    killed = await own_connection_id(store)
    connects = count_connects(store)
    await kill(store, killed)

    assert await store.get_connection_with_credential(conn.id) == expected
    assert connects[0] == 1  # the dropped connection failed, a fresh one answered
    assert await own_connection_id(store) != killed
    # The other reads retry the same way.
    await kill(store, await own_connection_id(store))
    assert await store.get_credential(key()) == expected[1]


@pytest.mark.parametrize("store_url", SERVERS, indirect=True)
async def test_a_write_on_a_dropped_connection_is_not_run_twice(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    before = await store.get_credential(k)
    assert before is not None
    await kill(store, await own_connection_id(store))

    with pytest.raises(StoreError, match="cannot connect"):
        await store.set_status(k, Status.REAUTH_REQUIRED)
    unchanged = await store.get_credential(k)
    assert unchanged == before  # not applied, not retried behind the caller's back

    await store.set_status(k, Status.REAUTH_REQUIRED)  # the pool has a fresh connection
    after = await store.get_credential(k)
    assert after is not None
    assert (after.status, after.version) == (Status.REAUTH_REQUIRED, before.version + 1)


@pytest.mark.parametrize("store_url", SERVERS, indirect=True)
async def test_an_idle_connection_is_pinged_and_replaced_before_a_write(
    store: SQLTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    k = key()
    await login(store, k)
    before = await store.get_credential(k)
    assert before is not None
    await kill(store, await own_connection_id(store))
    monkeypatch.setattr(engine_module, "IDLE_PING_AFTER_S", 0.0)  # every pooled one is "idle"

    await store.set_status(k, Status.REAUTH_REQUIRED)  # the ping found it dead: a fresh one
    after = await store.get_credential(k)
    assert after is not None
    assert (after.status, after.version) == (Status.REAUTH_REQUIRED, before.version + 1)
