"""Helpers for the web app's tests: the real app on a real port, and logins without a browser.

`LiveApp` serves `create_app(...)` with uvicorn in a thread on a free loopback port, wired to the
running emulator (its own client registered with the redirect URI of that port) and a SQLite
store; `LiveApp(..., tls=True)` serves https with a throwaway self-signed certificate, as a
deployment behind TLS would look to a browser (`__Host-` cookies, HSTS). `Browser` is an httpx
client that behaves like one browser: it keeps cookies, copies the CSRF cookie into
`X-CSRF-Token` on unsafe calls, and logs in through the emulator's consent page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from tests.support.tls import self_signed_certificate
from tests.support.zoho import consent, register_client
from zohoauth.auth import ZohoAuth
from zohoauth.config import Settings
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.service import ServiceConfig
from zohoauth.store.sql import SQLTokenStore
from zohoauth.web import create_app
from zohoauth.web.app import uvicorn_options

CSRF = "zohoauth_csrf"
HOST_CSRF = "__Host-zohoauth_csrf"
#: What the app asks for by default (the forms need the fields' metadata).
APP_SCOPES = tuple(str(Settings.model_fields["scopes"].default).split(","))


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


def zohoauth_command() -> list[str]:
    """The installed `zohoauth` console script, as a user runs it (else `python -m`)."""
    script = Path(sys.executable).with_name("zohoauth")
    return [str(script)] if script.exists() else [sys.executable, "-m", "zohoauth.cli"]


class LiveApp:
    """The web app on a free port, with a fresh client registered at the emulator."""

    def __init__(
        self,
        emulator_url: str,
        store_url: str,
        *,
        manager_config: ManagerConfig | None = None,
        max_body_bytes: int | None = None,
        data_centers: frozenset[str] | None = None,
        service_config: ServiceConfig | None = None,
        api_only: bool = False,
        keys: str | None = None,
        tls: bool = False,
        settings: Settings | None = None,
    ) -> None:
        self._sock = free_socket()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="zohoauth-live-")
        ssl_options: dict[str, Any] = {}
        #: What a client must trust to talk to this app (None: plain http).
        self.verify: ssl.SSLContext | None = None
        if tls:
            cert, key = map(Path, self_signed_certificate(Path(self._tmp.name)))
            ssl_options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
            self.verify = ssl.create_default_context(cafile=str(cert))
            self.certificate = cert
        self.emulator_url = emulator_url
        registered = register_client(emulator_url, f"{self.url}/redirect.html")
        self.client: OAuthClient = dataclasses.replace(
            registered, scopes=APP_SCOPES, data_centers=data_centers
        )
        self.keys = keys or KeyRing.generate_key()
        self.session_secret = secrets.token_urlsafe(32)
        store = SQLTokenStore(store_url, KeyRing.from_config(self.keys), auto_migrate=True)
        registry = DataCenterRegistry.load(f"{emulator_url}/_emulator/endpoints")
        self.store_url = store_url
        self.auth = ZohoAuth(
            client=self.client,
            store=store,
            registry=registry,
            manager_config=manager_config,
            service_config=service_config,
        )
        extra: dict[str, Any] = {}
        if max_body_bytes is not None:
            extra["max_body_bytes"] = max_body_bytes
        if api_only:
            extra["api_only"] = True
        self.settings = settings
        self.app = create_app(settings, auth=self.auth, session_secret=self.session_secret, **extra)
        config = uvicorn.Config(
            self.app, log_level="warning", **uvicorn_options(settings), **ssl_options
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"zohoauth-web-{self.port}"
        )

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> LiveApp:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the web app did not start within 15 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
        self._tmp.cleanup()

    def browser(self, **kw: Any) -> Browser:
        return Browser(self.url, verify=self.verify or True, **kw)

    def __enter__(self) -> LiveApp:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Browser(httpx.Client):
    """One browser's worth of cookies, with the page's CSRF header on unsafe calls."""

    def __init__(self, base_url: str, **kw: Any) -> None:
        super().__init__(base_url=base_url, timeout=15, follow_redirects=False, **kw)
        self.get("/")  # the page visit that hands out the CSRF cookie

    @property
    def csrf(self) -> str:
        return self.cookies.get(HOST_CSRF) or self.cookies.get(CSRF) or ""

    def request(self, method: str, url: Any, **kw: Any) -> httpx.Response:  # type: ignore[override]
        if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
            headers = dict(kw.pop("headers", None) or {})
            headers.setdefault("X-CSRF-Token", self.csrf)
            kw["headers"] = headers
        return super().request(method, url, **kw)

    def without_csrf(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """The same call as a forged cross-site request would make it: no CSRF header."""
        return super().request(method, url, **kw)

    def start_login(self, popup: bool = False, region: str | None = None) -> str:
        """GET /login → the Zoho consent URL (the pending-login cookie is now set); `region`
        "cn" starts at Zoho China's sign-in."""
        params = {"popup": "1"} if popup else {}
        if region:
            params["region"] = region
        resp = self.get("/login", params=params or None)
        assert resp.status_code == 302, resp.text
        return resp.headers["location"]

    def callback_params(
        self, email: str, decision: str = "accept", region: str | None = None
    ) -> dict[str, str]:
        """What redirect.html would post after `email` answered Zoho's consent page."""
        redirect = consent(self.start_login(region=region), email, decision)
        params = dict(redirect.params)
        if "accounts-server" in params:
            params["accounts_server"] = params.pop("accounts-server")
        return params

    def login(self, email: str, region: str | None = None) -> dict[str, Any]:
        """A full login; returns the callback's body (with `me`)."""
        resp = self.post("/api/auth/callback", json=self.callback_params(email, region=region))
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body
