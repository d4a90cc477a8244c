"""Database URLs: the spellings people paste, mapped to our async drivers; passwords masked."""

from __future__ import annotations

import pytest

from zohoauth.errors import ConfigError
from zohoauth.store.urls import mask_url, normalize_url, sqlite_path


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///data/zohoauth.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////abs/zohoauth.db", "sqlite+aiosqlite"),
        ("sqlite://", "sqlite+aiosqlite"),
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg"),
        ("postgres://u:p@db/app", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg"),
        ("mysql://u:p@db:3306/app", "mysql+aiomysql"),
        ("mariadb://u:p@db/app", "mysql+aiomysql"),
        ("mysql+aiomysql://u@db/app", "mysql+aiomysql"),
        ("MySQL://u@db/app", "mysql+aiomysql"),
    ],
)
def test_accepted_spellings_map_to_async_drivers(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_details_are_kept() -> None:
    url = normalize_url("postgres://user:p%40ss@db.example.com:6543/app?sslmode=require")
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "p@ss",
        "db.example.com",
        6543,
        "app",
    )
    assert url.query == {"ssl": "require"}
    assert normalize_url("mysql://u@h/app").query["charset"] == "utf8mb4"


@pytest.mark.parametrize(
    "given",
    [
        "oracle://u:hunter2@h/db",
        "mysql+pymysql://u:hunter2@h/db",
        "postgresql+psycopg2://u:hunter2@h/db",
        "just-a-path.db",
        "",
        "mongodb://u:hunter2@h/db",
    ],
)
def test_unsupported_urls_are_config_errors_without_the_password(given: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_url(given)
    assert "ZOHOAUTH_DATABASE_URL" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_server_url_without_database_is_refused() -> None:
    with pytest.raises(ConfigError, match="names no database") as info:
        normalize_url("postgresql://u:hunter2@h:5432")
    assert "hunter2" not in str(info.value)


def test_mask_url_hides_passwords() -> None:
    assert "hunter2" not in mask_url("postgresql://u:hunter2@h/db")
    assert "hunter2" not in mask_url(normalize_url("mysql://u:hunter2@h/db"))
    assert "hunter2" not in mask_url("weird://u:hunter2@h:notaport/db")


def test_sqlite_path() -> None:
    assert str(sqlite_path(normalize_url("sqlite:////tmp/a/b.db"))) == "/tmp/a/b.db"
    assert sqlite_path(normalize_url("sqlite://")) is None
    assert sqlite_path(normalize_url("postgresql://u@h/db")) is None
