"""The refresh lease: one conditional UPDATE decides, across coroutines, engines and processes."""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import replace
from typing import Any

import pytest

from zohoauth.credentials import Status
from zohoauth.crypto import KeyRing
from zohoauth.errors import NotFoundError
from zohoauth.store.sql import SQLTokenStore

from ..support.store import key, login, new_tokens
from .lease_worker import contend


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def timed(store_url: str, keyring: KeyRing) -> Any:
    """A second store on the same database whose clock the test moves."""
    clock = FakeClock()
    async with SQLTokenStore(store_url, keyring, clock=clock) as s:
        yield s, clock


async def test_acquire_contend_release(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    assert await store.try_acquire_lease(k, "a", 60)
    assert not await store.try_acquire_lease(k, "b", 60)
    assert not await store.try_acquire_lease(k, "a", 60)  # not re-entrant either
    await store.release_lease(k, "b")  # not the owner: nothing happens
    assert not await store.try_acquire_lease(k, "b", 60)
    await store.release_lease(k, "a")
    assert await store.try_acquire_lease(k, "b", 60)
    cred = await store.get_credential(k)
    assert cred is not None and cred.version == 1  # lease traffic doesn't bump the version


async def test_expired_lease_can_be_taken_over(timed: Any) -> None:
    store, clock = timed
    k = key()
    await login(store, k)
    assert await store.try_acquire_lease(k, "crashed", 30)
    clock.now += 29
    assert not await store.try_acquire_lease(k, "b", 30)
    clock.now += 2
    assert await store.try_acquire_lease(k, "b", 30)
    cred = await store.get_credential(k)
    assert cred is not None
    # The crashed holder comes back: it can neither save nor release b's lease.
    assert not await store.save_refreshed(k, "crashed", cred.version, new_tokens())
    await store.release_lease(k, "crashed")
    assert not await store.try_acquire_lease(k, "c", 30)


async def test_save_refreshed_needs_owner_and_version(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    cred = await store.get_credential(k)
    assert cred is not None
    fresh = new_tokens()

    assert not await store.save_refreshed(k, "a", cred.version, fresh)  # no lease at all
    assert await store.try_acquire_lease(k, "a", 60)
    assert not await store.save_refreshed(k, "b", cred.version, fresh)  # not the owner
    assert not await store.save_refreshed(k, "a", cred.version - 1, fresh)  # stale version
    unchanged = await store.get_credential(k)
    assert unchanged is not None and unchanged.lease_owner == "a"  # the lease, and only it
    assert replace(unchanged, lease_owner=None, lease_expires_at=None) == cred

    assert await store.save_refreshed(k, "a", cred.version, fresh, "https://www.zohoapis.eu")
    after = await store.get_credential(k)
    assert after is not None
    assert after.tokens == fresh
    assert after.api_domain == "https://www.zohoapis.eu"
    assert after.version == cred.version + 1
    assert after.refreshed_at is not None and after.updated_at >= cred.updated_at
    assert await store.try_acquire_lease(k, "b", 60)  # saving released the lease
    assert not await store.save_refreshed(k, "b", cred.version, fresh)  # a's version is gone


async def test_write_during_lease_makes_the_refresh_stale(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    assert await store.try_acquire_lease(k, "a", 60)
    cred = await store.get_credential(k)
    assert cred is not None
    await store.set_status(k, Status.REAUTH_REQUIRED)  # any write meanwhile bumps the version
    assert not await store.save_refreshed(k, "a", cred.version, new_tokens())


async def test_save_refreshed_ends_a_throttle(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    await store.set_throttled_until(k, 10**10)
    cred = await store.get_credential(k)
    assert cred is not None
    assert await store.try_acquire_lease(k, "a", 60)
    assert await store.save_refreshed(k, "a", cred.version, new_tokens())
    after = await store.get_credential(k)
    assert after is not None and after.throttled_until is None


async def test_lease_on_missing_credential(store: SQLTokenStore) -> None:
    with pytest.raises(NotFoundError):
        await store.try_acquire_lease(key("missing"), "a", 60)
    await store.release_lease(key("missing"), "a")  # harmless
    assert not await store.save_refreshed(key("missing"), "a", 1, new_tokens())


async def test_many_coroutines_on_many_engines_one_winner(
    store_url: str, keyring: KeyRing, store: SQLTokenStore
) -> None:
    stores = [SQLTokenStore(store_url, keyring) for _ in range(4)]
    for s in stores:
        await s.open()
    try:
        for round_ in range(5):
            k = key(f"race-{round_}")
            await login(store, k)
            owners = [f"w{i}" for i in range(24)]
            won = await asyncio.gather(
                *(stores[i % 4].try_acquire_lease(k, o, 60) for i, o in enumerate(owners))
            )
            assert sum(won) == 1, won
    finally:
        for s in stores:
            await s.close()


def test_processes_race_for_the_lease_one_winner(store_url: str, keys: str) -> None:
    """3 OS processes x 2 engines x 8 coroutines; exactly one takes each of 3 leases."""
    ctx = multiprocessing.get_context("spawn")
    race_keys = [key(f"proc-race-{i}") for i in range(3)]

    async def setup() -> None:
        async with SQLTokenStore(store_url, KeyRing.from_config(keys)) as s:
            for k in race_keys:
                await login(s, k)

    asyncio.run(setup())
    barrier = ctx.Barrier(3)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=contend,
            args=(
                store_url,
                keys,
                [(k.client_id, k.dc, k.zuid) for k in race_keys],
                [f"p{p}-c{c}" for c in range(8)],
                barrier,
                results,
            ),
        )
        for p in range(3)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    assert all(status == "ok" for status, _ in outcomes), outcomes
    for i in range(len(race_keys)):
        winners = [owner for _, per_key in outcomes for owner in per_key[i]]
        assert len(winners) == 1, (race_keys[i], winners)
