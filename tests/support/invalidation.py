"""A second process holding a cached token while the first one ends its connection (spawned)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from zohoauth.errors import ZohoAuthError
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient

from .zoho import make_auth


def watcher(
    emulator_url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    connection_id: str,
    recheck_interval: float,
    use_change_feed: bool,
    write_first: bool,
    ready: Any,
    ended: Any,
    results: Any,
) -> None:
    """Cache the connection's token, say `ready` (on PostgreSQL once the change feed is live),
    then read it every 5 ms until it is refused; with `write_first`, the first call after the
    parent says `ended` is a write's (`verify=True`). Reports (outcome, wall time, error type,
    the first write's outcome, reads served from the cache after `ended`)."""

    async def run() -> tuple[str, float, str, str, int]:
        auth = make_auth(
            emulator_url,
            store_url,
            keys,
            client,
            config=ManagerConfig(
                recheck_interval=recheck_interval, use_change_feed=use_change_feed
            ),
        )
        async with auth:
            await auth.access_token(connection_id)
            deadline = time.monotonic() + 15
            if use_change_feed and auth.store.dialect == "postgresql":  # type: ignore[attr-defined]
                while not auth.manager.feed_live:
                    assert time.monotonic() < deadline, "the change feed never came up"
                    await asyncio.sleep(0.01)
                await auth.access_token(connection_id)  # cached again after the feed's reset
            ready.set()
            write = "not tried"
            served_after = 0
            while time.monotonic() < deadline:
                if write_first and ended.is_set() and write == "not tried":
                    try:
                        await auth.access_token(connection_id, verify=True)
                        write = "served"
                    except ZohoAuthError as exc:
                        write = type(exc).__name__
                try:
                    await auth.access_token(connection_id)
                except ZohoAuthError as exc:
                    return "refused", time.time(), type(exc).__name__, write, served_after
                if ended.is_set():
                    served_after += 1
                await asyncio.sleep(0.005)
            return "still served", time.time(), "", write, served_after

    try:
        results.put(("ok", os.getpid(), asyncio.run(run())))
    except BaseException as exc:  # report, don't hang the parent
        results.put(("error", os.getpid(), repr(exc)))
