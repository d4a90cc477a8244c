"""Run the emulator: in the foreground for the CLI, or in a background thread for tests/demo."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import uvicorn

from .app import create_app
from .config import EmulatorConfig


def serve(
    host: str,
    port: int,
    seed: dict[str, Any] | None = None,
    config: EmulatorConfig | Mapping[str, Any] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C); `config` as for `create_app`."""
    uvicorn.run(
        create_app(seed, config),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


class BackgroundEmulator:
    """An emulator on a free loopback port in a daemon thread; `with` stops it.

    >>> with BackgroundEmulator(config={"grant_limits": False}) as emu:
    ...     httpx.get(emu.url + "/_emulator/health")

    `config` is an EmulatorConfig or overrides of the default one; `POST /_emulator/reset`
    returns to it.
    `tls=(certificate file, key file)` serves https, as Zoho does (clients must trust the
    certificate's CA: zohoauth's `ZOHOAUTH_CA_BUNDLE`, httpx's `SSL_CERT_FILE`).
    """

    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        config: EmulatorConfig | Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.app = create_app(seed, config)
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        cfg = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"zoho-emulator-{self.port}",
        )

    @property
    def state(self) -> Any:
        return self.app.state.emulator

    def start(self) -> BackgroundEmulator:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> BackgroundEmulator:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
