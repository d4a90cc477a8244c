"""SQLTokenStore on SQLite, PostgreSQL and MySQL: logins, lookups, status and deletes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select, update

from zohoauth.credentials import Status, TokenSet
from zohoauth.crypto import KeyRing
from zohoauth.errors import NotFoundError
from zohoauth.store import schema
from zohoauth.store.queries import key_where
from zohoauth.store.sql import SQLTokenStore

from ..support.store import API_DOMAIN, SCOPES, key, login, new_tokens


async def test_save_and_get_round_trip(store: SQLTokenStore) -> None:
    k = key()
    tokens = new_tokens()
    [conn] = await login(store, k, tokens=tokens)

    cred = await store.get_credential(k)
    assert cred is not None
    assert cred.key == k
    assert cred.tokens == tokens
    assert cred.email == "ada@example.com"
    assert cred.api_domain == API_DOMAIN
    assert cred.scopes == SCOPES
    assert cred.status is Status.ACTIVE
    assert cred.version == 1
    assert cred.created_at == cred.updated_at > 0
    assert conn.id.startswith("conn_") and len(conn.id) == 27
    assert await store.get_connection(conn.id) == conn
    assert await store.get_connection_with_credential(conn.id) == (conn, cred)
    assert await store.get_credential(key("other")) is None
    assert await store.get_connection("conn_missing") is None
    assert await store.get_connection_with_credential("conn_missing") is None


async def test_access_token_may_be_absent(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k, tokens=TokenSet("1000.refresh", None, 0.0))
    cred = await store.get_credential(k)
    assert cred is not None
    assert cred.tokens == TokenSet("1000.refresh", None, 0.0)


async def test_relogin_updates_in_place_and_keeps_connection_ids(store: SQLTokenStore) -> None:
    k = key()
    first = await login(store, k, orgs=(("1", "Acme"), ("2", "Beta")))
    before = await store.get_credential(k)
    assert before is not None
    assert await store.try_acquire_lease(k, "worker-1", 60)
    await store.set_throttled_until(k, 10**10)
    await store.set_status(k, Status.REAUTH_REQUIRED)

    fresh = new_tokens()
    again = await login(
        store, k, email="Ada@Example.com", orgs=(("2", "Beta Ltd"), ("1", "Acme")), tokens=fresh
    )

    assert [c.id for c in again] == [first[1].id, first[0].id]
    assert again[0].org_name == "Beta Ltd"
    assert again[0].created_at == first[1].created_at
    cred = await store.get_credential(k)
    assert cred is not None
    assert cred.tokens == fresh
    assert cred.status is Status.ACTIVE
    assert cred.throttled_until is None
    assert cred.version == before.version + 3  # throttle, status, login
    assert cred.created_at == before.created_at
    assert cred.email == "Ada@Example.com"
    assert await store.try_acquire_lease(k, "worker-2", 60)  # the login cleared the old lease
    assert {c.id for c in await store.connections_of(k)} == {first[0].id, first[1].id}


async def test_two_orgs_share_one_credential(store: SQLTokenStore) -> None:
    k = key()
    a, b = await login(store, k, orgs=(("1", "Acme"), ("2", "Beta")))
    assert a.id != b.id
    assert a.credential == b.credential == k
    assert {c.org_id for c in await store.connections_of(k)} == {"1", "2"}
    pair_a = await store.get_connection_with_credential(a.id)
    pair_b = await store.get_connection_with_credential(b.id)
    assert pair_a is not None and pair_b is not None
    assert pair_a[1] == pair_b[1]
    async with store.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(schema.credentials)) == 1


async def test_duplicate_orgs_in_one_login_make_one_connection(store: SQLTokenStore) -> None:
    conns = await login(store, key(), orgs=(("1", "Acme"), ("1", "Acme again")))
    assert len(conns) == 1
    assert len(await store.connections_of(key())) == 1


async def test_find_by_email_case_insensitive_and_org(store: SQLTokenStore) -> None:
    ada1, ada2 = await login(store, key("1"), "Ada@Example.COM", (("1", "Acme"), ("2", "Beta")))
    [bob] = await login(store, key("2", dc="eu"), "bob@example.com", (("1", "Acme"),))
    [other] = await login(store, key("1", client_id="1000.OTHER"), "ada@example.com")

    found = await store.find_connections(email="ADA@example.com")
    assert {c.id for c in found} == {ada1.id, ada2.id, other.id}
    assert await store.find_connections(email="ada@EXAMPLE.com", org_id="2") == [ada2]
    assert {c.id for c in await store.find_connections(org_id="1")} == {ada1.id, bob.id}
    by_client = await store.find_connections(email="ada@example.com", client_id="1000.OTHER")
    assert by_client == [other]
    assert await store.find_connections(email="nobody@example.com") == []
    assert len(await store.find_connections()) == 4


async def test_iter_credentials_in_key_order_across_batches(store: SQLTokenStore) -> None:
    keys = [key(f"{i:03d}", dc=dc) for i in range(4) for dc in ("eu", "us")]
    for k in reversed(keys):
        await login(store, k, orgs=())
    listed = [cred.key async for cred in store.iter_credentials(batch=3)]
    assert listed == sorted(keys, key=lambda k: (k.client_id, k.dc, k.zuid))
    assert [c.key async for c in store.iter_credentials(batch=100)] == listed


async def test_status_and_throttle_bump_version(store: SQLTokenStore) -> None:
    k = key()
    await login(store, k)
    await store.set_status(k, Status.REAUTH_REQUIRED)
    await store.set_throttled_until(k, 1234.5)
    cred = await store.get_credential(k)
    assert cred is not None
    assert (cred.status, cred.throttled_until, cred.version) == (Status.REAUTH_REQUIRED, 1234.5, 3)
    await store.set_throttled_until(k, None)
    cred = await store.get_credential(k)
    assert cred is not None and cred.throttled_until is None
    with pytest.raises(NotFoundError):
        await store.set_status(key("missing"), Status.ACTIVE)
    with pytest.raises(NotFoundError):
        await store.set_throttled_until(key("missing"), None)


async def test_delete_credential_cascades(store: SQLTokenStore) -> None:
    k = key()
    a, b = await login(store, k, orgs=(("1", "Acme"), ("2", "Beta")))
    [keep] = await login(store, key("2"))
    assert await store.delete_credential(k)
    assert await store.get_credential(k) is None
    assert await store.get_connection(a.id) is None
    assert await store.get_connection(b.id) is None
    assert await store.get_connection(keep.id) == keep
    assert not await store.delete_credential(k)


async def test_foreign_key_cascades_in_the_database(store: SQLTokenStore) -> None:
    k = key()
    [conn] = await login(store, k)
    async with store.engine.begin() as db:
        await db.execute(delete(schema.credentials))
    assert await store.get_connection(conn.id) is None


async def test_delete_connection_takes_credential_with_the_last(store: SQLTokenStore) -> None:
    k = key()
    a, b = await login(store, k, orgs=(("1", "Acme"), ("2", "Beta")))
    assert await store.delete_connection(a.id)
    assert await store.get_credential(k) is not None
    assert not await store.delete_connection(a.id)
    assert await store.delete_connection(b.id)
    assert await store.get_credential(k) is None


async def test_concurrent_deletes_of_the_last_two_connections(
    store_url: str, keyring: KeyRing, store: SQLTokenStore
) -> None:
    k = key()
    a, b = await login(store, k, orgs=(("1", "Acme"), ("2", "Beta")))
    async with SQLTokenStore(store_url, keyring) as other:
        assert await asyncio.gather(store.delete_connection(a.id), other.delete_connection(b.id))
    assert await store.get_credential(k) is None


async def test_racing_first_logins_make_one_credential(
    store_url: str, keyring: KeyRing, store: SQLTokenStore
) -> None:
    k = key()
    stores = [SQLTokenStore(store_url, keyring) for _ in range(4)]
    for s in stores:
        await s.open()
    try:
        results = await asyncio.gather(
            *(login(s, k, orgs=(("1", "Acme"), ("2", "Beta"))) for s in stores)
        )
    finally:
        for s in stores:
            await s.close()
    assert all(len(conns) == 2 for conns in results)
    final = {c.id for c in await store.connections_of(k)}
    assert len(final) == 2
    assert all({c.id for c in conns} == final for conns in results)  # every racer agrees
    cred = await store.get_credential(k)
    assert cred is not None and cred.version == 4


async def test_rowcount_counts_matched_rows_not_changed_rows(store: SQLTokenStore) -> None:
    """The lease logic reads rowcount as "matched" (MySQL needs CLIENT.FOUND_ROWS for that)."""
    k = key()
    await login(store, k)
    async with store.engine.begin() as conn:
        result = await conn.execute(
            update(schema.credentials)
            .where(key_where(schema.credentials, k))
            .values(status=schema.credentials.c.status)  # changes nothing
        )
    assert result.rowcount == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_sqlite_read_skips_the_rollback_round_trip_a_failed_write_still_rolls_back(
    store: SQLTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every aiosqlite call is a hop to its thread; a read without BEGIN has nothing to roll
    back, but a write transaction that failed half-way must still be undone."""
    import aiosqlite

    from zohoauth.store.engine import write_transaction

    k = key()
    [conn] = await login(store, k)
    rollbacks = [0]
    real_rollback = aiosqlite.Connection.rollback

    async def counting_rollback(self: aiosqlite.Connection) -> None:
        rollbacks[0] += 1
        await real_rollback(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counting_rollback)
    assert await store.get_connection_with_credential(conn.id) is not None
    assert rollbacks[0] == 0

    async def delete_then_fail() -> None:
        async with write_transaction(store.engine) as tx:
            await tx.execute(delete(schema.connections))
            raise RuntimeError("the caller failed half-way")

    with pytest.raises(RuntimeError):
        await delete_then_fail()
    assert rollbacks[0] == 1
    assert await store.get_connection(conn.id) == conn  # the delete was undone
    await store.set_status(k, Status.REAUTH_REQUIRED)  # and the connection is usable again
