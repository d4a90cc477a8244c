"""A private event loop on a daemon thread, for blocking facades over async code.

Blocking callers (scripts, other threads, even a thread whose own loop is running) submit
coroutines with `run()` and wait for the result; they all share the one loop and whatever
async resources live on it (a connection pool, an engine). `close()` stops the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """`run(coro)` from any thread; `close()` (idempotent) stops the loop."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self.closed = False

    @property
    def is_current(self) -> bool:
        """Whether the caller runs on this loop's own thread (where `run` would deadlock)."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.closed:
            coro.close()
            raise RuntimeError(f"{self._thread.name} is closed")
        if self.is_current:
            coro.close()
            raise RuntimeError(f"{self._thread.name} was called from its own loop (deadlock)")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


__all__ = ["LoopThread"]
