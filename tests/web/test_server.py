"""Slow clients are timed out (web/server.py, middleware.BodyTimeout): raw sockets against the
live app, as a slowloris client would send."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from zohoauth import ConfigError, Settings
from zohoauth.emulator import BackgroundEmulator
from zohoauth.web.app import uvicorn_options
from zohoauth.web.server import HeaderTimeoutProtocol, tune_gc

from ..support.web import LiveApp

#: How long the test's own socket waits: far longer than the app's timeouts below, so a
#: `socket.timeout` means the app never cut the client off.
PATIENCE = 15.0


@pytest.fixture
def impatient(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[LiveApp]:
    settings = Settings.load(header_timeout="0.5", body_timeout="0.5")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        yield app


def _connect(app: LiveApp) -> socket.socket:
    return socket.create_connection(("127.0.0.1", app.port), timeout=PATIENCE)


def _read_until_closed(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def _read_response(conn: socket.socket) -> tuple[bytes, bytes]:
    """(head, body) of one response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def test_a_connection_that_sends_nothing_is_closed(impatient: LiveApp) -> None:
    with _connect(impatient) as idle:
        assert _read_until_closed(idle) == b""


def test_a_request_head_trickled_too_slowly_is_cut_off(impatient: LiveApp) -> None:
    with _connect(impatient) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert _read_until_closed(slow) == b""  # closed without an answer


def test_the_next_request_on_a_kept_alive_connection_has_the_same_bound(
    impatient: LiveApp,
) -> None:
    with _connect(impatient) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, body = _read_response(conn)
        assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sl")
        assert _read_until_closed(conn) == b""


def test_a_body_trickled_too_slowly_gets_408_and_the_connection_closes(
    impatient: LiveApp,
) -> None:
    b = impatient.browser()  # the page's cookies and CSRF token: the body is what is slow
    cookies = "; ".join(f"{name}={value}" for name, value in b.cookies.items())
    with _connect(impatient) as conn:
        conn.sendall(
            b"POST /api/auth/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200\r\n"
            + f"Cookie: {cookies}\r\nX-CSRF-Token: {b.csrf}\r\n\r\n".encode()
            + b'{"code": "'
        )
        answer = _read_until_closed(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"] == "timeout"
    assert b.get("/healthz").status_code == 200  # the app serves others meanwhile


def test_a_normal_request_with_a_body_is_unaffected(impatient: LiveApp) -> None:
    b = impatient.browser()
    resp = b.post("/api/auth/callback", json={"state": "x"})
    assert resp.status_code == 400  # state_mismatch: the body arrived and was read
    assert resp.json()["error"] == "state_mismatch"


def test_the_timeouts_reach_uvicorn() -> None:
    defaults = uvicorn_options()
    assert defaults["timeout_keep_alive"] == 5
    assert issubclass(defaults["http"], HeaderTimeoutProtocol)
    assert defaults["http"].header_timeout == 10.0
    chosen = uvicorn_options(Settings.load(keep_alive_timeout="2", header_timeout="4"))
    assert chosen["timeout_keep_alive"] == 2
    assert chosen["http"].header_timeout == 4.0
    assert HeaderTimeoutProtocol.header_timeout == 10.0  # another app's choice stays its own
    for_serve = uvicorn_options(factory=True)  # worker processes import it by name
    assert for_serve["http"] == "zohoauth.web.server:HeaderTimeoutProtocol"
    defaults_s = Settings.model_construct()
    assert (defaults_s.header_timeout, defaults_s.body_timeout) == (10.0, 30.0)
    with pytest.raises(ConfigError, match="ZOHOAUTH_BODY_TIMEOUT"):
        Settings.load(body_timeout="0")


def test_gc_threshold_setting() -> None:
    assert Settings.load().gc_threshold == 50_000
    assert Settings.load(gc_threshold="0").gc_threshold == 0
    with pytest.raises(ConfigError, match=r"(?i)gc_threshold"):
        Settings.load(gc_threshold="-1")


def test_tune_gc_zero_leaves_the_collector_alone() -> None:
    import gc

    before = (gc.get_threshold(), gc.get_freeze_count())
    tune_gc(0)  # an app inside another program (tests, the demo) never tunes; 0 is that
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
