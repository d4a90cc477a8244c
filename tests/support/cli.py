"""The CLI as users run it: one installation's `ZOHOAUTH_*` variables, and what it stored.

The CLI calls `asyncio.run`, so its tests are plain functions and reach the store through
`arun` (a thread with a loop of its own). `Env.cli(...)` runs a command through Typer's runner
with exactly the installation's variables: nothing leaks in from the developer's shell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from zohoauth.cli import app
from zohoauth.config import Settings
from zohoauth.credentials import Connection
from zohoauth.crypto import KeyRing
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore

from .aio import arun
from .zoho import login, make_auth, register_client

ALL_VARS = [f"ZOHOAUTH_{name.upper()}" for name in Settings.model_fields]


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


def unreachable_db(url: str) -> str:
    """The same kind of database on a port where nothing listens (with a password to hide)."""
    if url.startswith("sqlite"):
        return "sqlite:////dev/null/no/zohoauth.db"
    scheme = url.split("://", 1)[0]
    return f"{scheme}://user:hunter2@127.0.0.1:9/nothing"


def listed(env: Env, *args: str) -> list[dict[str, Any]]:
    """`zohoauth tokens list --json [args]`, parsed."""
    result = env.cli("tokens", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def stored_tokens(env: Env, keys: str | None = None) -> dict[str, tuple[str, str | None]]:
    """email -> (refresh token, access token), decrypting every row with `keys` (default: the
    installation's); DecryptionError if any row will not open."""

    async def read() -> dict[str, tuple[str, str | None]]:
        async with env.store(keys) as store:
            return {
                c.email: (c.tokens.refresh_token, c.tokens.access_token)
                async for c in store.iter_credentials()
            }

    return arun(read)


def secrets_of(env: Env) -> list[str]:
    """Everything no output may show: every stored token, the client secret and the keys."""
    tokens = [t for pair in stored_tokens(env).values() for t in pair if t]
    return [*tokens, env.client.client_secret, env.keys]
