"""The web app's servers around the ASGI app: the optional metrics port.

`/metrics` answers on the app's own port by default (the demo, and a Prometheus that scrapes
the app directly). In production the metrics usually belong on an internal address only:
`ZOHOAUTH_METRICS_PORT` (`serve --metrics-port`) moves them to a second small HTTP server in the
same process, on `ZOHOAUTH_METRICS_HOST` (default 127.0.0.1), and the app's own `/metrics`
answers 404. Alternatively `ZOHOAUTH_METRICS_TOKEN` keeps them on the app's port behind
`Authorization: Bearer <token>` (routes_ops.py).

The second server is prometheus_client's own (`start_http_server`: a threaded WSGI server on a
daemon thread), started and stopped with the app's lifespan. With `serve --workers N` each
worker has its own metrics and would need its own port, so `serve` refuses the two together.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import start_http_server

from ..logs import get_logger

log = get_logger("zohoauth.web")


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
