"""Helpers for the token service's tests: service keys made on a LiveApp's store, and calls
to /api/v1 with one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from zohoauth.crypto import KeyRing
from zohoauth.service import ServiceConfig, TokenService
from zohoauth.service.webhooks import SIGNATURE_HEADER
from zohoauth.store.sql import SQLTokenStore

from .aio import arun
from .web import LiveApp

T = TypeVar("T")


def with_service(live: LiveApp, body: Callable[[TokenService], Awaitable[T]]) -> T:
    """Run `body` with a TokenService of its own on the live app's database (as the CLI is)."""

    async def go() -> T:
        async with SQLTokenStore(live.store_url, KeyRing.from_config(live.keys)) as store:
            service = TokenService(store, live.auth.service_config or ServiceConfig(), auth=None)
            try:
                return await body(service)
            finally:
                await service.aclose()

    return arun(go)


def make_key(live: LiveApp, name: str, scope: str = "token", **kw: Any) -> str:
    made = with_service(live, lambda s: s.create_key(name, scope, **kw))
    return made.key


def api(live: LiveApp, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=live.url, headers=headers, timeout=30)


def raw_get(url: str, target: str, key: str) -> tuple[int, bytes]:
    """GET `target` exactly as written (no client normalises `..` away); (status, body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@contextmanager
def receiver(port: int) -> Iterator[list[tuple[str, bytes]]]:
    """A webhook receiver on 127.0.0.1:`port` answering 204; yields the (signature header,
    body) pairs it got."""
    got: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers[SIGNATURE_HEADER], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
