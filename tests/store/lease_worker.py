"""A child process for the cross-process lease race (imported by multiprocessing's spawn)."""

from __future__ import annotations

import asyncio
from typing import Any

from zohoauth.credentials import CredentialKey
from zohoauth.crypto import KeyRing
from zohoauth.store.sql import SQLTokenStore


def contend(
    url: str,
    keys: str,
    credential_keys: list[tuple[str, str, str]],
    owners: list[str],
    barrier: Any,
    results: Any,
) -> None:
    """Open two stores (engines), then for each credential wait for every process at the
    barrier and race all `owners` for its lease at once. Reports the winners per credential."""

    async def main() -> list[list[str]]:
        stores = [SQLTokenStore(url, KeyRing.from_config(keys)) for _ in range(2)]
        winners: list[list[str]] = []
        for store in stores:
            await store.open()
        try:
            for key in credential_keys:
                k = CredentialKey(*key)
                for store in stores:
                    await store.get_credential(k)  # connected before the start line
                barrier.wait(timeout=60)
                won = await asyncio.gather(
                    *(
                        stores[i % 2].try_acquire_lease(k, owner, 60)
                        for i, owner in enumerate(owners)
                    )
                )
                winners.append([owner for owner, ok in zip(owners, won, strict=True) if ok])
        finally:
            for store in stores:
                await store.close()
        return winners

    try:
        results.put(("ok", asyncio.run(main())))
    except Exception as exc:  # report, don't leave the parent waiting
        results.put(("error", f"{type(exc).__name__}: {exc}"))
