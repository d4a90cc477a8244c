"""Test databases on real servers: scratch databases, raw SQL, and what a thief would read.

Several people run the suite at once against the same PostgreSQL and MySQL/MariaDB servers, so
each test session creates databases of its own (`zohoauth_t_<hex>`) and drops them at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import aiomysql
import asyncpg
import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.store import schema
from zohoauth.store.migrate import upgrade_async
from zohoauth.store.urls import normalize_url

from .aio import arun


async def pg_connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the PostgreSQL database `url` names."""
    parsed = normalize_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        timeout=10,
    )


async def server_sql(server_url: str, statement: str) -> None:
    """Run one statement on the server's own database (CREATE/DROP DATABASE)."""
    url = normalize_url(server_url)
    if url.get_backend_name() == "postgresql":
        conn = await pg_connect(server_url)
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
def scratch_database(env_var: str, *, migrate: bool = True) -> Iterator[str]:
    """A new database on the server `env_var` names (skipped if unset), migrated to head
    unless `migrate=False`, dropped afterwards; yields its URL."""
    server_url = os.environ.get(env_var)
    if not server_url:
        pytest.skip(f"{env_var} is not set; point it at a server to run this test (.ci/run does)")
    name = f"zohoauth_t_{secrets.token_hex(6)}"
    is_pg = normalize_url(server_url).get_backend_name() == "postgresql"
    arun(lambda: server_sql(server_url, f"CREATE DATABASE {name}"))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            arun(lambda: upgrade_async(url))
        yield url
    finally:
        drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if is_pg else "")
        arun(lambda: server_sql(server_url, drop))


async def empty_tables(url: str) -> None:
    """Delete every connection, credential and pending revocation, and the token service's rows
    (the schema stays)."""
    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.begin() as conn:
            for table in (
                schema.webhook_deliveries,
                schema.webhooks,
                schema.audit,
                schema.service_keys,
            ):
                await conn.execute(delete(table))
            await conn.execute(delete(schema.connections))
            await conn.execute(delete(schema.credentials))
            await conn.execute(delete(schema.pending_revocations))
    finally:
        await engine.dispose()


async def table_dump(url: str) -> str:
    """Every cell of zohoauth's tables, as text: what a database thief would see."""
    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:
            cells = []
            for table in (
                schema.credentials,
                schema.connections,
                schema.pending_revocations,
                schema.service_keys,
                schema.webhooks,
                schema.audit,
            ):
                for row in (await conn.execute(text(f"SELECT * FROM {table.name}"))).all():
                    cells.extend(str(v) for v in row)
            return "\n".join(cells)
    finally:
        await engine.dispose()
