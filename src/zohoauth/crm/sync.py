"""SyncCRMClient: the CRM client for scripts and threads, without async.

It owns a private event loop running in a daemon thread and submits each call to it with
`asyncio.run_coroutine_threadsafe`. That works from a plain script, from any number of threads
at once (the calls interleave on the one loop, sharing one connection pool), and even from a
thread whose own event loop is running — where `asyncio.run()` would fail. Iterators move
records across in pages, not one thread hop per record.

    with SyncCRMClient(tokens, connection_id) as crm:
        for lead in crm.iter_records("Leads", ["Last_Name"]):
            print(lead["Last_Name"])

The token provider runs on the private loop too: give it one that is not tied to another
loop (a TokenManager's `ZohoHTTP` opens one aiohttp session per loop, this one included).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from .._loop_thread import LoopThread
from .client import CRMClient, Page, Record, TokenProvider
from .criteria import Criteria

T = TypeVar("T")
_BATCH = 200  # records moved per thread hop when iterating


async def _take(agen: AsyncIterator[Record], n: int) -> list[Record]:
    out: list[Record] = []
    for _ in range(n):
        try:
            out.append(await anext(agen))
        except StopAsyncIteration:
            break
    return out


class SyncCRMClient:
    """Blocking twin of `CRMClient`: same methods and arguments, plain return values.

    Keyword arguments are `CRMClient`'s (`http` excepted: this facade makes its own transport,
    whose aiohttp session lives on the private loop). `close()` (or `with`) stops the loop
    thread.
    """

    def __init__(self, tokens: TokenProvider, connection_id: str, **kwargs: Any) -> None:
        if "http" in kwargs:
            raise TypeError("SyncCRMClient makes its own HTTP client; do not pass http=")
        self._loop = LoopThread(f"zohoauth-crm-{connection_id}")
        self._lock = threading.Lock()

        async def make() -> CRMClient:  # built on the loop that will use it
            return CRMClient(tokens, connection_id, **kwargs)

        try:
            self._client = self._run(make())
        except BaseException:
            self._loop.close()
            raise

    def __repr__(self) -> str:
        return f"SyncCRMClient(connection_id={self._client.connection_id!r})"

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_current:  # e.g. from a token provider running on this loop
            coro.close()
            raise RuntimeError(
                "SyncCRMClient was called from its own event loop (would deadlock); "
                "in async code use CRMClient"
            )
        try:
            return self._loop.run(coro)
        except RuntimeError as exc:
            if self._loop.closed:
                raise RuntimeError("this SyncCRMClient is closed") from exc
            raise

    def close(self) -> None:
        """Close the HTTP client and stop the loop thread. Safe to call twice."""
        with self._lock:
            if self._loop.closed:
                return
            try:
                self._run(self._client.aclose())
            finally:
                self._loop.close()

    def __enter__(self) -> SyncCRMClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _iterate(self, agen: AsyncIterator[Record]) -> Iterator[Record]:
        try:
            while batch := self._run(_take(agen, _BATCH)):
                yield from batch
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self._loop.closed:
                self._run(aclose())

    # -- the API, method for method ----------------------------------------------------------
    def modules(self) -> list[Record]:
        return self._run(self._client.modules())

    def fields(self, module: str) -> list[Record]:
        return self._run(self._client.fields(module))

    def current_user(self) -> Record:
        return self._run(self._client.current_user())

    def org(self) -> Record:
        return self._run(self._client.org())

    def list_records(self, module: str, fields: Sequence[str], **kwargs: Any) -> Page:
        return self._run(self._client.list_records(module, fields, **kwargs))

    def iter_records(self, module: str, fields: Sequence[str], **kwargs: Any) -> Iterator[Record]:
        return self._iterate(self._client.iter_records(module, fields, **kwargs))

    def get_record(
        self, module: str, record_id: str, fields: Sequence[str] | None = None
    ) -> Record:
        return self._run(self._client.get_record(module, record_id, fields))

    def create(self, module: str, records: Sequence[Record], **kwargs: Any) -> list[Record]:
        return self._run(self._client.create(module, records, **kwargs))

    def update(self, module: str, records: Sequence[Record], **kwargs: Any) -> list[Record]:
        return self._run(self._client.update(module, records, **kwargs))

    def upsert(
        self,
        module: str,
        records: Sequence[Record],
        duplicate_check_fields: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[Record]:
        return self._run(self._client.upsert(module, records, duplicate_check_fields, **kwargs))

    def delete(self, module: str, ids: Sequence[str]) -> list[Record]:
        return self._run(self._client.delete(module, ids))

    def search(self, module: str, **kwargs: Any) -> Iterator[Record]:
        """Like `CRMClient.search`; the argument check (exactly one of...) happens on call."""
        return self._iterate(self._client.search(module, **kwargs))

    def search_page(self, module: str, **kwargs: Any) -> Page:
        return self._run(self._client.search_page(module, **kwargs))

    def count(
        self,
        module: str,
        *,
        criteria: str | Criteria | None = None,
        word: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> int:
        return self._run(
            self._client.count(module, criteria=criteria, word=word, email=email, phone=phone)
        )


__all__ = ["SyncCRMClient"]
