"""Encryption at rest: no token in the database, rows can't be swapped, keys rotate."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from zohoauth.crypto import KeyRing
from zohoauth.errors import DecryptionError
from zohoauth.store import schema
from zohoauth.store.queries import key_where
from zohoauth.store.rotate import rotate_keys
from zohoauth.store.sql import SQLTokenStore
from zohoauth.store.urls import normalize_url, sqlite_path

from ..support.databases import table_dump
from ..support.store import key, login, new_tokens
from ..support.tokens import ZOHO_TOKEN_RE


async def test_no_token_reaches_the_database(store_url: str, store: SQLTokenStore) -> None:
    written = []
    for i in range(5):
        tokens = new_tokens()
        written += [tokens.refresh_token, tokens.access_token or ""]
        await login(store, key(f"u{i}"), f"user{i}@example.com", tokens=tokens)
    k = key("u0")
    cred = await store.get_credential(k)
    assert cred is not None
    assert await store.try_acquire_lease(k, "w", 60)
    refreshed = new_tokens()
    written.append(refreshed.access_token or "")
    assert await store.save_refreshed(k, "w", cred.version, refreshed)

    dumps = [(await table_dump(store_url)).encode()]
    path = sqlite_path(normalize_url(store_url))
    if path is not None:  # the file itself, and the WAL where recent writes still live
        await store.close()
        dumps += [p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    assert len(b"".join(dumps)) > 0
    for dump in dumps:
        assert re.search(ZOHO_TOKEN_RE, dump) is None
        for token in written:
            assert token.encode() not in dump
            assert token.split(".")[1].encode() not in dump  # not even a fragment


async def test_wrong_key_ring_cannot_read(store_url: str, store: SQLTokenStore) -> None:
    [conn] = await login(store, key())
    async with SQLTokenStore(store_url, KeyRing.from_keys(os.urandom(32))) as other:
        with pytest.raises(DecryptionError) as info:
            await other.get_credential(key())
        with pytest.raises(DecryptionError):
            await other.get_connection_with_credential(conn.id)
        assert await other.get_connection(conn.id) == conn  # metadata stays readable
    assert "ZOHOAUTH_ENCRYPTION_KEYS" in str(info.value)


async def test_ciphertext_copied_to_another_row_fails(store: SQLTokenStore) -> None:
    victim, attacker = key("victim"), key("attacker")
    await login(store, victim)
    await login(store, attacker)
    c = schema.credentials.c
    async with store.engine.begin() as conn:
        secret = await conn.scalar(select(c.secret).where(key_where(schema.credentials, victim)))
        await conn.execute(
            update(schema.credentials)
            .where(key_where(schema.credentials, attacker))
            .values(secret=secret)
        )
    with pytest.raises(DecryptionError, match="another record"):
        await store.get_credential(attacker)
    assert await store.get_credential(victim) is not None


async def test_rotate_keys_reencrypts_everything_then_is_a_no_op(
    store_url: str, store: SQLTokenStore, keyring: KeyRing
) -> None:
    tokens = {key(f"u{i}"): new_tokens() for i in range(7)}
    for k, t in tokens.items():
        await login(store, k, tokens=t)
    old = keyring.active_kid
    new_key = os.urandom(32)
    rotated_ring = keyring.with_active(new_key)
    new = rotated_ring.active_kid

    async with SQLTokenStore(store_url, rotated_ring) as rotated:
        assert await rotated.count_by_key_id() == {old: 7}
        assert await rotate_keys(rotated, batch=3) == 7
        assert await rotated.count_by_key_id() == {new: 7}
        assert await rotate_keys(rotated, batch=3) == 0
        versions = {cred.key: cred.version async for cred in rotated.iter_credentials()}
    assert set(versions.values()) == {1}  # rotation is not a content change

    async with SQLTokenStore(store_url, KeyRing.from_keys(new_key)) as only_new:
        for k, t in tokens.items():
            cred = await only_new.get_credential(k)
            assert cred is not None and cred.tokens == t
    with pytest.raises(DecryptionError):
        await store.get_credential(key("u0"))  # the old ring alone can't read any more


class _FailingRing:
    """Duck-typed KeyRing that breaks after `n` encryptions (an interrupted rotation)."""

    def __init__(self, ring: KeyRing, n: int) -> None:
        self.ring, self.left = ring, n
        self.active_kid = ring.active_kid

    def decrypt(self, blob: str, aad: bytes) -> bytes:
        return self.ring.decrypt(blob, aad)

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        if self.left == 0:
            raise RuntimeError("interrupted")
        self.left -= 1
        return self.ring.encrypt(plaintext, aad)


async def test_interrupted_rotation_keeps_rows_readable_and_rerun_finishes(
    store_url: str, store: SQLTokenStore, keyring: KeyRing
) -> None:
    for i in range(5):
        await login(store, key(f"u{i}"))
    ring = keyring.with_active(os.urandom(32))
    async with SQLTokenStore(store_url, ring) as rotated:
        failing: Any = _FailingRing(ring, 3)
        with pytest.raises(RuntimeError, match="interrupted"):
            await rotate_keys(rotated, failing, batch=2)
        counts = await rotated.count_by_key_id()
        assert counts == {ring.active_kid: 2, keyring.active_kid: 3}  # first batch committed
        assert len([c async for c in rotated.iter_credentials()]) == 5  # all still readable
        assert await rotate_keys(rotated, batch=2) == 3
        assert await rotated.count_by_key_id() == {ring.active_kid: 5}


async def test_rotation_needs_the_old_key(store_url: str, store: SQLTokenStore) -> None:
    await login(store, key())
    async with SQLTokenStore(store_url, KeyRing.from_keys(os.urandom(32))) as rotated:
        with pytest.raises(DecryptionError, match="add that key back"):
            await rotate_keys(rotated)
