"""Worker processes for the cross-process refresh tests (run with the spawn start method)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient

from .zoho import make_auth


def storm_worker(
    emulator_url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    connection_ids: list[str],
    callers: int,
    clock_offset: float,
    barrier: Any,
    results: Any,
) -> None:
    """`callers` concurrent access_token() calls after all processes reached the barrier."""

    async def run() -> list[str]:
        auth = make_auth(
            emulator_url,
            store_url,
            keys,
            client,
            clock=lambda: time.time() + clock_offset,
            config=ManagerConfig(poll_interval=0.02),
        )
        async with auth:
            await asyncio.gather(*(auth.connection(c) for c in connection_ids))
            barrier.wait()
            toks = await asyncio.gather(
                *(
                    auth.access_token(connection_ids[i % len(connection_ids)])
                    for i in range(callers)
                )
            )
            return [t.token for t in toks]

    try:
        results.put(("ok", os.getpid(), asyncio.run(run())))
    except BaseException as exc:  # report, don't hang the parent
        results.put(("error", os.getpid(), repr(exc)))


def hold_lease_worker(
    emulator_url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    connection_id: str,
    clock_offset: float,
    lease_ttl: float,
) -> None:
    """Starts a refresh (the emulator is made slow) and is SIGKILLed while holding the lease."""

    async def run() -> None:
        auth = make_auth(
            emulator_url,
            store_url,
            keys,
            client,
            clock=lambda: time.time() + clock_offset,
            config=ManagerConfig(lease_ttl=lease_ttl, max_attempts=1),
        )
        async with auth:
            await auth.access_token(connection_id)

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    asyncio.run(run())
