"""Shared fixtures: a real emulator over HTTP, and database URLs from the environment."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from zohoauth.crypto import KeyRing
from zohoauth.emulator import BackgroundEmulator
from zohoauth.store.migrate import upgrade_async
from zohoauth.store.sql import SQLTokenStore

from .support.aio import arun
from .support.databases import empty_tables, scratch_database
from .support.logs import json_logs


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[BackgroundEmulator]:
    """One emulator for the session, on a free loopback port."""
    with BackgroundEmulator(config={"grant_limits": False}) as emu:  # tests log in a lot
        yield emu


@pytest.fixture
def emulator(emulator_server: BackgroundEmulator) -> BackgroundEmulator:
    """The session's emulator, reset to its seed before the test."""
    httpx.post(emulator_server.url + "/_emulator/reset").raise_for_status()
    return emulator_server


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the test logs through any logger, as zohoauth's JSON lines at DEBUG."""
    with json_logs() as buf:
        yield buf


@pytest.fixture
def admin(emulator: BackgroundEmulator) -> Iterator[httpx.Client]:
    """An HTTP client rooted at the emulator (admin API and every DC)."""
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        yield client


def _url_from_env(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} is not set; point it at a server to run this test (.ci/run does)")
    return url


@pytest.fixture
def postgres_url() -> str:
    return _url_from_env("ZOHOAUTH_TEST_POSTGRES_URL")


@pytest.fixture
def mysql_url() -> str:
    return _url_from_env("ZOHOAUTH_TEST_MYSQL_URL")


# -- databases for the token store ------------------------------------------------------------
# Several people run the suite at once against the same servers, so each test session creates
# its own scratch database, migrates it once, empties the tables before every test and drops it
# at the end (tests/support/databases.py). Database work runs on a private thread with its own
# event loop (`arun`), so it never touches the loop pytest-asyncio gives the test.


@pytest.fixture(scope="session")
def pg_db_url() -> Iterator[str]:
    """A PostgreSQL database of this session's own, migrated to head, dropped at the end."""
    with scratch_database("ZOHOAUTH_TEST_POSTGRES_URL") as url:
        yield url


@pytest.fixture(scope="session")
def mysql_db_url() -> Iterator[str]:
    """A MySQL/MariaDB database of this session's own, migrated to head, dropped at the end."""
    with scratch_database("ZOHOAUTH_TEST_MYSQL_URL") as url:
        yield url


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty token-store database on each engine (a fresh SQLite file per test)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'zohoauth.db'}"
        arun(lambda: upgrade_async(url))
        return url
    url = str(
        request.getfixturevalue("pg_db_url" if request.param == "postgres" else "mysql_db_url")
    )
    arun(lambda: empty_tables(url))
    return url


@pytest.fixture
def keys() -> str:
    """A fresh `ZOHOAUTH_ENCRYPTION_KEYS` value (one key)."""
    return KeyRing.generate_key()


@pytest.fixture
def keyring(keys: str) -> KeyRing:
    return KeyRing.from_config(keys)


@pytest.fixture
async def store(store_url: str, keyring: KeyRing) -> AsyncIterator[SQLTokenStore]:
    """An open SQLTokenStore on each engine."""
    async with SQLTokenStore(store_url, keyring) as opened:
        yield opened
