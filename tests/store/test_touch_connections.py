"""`touch_connections` from many processes at once: each app flushes its "last used" times
about once a second, in the order its users came, so two apps' batches overlap in different
orders. Rows must be updated in one order (by id) everywhere, or two batches can each lock a
row the other needs and the database kills one of them as a deadlock (found by bench.scale's
cold-start fleet: 4 apps reading the same 10,000 users)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from zohoauth.credentials import Login, OrgInfo
from zohoauth.store.schema import connections
from zohoauth.store.sql import SQLTokenStore

from ..support.store import API_DOMAIN, SCOPES, key, new_tokens

USERS = 400


async def test_overlapping_batches_in_opposite_orders_all_land(
    store: SQLTokenStore, store_url: str
) -> None:
    if store.dialect == "sqlite":
        pytest.skip("SQLite has one writer at a time: no row locks to take in two orders")
    logins = [
        Login(
            key(str(i)),
            f"u{i}@example.com",
            new_tokens(),
            API_DOMAIN,
            SCOPES,
            (OrgInfo(str(7_000_000 + i), f"Org {i}"),),
        )
        for i in range(USERS)
    ]
    saved = await store.save_logins(logins)
    ids = [s[0].id for s in saved if isinstance(s, list)]
    assert len(ids) == USERS
    async with SQLTokenStore(store_url, store.keyring) as other:
        for n in range(1, 6):
            forward = {cid: 1_000.0 * n for cid in ids}
            backward = {cid: 1_000.0 * n + 1 for cid in reversed(ids)}
            await asyncio.gather(
                store.touch_connections(forward), other.touch_connections(backward)
            )
    async with store.engine.connect() as db:
        used = set((await db.execute(select(connections.c.last_used_at))).scalars())
    assert used <= {5_000.0, 5_001.0} and used, used  # every row written by the last round
