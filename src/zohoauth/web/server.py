"""The web app's servers around the ASGI app: slow clients timed out, the optional metrics port.

**Slow clients.** A connection holds a file descriptor and a little memory for as long as the
client keeps it; a few thousand clients sending their request byte by byte (slowloris) exhaust
the server without any bandwidth. uvicorn bounds the idle time between requests
(`timeout_keep_alive`, `ZOHOAUTH_KEEP_ALIVE_TIMEOUT`, default 5 s) but nothing else: it waits
forever for a request's head (request line and headers) and, once the app reads the body, for
the body. So:

- `HeaderTimeoutProtocol` (uvicorn's httptools protocol) closes a connection whose request head
  has not fully arrived `ZOHOAUTH_HEADER_TIMEOUT` seconds (default 10) after the connection
  opened or the request's first byte came;
- `middleware.BodyTimeout` answers 408 when a body has not fully arrived `ZOHOAUTH_BODY_TIMEOUT`
  seconds (default 30) after the request began, and closes the connection.

The protocol class is chosen per server: an in-process server (the demo, tests) gets a subclass
with its own timeout (`header_timeout_protocol`); `serve`'s workers import the class by name and
each one's `app_factory` sets its timeout from the settings before serving (`configure`).

`/metrics` answers on the app's own port by default (the demo, and a Prometheus that scrapes
the app directly). In production the metrics usually belong on an internal address only:
`ZOHOAUTH_METRICS_PORT` (`serve --metrics-port`) moves them to a second small HTTP server in the
same process, on `ZOHOAUTH_METRICS_HOST` (default 127.0.0.1), and the app's own `/metrics`
answers 404. Alternatively `ZOHOAUTH_METRICS_TOKEN` keeps them on the app's port behind
`Authorization: Bearer <token>` (routes_ops.py).

**Garbage collector.** CPython's cyclic collector runs a generation-0 pass every 700 new
container objects and a full pass every 100 of those; a full pass walks every live object, and
a served app keeps tens of thousands of them (modules, classes, FastAPI's routes, SQLAlchemy's
caches) that will never be garbage. Under load those passes took 20–120 ms each and made the
web app's p99 7.9× that of the emulator it proxies (issue 11). So each `serve` worker, once
its app is built and its store open, calls `tune_gc`: one last collection, then `gc.freeze()`
moves everything alive into the permanent generation no pass looks at again, and the
generation-0 threshold goes up to `ZOHOAUTH_GC_THRESHOLD` (default 50,000; 0 keeps Python's
settings) so the short-lived objects of a request mostly die by reference counting before any
pass starts. Only `serve` does this: an in-process app (tests, the demo) leaves the host
process's collector alone.

The second server is prometheus_client's own (`start_http_server`: a threaded WSGI server on a
daemon thread), started and stopped with the app's lifespan. With `serve --workers N` each
worker has its own metrics and would need its own port, so `serve` refuses the two together.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any, ClassVar

from prometheus_client import start_http_server
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..logs import get_logger

log = get_logger("zohoauth.web")
#: How `serve` names the protocol class to uvicorn (importable in every worker process).
PROTOCOL_PATH = "zohoauth.web.server:HeaderTimeoutProtocol"


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head (request line and
    headers) takes longer than `header_timeout` seconds to arrive: counted from the connection
    opening and from the first byte of each further request on a kept-alive connection."""

    header_timeout: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for an in-process server whose request heads may take `seconds`."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


def configure(header_timeout: float) -> None:
    """Set this process's `HeaderTimeoutProtocol` timeout (a `serve` worker, from its settings)."""
    HeaderTimeoutProtocol.header_timeout = header_timeout


def tune_gc(threshold: int) -> None:
    """Freeze the start-up heap out of the collector's way and collect generation 0 after
    `threshold` new objects (generations 1 and 2 keep Python's ratios). 0 does nothing."""
    if threshold <= 0:
        return
    gc.collect()  # don't freeze garbage
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)
    log.info("garbage collector tuned", frozen_objects=gc.get_freeze_count(), gen0=threshold)


def start_metrics_server(host: str, port: int) -> Callable[[], None]:
    """Serve this process's metrics on `host:port`; returns the function that stops it.
    Raises OSError when the port can't be had (the app then does not start)."""
    server, thread = start_http_server(port, addr=host)
    log.info("metrics server started", host=host, port=port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
