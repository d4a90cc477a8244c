"""The queue of replaced refresh tokens in the store, on every engine: queued by the login's own
transaction only when a different token is replaced and only when asked (not by imports),
encrypted and bound to its row, claimed by one process at a time, and rotated with the keys."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import update

from zohoauth.credentials import CredentialKey, Login, OrgInfo, TokenSet
from zohoauth.crypto import KeyRing
from zohoauth.errors import DecryptionError
from zohoauth.store import schema
from zohoauth.store.rotate import rotate_keys
from zohoauth.store.sql import SQLTokenStore

from ..support.databases import table_dump
from ..support.store import API_DOMAIN, SCOPES, key, login, new_tokens


def _login(k: CredentialKey, tokens: TokenSet) -> Login:
    return Login(k, "ada@example.com", tokens, API_DOMAIN, SCOPES, (OrgInfo("6000001", "Acme"),))


async def test_only_a_login_that_asks_queues_the_token_it_replaces(
    store_url: str, store: SQLTokenStore
) -> None:
    k = key()
    first, imported, relogin = new_tokens(), new_tokens(), new_tokens()
    await store.save_login(_login(k, first), revoke_replaced=True)  # nothing to replace yet
    assert await store.pending_revocations() == []
    await store.save_login(_login(k, imported))  # an import (or the SDK) replaces silently
    assert await store.pending_revocations() == []
    await store.save_login(_login(k, imported), revoke_replaced=True)  # the same token again
    assert await store.pending_revocations() == []
    await store.save_login(_login(k, relogin), revoke_replaced=True)
    [queued] = await store.pending_revocations()
    assert queued.key == k and queued.refresh_token == imported.refresh_token
    assert queued.attempts == 0
    cred = await store.get_credential(k)
    assert cred is not None and cred.tokens == relogin  # stored in the same transaction
    dump = await table_dump(store_url)
    assert imported.refresh_token not in dump and relogin.refresh_token not in dump


async def test_a_queued_ciphertext_opens_only_in_its_own_row(
    store_url: str, store: SQLTokenStore
) -> None:
    k = key()
    await login(store, k)
    await store.save_login(_login(k, new_tokens()), revoke_replaced=True)
    [queued] = await store.pending_revocations()
    cred_secret = None
    async with store.engine.begin() as conn:
        rows = (await conn.execute(schema.credentials.select())).mappings().all()
        cred_secret = rows[0]["secret"]
        await conn.execute(  # a credential's ciphertext planted in the queue
            update(schema.pending_revocations)
            .where(schema.pending_revocations.c.id == queued.id)
            .values(secret=cred_secret)
        )
    assert await store.pending_revocations() == []  # left out (and logged), not an error


async def test_a_replaced_secret_the_ring_cannot_open_does_not_fail_the_login(
    store_url: str, store: SQLTokenStore
) -> None:
    k = key()
    await login(store, k)
    async with SQLTokenStore(store_url, KeyRing.from_keys(os.urandom(32))) as other_ring:
        fresh = new_tokens()
        [conn] = await other_ring.save_login(_login(k, fresh), revoke_replaced=True)
        assert conn.credential == k
        assert await other_ring.pending_revocations() == []
        cred = await other_ring.get_credential(k)
        assert cred is not None and cred.tokens == fresh


async def test_concurrent_relogins_queue_each_replaced_token(
    store_url: str, store: SQLTokenStore
) -> None:
    k = key()
    original = new_tokens()
    await login(store, k, tokens=original)
    racing = [new_tokens() for _ in range(4)]
    await asyncio.gather(*(store.save_login(_login(k, t), revoke_replaced=True) for t in racing))
    cred = await store.get_credential(k)
    assert cred is not None and cred.tokens in racing
    queued = sorted(p.refresh_token for p in await store.pending_revocations())
    everything_but_the_winner = {original.refresh_token} | {
        t.refresh_token for t in racing if t != cred.tokens
    }
    assert queued == sorted(everything_but_the_winner)  # each replaced token exactly once


async def test_a_claim_keeps_others_off_until_released_or_expired(
    store: SQLTokenStore,
) -> None:
    k = key()
    await login(store, k)
    await store.save_login(_login(k, new_tokens()), revoke_replaced=True)
    [item] = await store.pending_revocations()
    now = store.clock()
    results = await asyncio.gather(*(store.claim_revocation(item, 120) for _ in range(5)))
    assert results.count(True) == 1
    assert await store.pending_revocations() == []  # claimed: nobody else sees it
    assert not await store.claim_revocation(item, 120)
    assert await store.reschedule_revocation(item.id, item.attempts + 1, now + 600)
    assert await store.pending_revocations(due_by=now) == []  # backing off
    [again] = await store.pending_revocations()  # but there, for a pass that skips back-off
    assert again.attempts == 1 and again.next_attempt_at == pytest.approx(now + 600)
    # A claimer that died: its claim keeps the row for its ttl, then anyone may take it.
    assert await store.claim_revocation(again, 120)
    assert await store.pending_revocations() == []
    real_clock = store.clock
    store.clock = lambda: real_clock() + 121
    [orphan] = await store.pending_revocations()
    assert orphan.attempts == 2
    assert await store.claim_revocation(orphan, 120)
    store.clock = real_clock
    assert await store.delete_revocation(again.id)
    assert not await store.delete_revocation(again.id)


async def test_rotation_reencrypts_queued_tokens_too(
    store_url: str, store: SQLTokenStore, keyring: KeyRing
) -> None:
    replaced = []
    for i in range(5):
        k = key(f"u{i}")
        first = new_tokens()
        await login(store, k, tokens=first)
        await store.save_login(_login(k, new_tokens()), revoke_replaced=True)
        replaced.append(first.refresh_token)
    old = keyring.active_kid
    new_key = os.urandom(32)
    rotated_ring = keyring.with_active(new_key)
    new = rotated_ring.active_kid
    async with SQLTokenStore(store_url, rotated_ring) as rotated:
        assert await rotated.count_by_key_id() == {old: 10}  # 5 credentials + 5 queued
        assert await rotate_keys(rotated, batch=2) == 10
        assert await rotated.count_by_key_id() == {new: 10}
        assert await rotate_keys(rotated, batch=2) == 0
    async with SQLTokenStore(store_url, KeyRing.from_keys(new_key)) as only_new:
        queued = await only_new.pending_revocations()
        assert sorted(p.refresh_token for p in queued) == sorted(replaced)
    assert await store.pending_revocations() == []  # the old ring alone opens none of them
    with pytest.raises(DecryptionError):
        await store.get_credential(key("u0"))
