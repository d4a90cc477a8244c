"""Run async code from a plain (synchronous) test or fixture."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Longer than any one test's work; shorter than pytest-timeout's 300 s, which cannot interrupt
#: a main thread blocked joining a worker thread.
DEADLINE = 240.0


def arun(coro_fn: Callable[[], Coroutine[Any, Any, T]], *, deadline: float = DEADLINE) -> T:
    """Run `coro_fn()` to completion on a thread of its own, with an event loop of its own.

    So it never touches a loop someone else runs: pytest-asyncio's in async tests, or the one
    the CLI starts with `asyncio.run` in the CLI tests. A coroutine (or its shutdown) that
    never ends fails the test after `deadline` seconds instead of hanging the whole run; its
    thread (a daemon) is left behind and cannot hold up the interpreter's exit.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coro_fn())
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="arun", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        raise AssertionError(f"async test code did not finish within {deadline:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
