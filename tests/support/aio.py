"""Run async code from a plain (synchronous) test or fixture."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def arun(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `coro_fn()` to completion on a thread of its own, with an event loop of its own.

    So it never touches a loop someone else runs: pytest-asyncio's in async tests, or the one
    the CLI starts with `asyncio.run` in the CLI tests.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()
