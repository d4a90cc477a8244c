"""Telling every process at once that a connection ended: PostgreSQL LISTEN/NOTIFY.

Each process keeps tokens in memory (`token_cache.py`). When a connection is logged out or
deleted, or its credential deleted, revoked, marked reauth-required or replaced by a re-login,
the transaction that does it also runs `pg_notify('zohoauth_changes', <notice>)` (`sql.py`);
each process listens on its own asyncpg connection (`ChangeFeed`) and forgets what the notice
names within milliseconds of the commit.

A notice that never arrives is a token served after a logout, so the feed is trusted only while
it is known to work:

- it counts as live only once its own test notice came back on its connection (LISTEN is in
  place and delivery works), and the whole cache is dropped at that moment (whatever changed
  while nobody listened is forgotten with it);
- a test notice goes out every `ping_interval` seconds (5) and must come back within
  `ping_timeout` (2); if not, or when the connection drops (a restart ends it at once), the
  feed stops being live and reconnects with back-off;
- while it is not live, the cache re-confirms an entry older than `recheck_interval` from the
  store before serving it (`TokenManager`), as it always does on SQLite and MySQL, which have
  no such feed.

The notices (pure): `k\\t<client_id>\\t<dc>\\t<zuid>` a credential, `c\\t<connection id>` one
connection, `*` everything (a bulk import), `p\\t<token>` a feed's own test notice. The SQL is in
`queries.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL

from ..credentials import CredentialKey
from ..logs import get_logger
from . import queries as q

log = get_logger("zohoauth.store.changes")

ALL = "*"
_SEP = "\t"


@dataclass(frozen=True, slots=True)
class Notice:
    """What ended: one credential (`key`), one connection (`connection_id`), or, with neither,
    everything."""

    key: CredentialKey | None = None
    connection_id: str | None = None


def key_notice(key: CredentialKey) -> str:
    return _SEP.join(("k", key.client_id, key.dc, key.zuid))


def connection_notice(connection_id: str) -> str:
    return _SEP.join(("c", connection_id))


def parse_notice(payload: str) -> Notice | None:
    """The notice a payload stands for; None for a test notice or anything unknown."""
    parts = payload.split(_SEP)
    if parts[0] == "k" and len(parts) == 4:
        return Notice(key=CredentialKey(parts[1], parts[2], parts[3]))
    if parts[0] == "c" and len(parts) == 2:
        return Notice(connection_id=parts[1])
    if payload == ALL:
        return Notice()
    return None


def asyncpg_dsn(url: URL) -> str:
    """The asyncpg DSN of a normalised `postgresql+asyncpg://` URL (password included; the
    `ssl` that `urls.normalize_url` made of `sslmode` for SQLAlchemy is a DSN's `sslmode`)."""
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:
        query["sslmode"] = query.pop("ssl")
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    return lambda _conn: event.set()


class ChangeFeed:
    """One process's LISTEN connection. `on_change` gets each notice, `on_reset` is called each
    time the feed becomes live (drop everything cached). Both run on the feed's event loop."""

    def __init__(
        self,
        dsn: str,
        on_change: Callable[[Notice], None],
        on_reset: Callable[[], None],
        *,
        ping_interval: float = 5.0,
        ping_timeout: float = 2.0,
        reconnect_max: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._on_change = on_change
        self._on_reset = on_reset
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_max = reconnect_max
        self._live = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._echo: tuple[str, asyncio.Event] | None = None
        self.resets = 0  # times the feed became live (and the cache was dropped)

    @property
    def live(self) -> bool:
        """Notices are arriving: its own last test notice came back, its loop still runs."""
        return self._live and self._loop is not None and self._loop.is_running()

    @property
    def running(self) -> bool:
        """Its task is alive on a running loop (live, or trying to become so)."""
        return (
            self._task is not None
            and not self._task.done()
            and self._loop is not None
            and self._loop.is_running()
        )

    def start(self) -> None:
        """Start listening on the running loop (in the background; `live` says when it works)."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="zohoauth-change-feed")

    async def aclose(self) -> None:
        self._live = False
        task, self._task = self._task, None
        if task is not None and not task.done():
            # Bounded: a cancellation lost inside a driver call must not hang the caller's
            # shutdown (Python 3.11's wait_for can swallow one; see `_run`).
            for _ in range(3):
                task.cancel()
                done, _pending = await asyncio.wait({task}, timeout=2.0)
                if done:
                    break
            else:
                log.warning("change feed did not stop; left behind")
            if task.done() and not task.cancelled():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    task.result()

    async def _run(self) -> None:
        import asyncpg  # PostgreSQL only; already the store's driver

        wait = 0.2
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(_setter(lost))
                await conn.add_listener(q.CHANGES_CHANNEL, self._notified)
                await self._ping(conn)  # LISTEN is in place and delivery works
                self._on_reset()
                self.resets += 1
                self._live = True
                wait = 0.2
                log.debug("change feed live")
                while True:
                    # asyncio.timeout, never wait_for, in this task: Python 3.11's wait_for
                    # swallows a cancellation that arrives as the awaited thing completes, and
                    # this loop would then outlive `aclose`.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.ping_interval):
                            await lost.wait()
                    if lost.is_set():
                        raise ConnectionError("the feed's connection was closed")
                    await self._ping(conn)
            except asyncio.CancelledError:
                self._live = False
                raise
            except Exception as exc:  # any failure: not live, reconnect after a pause
                if self._live:
                    log.warning(
                        "change feed lost; re-checking cached tokens", error=type(exc).__name__
                    )
                self._live = False
            finally:
                self._live = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(2):
                            await conn.close()
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.reconnect_max)

    async def _ping(self, conn: Any) -> None:
        """Send a test notice and wait for it to come back (TimeoutError if it does not)."""
        token = secrets.token_hex(8)
        arrived = asyncio.Event()
        self._echo = (token, arrived)
        started = time.monotonic()
        async with asyncio.timeout(self.ping_timeout):
            await conn.execute(q.PG_NOTIFY, q.CHANGES_CHANNEL, _SEP.join(("p", token)))
        async with asyncio.timeout(max(0.05, self.ping_timeout - (time.monotonic() - started))):
            await arrived.wait()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith("p" + _SEP):
            echo = self._echo
            if echo is not None and payload == "p" + _SEP + echo[0]:
                echo[1].set()
            return
        notice = parse_notice(payload)
        if notice is not None:
            self._on_change(notice)


__all__ = [
    "ALL",
    "ChangeFeed",
    "Notice",
    "asyncpg_dsn",
    "connection_notice",
    "key_notice",
    "parse_notice",
]
