"""Schema lifecycle: Alembic head matches schema.py, unmigrated databases are refused clearly."""

from __future__ import annotations

import os
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from zohoauth.crypto import KeyRing
from zohoauth.errors import StoreError
from zohoauth.store import migrate
from zohoauth.store.schema import HEAD_REVISION, VERSION_TABLE, metadata
from zohoauth.store.sql import SQLTokenStore

from ..support.store import key, login


def _diff(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn,
        opts={
            "version_table": VERSION_TABLE,
            "include_name": lambda name, kind, _parent: (
                kind != "table" or ((name or "").startswith("zohoauth_") and name != VERSION_TABLE)
            ),
        },
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_schema_py(store: SQLTokenStore) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        assert await migrate.current_revision_on(conn) == HEAD_REVISION


async def test_upgrade_is_idempotent(store_url: str) -> None:
    await migrate.upgrade_async(store_url)
    assert await migrate.current_revision(store_url) == HEAD_REVISION


async def test_unmigrated_database_is_refused_then_auto_migrated(
    store_url: str, keyring: KeyRing
) -> None:
    await migrate.downgrade_async(store_url, "base")
    assert await migrate.current_revision(store_url) is None
    with pytest.raises(StoreError, match="run `zohoauth db upgrade`"):
        await SQLTokenStore(store_url, keyring).open()

    async with SQLTokenStore(store_url, keyring, auto_migrate=True) as store:
        [conn] = await login(store, key())
        assert await store.get_connection(conn.id) == conn


async def test_schema_from_a_newer_zohoauth_is_refused(tmp_path: Any, keyring: KeyRing) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    await migrate.upgrade_async(url)
    store = SQLTokenStore(url, keyring)
    await store.open()
    async with store.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'fffffff'"))
    await store.close()
    with pytest.raises(StoreError, match="upgrade zohoauth"):
        await SQLTokenStore(url, keyring).open()


def test_schema_problem_is_pure_and_says_what_to_do() -> None:
    head = HEAD_REVISION
    assert migrate.schema_problem(head) is None
    assert "zohoauth db upgrade" in (migrate.schema_problem(None) or "")
    assert "newer" in (migrate.schema_problem("deadbeef") or "")


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "postgresql://u@h/db", "mysql://u@h/db"], ids=str
)
def test_upgrade_sql_renders_ddl_for_each_dialect(url: str) -> None:
    ddl = migrate.upgrade_sql(url)
    assert "CREATE TABLE zohoauth_credentials" in ddl
    assert "CREATE TABLE zohoauth_connections" in ddl
    assert VERSION_TABLE in ddl


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://zoho:S3cretPassw0rd@127.0.0.1:1/zohoauth",
        "mysql://zoho:S3cretPassw0rd@127.0.0.1:1/zohoauth",
    ],
    ids=["postgres", "mysql"],
)
async def test_unreachable_server_is_a_clear_store_error(url: str, keyring: KeyRing) -> None:
    with pytest.raises(StoreError) as info:
        await SQLTokenStore(url, keyring).open()
    message = str(info.value)
    assert "S3cretPassw0rd" not in message
    assert "127.0.0.1:1" in message
    assert "ZOHOAUTH_DATABASE_URL" in message
    with pytest.raises(StoreError) as info:
        await migrate.upgrade_async(url)
    assert "S3cretPassw0rd" not in str(info.value)


async def test_wrong_password_does_not_echo_it(postgres_url: str, keyring: KeyRing) -> None:
    from sqlalchemy.engine import make_url

    bad = make_url(postgres_url).set(username="zohoauth_nobody", password="S3cretPassw0rd")
    with pytest.raises(StoreError) as info:
        await SQLTokenStore(bad.render_as_string(hide_password=False), keyring).open()
    assert "S3cretPassw0rd" not in str(info.value)
    assert "cannot connect" in str(info.value)


async def test_unwritable_sqlite_path_is_a_store_error(keyring: KeyRing) -> None:
    if os.geteuid() == 0:
        target = "sqlite:////proc/zohoauth/nope.db"  # even root can't create dirs in /proc
    else:
        target = "sqlite:////zohoauth-not-allowed/nope.db"
    with pytest.raises(StoreError, match="SQLite database"):
        await SQLTokenStore(target, keyring).open()


async def test_using_a_closed_store_says_open_it(keyring: KeyRing, tmp_path: Any) -> None:
    store = SQLTokenStore(f"sqlite:///{tmp_path / 'x.db'}", keyring)
    with pytest.raises(StoreError, match=r"store\.open"):
        await store.get_credential(key())


async def test_in_memory_sqlite_is_migrated_on_the_stores_own_engine(keyring: KeyRing) -> None:
    async with SQLTokenStore("sqlite://", keyring, auto_migrate=True) as store:
        [conn] = await login(store, key())
        assert await store.get_connection(conn.id) == conn


async def test_auto_migrate_creates_the_sqlite_directory(tmp_path: Any, keyring: KeyRing) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'dir' / 'zohoauth.db'}"
    async with SQLTokenStore(url, keyring, auto_migrate=True) as store:
        await login(store, key())
    assert (tmp_path / "data" / "dir" / "zohoauth.db").exists()


def test_head_constant_matches_the_packaged_scripts() -> None:
    """Opening a store compares against HEAD_REVISION without importing Alembic; it must be
    the head of the shipped migration scripts."""
    assert migrate.script_head() == HEAD_REVISION
    assert HEAD_REVISION in migrate.known_revisions()
