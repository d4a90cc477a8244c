"""Shared fixtures: a real emulator over HTTP, and database URLs from the environment."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiomysql
import asyncpg
import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.crypto import KeyRing
from zohoauth.emulator import BackgroundEmulator
from zohoauth.store import schema as store_schema
from zohoauth.store.migrate import upgrade_async
from zohoauth.store.sql import SQLTokenStore
from zohoauth.store.urls import normalize_url

T = TypeVar("T")


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
# its own scratch database (`zohoauth_t_<hex>`), migrates it once, empties the tables before
# every test and drops it at the end. Database work runs on a private thread with its own event
# loop, so it never touches the loop pytest-asyncio gives the test.


def _in_thread(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


async def _server_sql(server_url: str, statement: str) -> None:
    """Run one statement on the server's own database (CREATE/DROP DATABASE)."""
    url = normalize_url(server_url)
    if url.get_backend_name() == "postgresql":
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=10,
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()
    else:
        mconn = await aiomysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            connect_timeout=10,
        )
        try:
            async with mconn.cursor() as cur:
                await cur.execute(statement)
        finally:
            mconn.close()


@contextlib.contextmanager
def _scratch_database(env_var: str) -> Iterator[str]:
    server_url = os.environ.get(env_var)
    if not server_url:
        pytest.skip(f"{env_var} is not set; point it at a server to run this test (.ci/run does)")
    name = f"zohoauth_t_{secrets.token_hex(6)}"
    is_pg = normalize_url(server_url).get_backend_name() == "postgresql"
    _in_thread(lambda: _server_sql(server_url, f"CREATE DATABASE {name}"))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        _in_thread(lambda: upgrade_async(url))
        yield url
    finally:
        drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if is_pg else "")
        _in_thread(lambda: _server_sql(server_url, drop))


@pytest.fixture(scope="session")
def pg_db_url() -> Iterator[str]:
    """A PostgreSQL database of this session's own, migrated to head, dropped at the end."""
    with _scratch_database("ZOHOAUTH_TEST_POSTGRES_URL") as url:
        yield url


@pytest.fixture(scope="session")
def mysql_db_url() -> Iterator[str]:
    """A MySQL/MariaDB database of this session's own, migrated to head, dropped at the end."""
    with _scratch_database("ZOHOAUTH_TEST_MYSQL_URL") as url:
        yield url


async def _empty_tables(url: str) -> None:
    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(store_schema.connections))
            await conn.execute(delete(store_schema.credentials))
    finally:
        await engine.dispose()


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
        _in_thread(lambda: upgrade_async(url))
        return url
    url = str(
        request.getfixturevalue("pg_db_url" if request.param == "postgres" else "mysql_db_url")
    )
    _in_thread(lambda: _empty_tables(url))
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
