"""Service keys on a real store across an encryption key rotation: a key made under the old
encryption key (whose pepper derives from it) is re-hashed under the new one when it is next
used, so dropping the old key leaves it working; a key not used in between is refused."""

from __future__ import annotations

import pytest

from zohoauth.crypto import KeyRing
from zohoauth.errors import ServiceKeyError
from zohoauth.service import TokenService
from zohoauth.store.sql import SQLTokenStore


async def _service(store_url: str, keys: str) -> tuple[SQLTokenStore, TokenService]:
    store = SQLTokenStore(store_url, KeyRing.from_config(keys))
    await store.open()
    return store, TokenService(store, auth=None)


async def test_a_used_key_survives_dropping_the_old_encryption_key(
    store_url: str, keys: str
) -> None:
    store, old = await _service(store_url, keys)
    used = await old.create_key("billing")
    idle = await old.create_key("idle")
    await old.aclose()
    await store.close()

    new_key = KeyRing.generate_key()
    store, both = await _service(store_url, f"{new_key},{keys}")  # rotating: new key first
    await both.authenticate(f"Bearer {used.key}", "token")
    await both.aclose()  # writes the new hash
    await store.close()

    store, only_new = await _service(store_url, new_key)  # the old key dropped
    try:
        assert (await only_new.authenticate(f"Bearer {used.key}", "token")).name == "billing"
        with pytest.raises(ServiceKeyError, match="unknown"):
            await only_new.authenticate(f"Bearer {idle.key}", "token")
    finally:
        await only_new.aclose()
        await store.close()
