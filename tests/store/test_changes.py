"""The change notices' format (pure) and the asyncpg DSN the feed connects with."""

from __future__ import annotations

from zohoauth.credentials import CredentialKey
from zohoauth.store.changes import (
    ALL,
    Notice,
    asyncpg_dsn,
    connection_notice,
    key_notice,
    parse_notice,
)
from zohoauth.store.urls import normalize_url


def test_notices_round_trip() -> None:
    key = CredentialKey("1000.ABC", "eu", "700000001")
    assert parse_notice(key_notice(key)) == Notice(key=key)
    assert parse_notice(connection_notice("conn_x")) == Notice(connection_id="conn_x")
    assert parse_notice(ALL) == Notice()
    assert parse_notice("p\tabc") is None  # a feed's own test notice
    assert parse_notice("nonsense") is None


def test_the_feed_connects_where_the_store_does() -> None:
    url = normalize_url("postgresql://u:secret@db.example:5433/app?sslmode=require")
    assert asyncpg_dsn(url) == "postgresql://u:secret@db.example:5433/app?sslmode=require"
