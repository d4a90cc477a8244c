"""When each connection was last used (`zohoauth tokens list`), recorded off the request path.

`TokenManager` notes a use at most once per `interval` per connection (a dict lookup); a
background task writes the batch about a second later with one UPDATE (`touch_connections`).
A failure to write is logged and forgotten: bookkeeping never fails or slows a token lookup.
"""

from __future__ import annotations

import asyncio
import contextlib

from .logs import get_logger
from .store.base import TokenStore

log = get_logger("zohoauth.manager")


class UsageRecorder:
    def __init__(self, store: TokenStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._used: dict[str, float] = {}  # connection id -> last use noted
        self._pending: dict[str, float] = {}  # noted, not yet written
        self._flusher: asyncio.Task[None] | None = None

    def note(self, connection_id: str, now: float) -> None:
        """Remember a use, unless one was noted within `interval`."""
        if now - self._used.get(connection_id, 0.0) < self.interval:
            return
        self._used[connection_id] = now
        self._pending[connection_id] = now
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(1.0)
        await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            await self.store.touch_connections(batch)
        except Exception as exc:  # bookkeeping only
            log.warning("could not record connection use", error=type(exc).__name__)

    async def aclose(self) -> None:
        task, self._flusher = self._flusher, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()


__all__ = ["UsageRecorder"]
