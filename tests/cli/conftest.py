"""Fixtures for the CLI tests: a real emulator, a real database, and the CLI run as users run it.

The CLI calls `asyncio.run`, so the tests are plain functions and async setup runs on a private
thread (`arun`). `Env` holds the `ZOHOAUTH_*` variables of one installation; `cli(...)` runs a
command through Typer's runner with exactly those (nothing leaks in from the developer's shell).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import Result
from typer.testing import CliRunner

from zohoauth.cli import app
from zohoauth.config import Settings
from zohoauth.credentials import Connection
from zohoauth.crypto import KeyRing
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore

from ..support.zoho import login, make_auth, register_client

T = TypeVar("T")
ALL_VARS = [f"ZOHOAUTH_{name.upper()}" for name in Settings.model_fields]


def arun(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async setup or checks on a thread of their own (no loop is shared with the CLI)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


@dataclass
class Env:
    """One installation: its settings as environment variables, and the client behind them."""

    emulator_url: str
    client: OAuthClient
    vars: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.vars["ZOHOAUTH_DATABASE_URL"]

    @property
    def keys(self) -> str:
        return self.vars["ZOHOAUTH_ENCRYPTION_KEYS"]

    def cli(self, *args: str, input: str | None = None, **overrides: str | None) -> Result:
        """`zohoauth *args` with these settings (`overrides` replace or, with None, unset)."""
        env: dict[str, str | None] = {name: None for name in ALL_VARS}
        env["COLUMNS"] = "200"  # tables as a wide terminal shows them
        env.update(self.vars)
        env.update({f"ZOHOAUTH_{k.upper()}": v for k, v in overrides.items()})
        return CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    def store(self, keys: str | None = None) -> SQLTokenStore:
        return SQLTokenStore(self.url, KeyRing.from_config(keys or self.keys))

    def login(self, *emails: str) -> list[Connection]:
        """Log users in through the consent page, as the web app would."""

        async def go() -> list[Connection]:
            auth = make_auth(self.emulator_url, self.url, self.keys, self.client)
            async with auth:
                return [await login(auth, email) for email in emails]

        return arun(go)

    def connect_org(self, connection_id: str, org_id: str) -> Connection:
        async def go() -> Connection:
            async with make_auth(self.emulator_url, self.url, self.keys, self.client) as auth:
                return await auth.connect_org(connection_id, org_id)

        return arun(go)


def make_env(emulator_url: str, store_url: str, keys: str, tmp_path: Path) -> Env:
    """An installation wired to the emulator at `emulator_url` with a new client of its own."""
    client = register_client(emulator_url)
    return Env(
        emulator_url,
        client,
        {
            "ZOHOAUTH_CLIENT_ID": client.client_id,
            "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
            "ZOHOAUTH_REDIRECT_URI": client.redirect_uri,
            "ZOHOAUTH_DATABASE_URL": store_url,
            "ZOHOAUTH_ENCRYPTION_KEYS": keys,
            "ZOHOAUTH_SESSION_SECRET": "test-session-secret-0123456789",
            "ZOHOAUTH_ZOHO_ENDPOINTS": emulator_url + "/_emulator/endpoints",
            "ZOHOAUTH_DATA_DIR": str(tmp_path / "data"),
        },
    )


@pytest.fixture
def env(emulator: Any, store_url: str, keys: str, tmp_path: Path) -> Env:
    """An installation wired to the emulator and a migrated, empty store on each engine."""
    return make_env(emulator.url, store_url, keys, tmp_path)


def unreachable_db(url: str) -> str:
    """The same kind of database on a port where nothing listens (with a password to hide)."""
    if url.startswith("sqlite"):
        return "sqlite:////dev/null/no/zohoauth.db"
    scheme = url.split("://", 1)[0]
    return f"{scheme}://user:hunter2@127.0.0.1:9/nothing"
