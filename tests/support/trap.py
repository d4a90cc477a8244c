"""A loopback HTTP server that records every request: proof that nothing was sent to it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class TrapServer:
    """`with TrapServer() as trap: ...; assert trap.requests == []`."""

    def __init__(self, body: bytes | None = None) -> None:
        self.requests: list[str] = []
        #: What every request is answered with; may be set once `url` is known.
        self.body = body or b'{"access_token":"1000.trap.trap","api_domain":"http://127.0.0.1"}'
        requests = self.requests
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                requests.append(f"{self.command} {self.path}")
                body = trap.body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _record

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TrapServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
