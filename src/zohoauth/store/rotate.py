"""Key rotation: re-encrypt every credential — every replaced refresh token still waiting to be
revoked (`zohoauth_pending_revocations`), and every webhook signing secret — whose key id is not
the ring's active one.

How to rotate: put the new key first in `ZOHOAUTH_ENCRYPTION_KEYS` and keep the old ones after
it, restart the apps (new writes use the new key; old rows stay readable), then run
`zohoauth keys rotate`. When `zohoauth keys status` shows only the new key id, drop the old
keys.

Each batch is its own short transaction and each row update is conditional on the version and
key id it read, so rotation can run next to live apps, be interrupted at any point, and be
rerun (a rerun after a complete one changes nothing). It never bumps `version`: the tokens did
not change, and a refresher that read the row before must still be able to save its result.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from ..credentials import CredentialKey
from ..crypto import KeyRing
from . import queries as q
from .codec import key_of, revocation_aad, webhook_secret_aad
from .engine import write_transaction
from .sql import SQLTokenStore


async def rotate_keys(
    store: SQLTokenStore,
    keyring: KeyRing | None = None,
    *,
    batch: int = 500,
    on_batch: Callable[[int], Awaitable[None] | None] | None = None,
) -> int:
    """Re-encrypt rows not under `keyring`'s active key (default: the store's ring).

    Then the token service's webhook signing secrets (`rotate_webhook_secrets`), so the old
    key can be dropped without breaking webhook signatures. Returns how many credentials and
    queued replaced tokens were re-encrypted (the few webhook secrets are not counted). After
    each committed batch, `on_batch(n)` (a function or coroutine) hears how many rows that
    batch visited: progress
    bars, or a pause to go easy on a live database. Rows are visited once each, in key order,
    so a process still writing with an old key can't keep the loop going. DecryptionError if
    a row's key is missing from the ring (add the old key back after the active one).
    """
    ring = keyring or store.keyring
    active = ring.active_kid
    rotated = 0
    last: CredentialKey | None = None
    while True:
        stmt = q.rotation_page(active, last, batch)
        async with store.guard("re-encrypt credentials"), write_transaction(store.engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
            for row in rows:
                key = key_of(row)
                blob = ring.encrypt(ring.decrypt(row["secret"], key.aad), key.aad)
                result = await conn.execute(
                    q.reencrypt(key, row["version"], row["key_id"], blob, active)
                )
                rotated += result.rowcount
        if on_batch is not None:
            await _maybe_await(on_batch(len(rows)))
        if len(rows) < batch:
            break
        last = key_of(rows[-1])
    rotated += await _rotate_pending(store, ring, batch, on_batch)
    await rotate_webhook_secrets(store, ring)
    return rotated


async def _rotate_pending(
    store: SQLTokenStore,
    ring: KeyRing,
    batch: int,
    on_batch: Callable[[int], Awaitable[None] | None] | None,
) -> int:
    """The same for replaced refresh tokens waiting to be revoked: a row is only ever
    deleted, never rewritten, so the key id it was read with is the only condition."""
    active = ring.active_kid
    rotated = 0
    after: str | None = None
    while True:
        stmt = q.pending_rotation_page(active, after, batch)
        async with (
            store.guard("re-encrypt pending revocations"),
            write_transaction(store.engine) as conn,
        ):
            rows = (await conn.execute(stmt)).mappings().all()
            for row in rows:
                aad = revocation_aad(row["id"], key_of(row))
                blob = ring.encrypt(ring.decrypt(row["secret"], aad), aad)
                result = await conn.execute(
                    q.reencrypt_pending(row["id"], row["key_id"], blob, active)
                )
                rotated += result.rowcount
        if on_batch is not None:
            await _maybe_await(on_batch(len(rows)))
        if len(rows) < batch:
            return rotated
        after = rows[-1]["id"]


async def rotate_webhook_secrets(store: SQLTokenStore, keyring: KeyRing | None = None) -> int:
    """Re-encrypt the token service's webhook signing secrets not under the active key (a
    handful of rows: one transaction). Each update is conditional on the key id it read."""
    ring = keyring or store.keyring
    active = ring.active_kid
    rotated = 0
    async with store.guard("re-encrypt webhook secrets"), write_transaction(store.engine) as conn:
        for row in (await conn.execute(q.webhooks_to_rotate(active))).mappings().all():
            aad = webhook_secret_aad(row["id"])
            blob = ring.encrypt(ring.decrypt(row["secret"], aad), aad)
            result = await conn.execute(q.reencrypt_webhook(row["id"], row["key_id"], blob, active))
            rotated += result.rowcount
    return rotated


async def _maybe_await(value: object) -> None:
    if inspect.isawaitable(value):
        await value


__all__ = ["rotate_keys", "rotate_webhook_secrets"]
