"""`zohoauth db upgrade` through the CLI on a fresh database of each engine; then it is usable."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from ..conftest import _in_thread, _server_sql
from .conftest import make_env

ENGINES = {"postgres": "ZOHOAUTH_TEST_POSTGRES_URL", "mysql": "ZOHOAUTH_TEST_MYSQL_URL"}


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no zohoauth tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    server = os.environ.get(ENGINES[request.param])
    if not server:
        pytest.skip(f"{ENGINES[request.param]} is not set (.ci/run sets it)")
    name = f"zohoauth_t_{secrets.token_hex(6)}"
    _in_thread(lambda: _server_sql(server, f"CREATE DATABASE {name}"))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if request.param == "postgres" else ""
        _in_thread(lambda: _server_sql(server, f"DROP DATABASE IF EXISTS {name}{force}"))


def test_upgrade_a_fresh_database_then_use_it(
    emulator: Any, keys: str, tmp_path: Path, fresh_url: str
) -> None:
    env = make_env(emulator.url, fresh_url, keys, tmp_path)
    before = env.cli("tokens", "list")
    assert before.exit_code == 1 and "zohoauth db upgrade" in before.stderr
    for _ in range(2):  # idempotent
        result = env.cli("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "is at the latest schema" in result.stdout
    assert env.cli("tokens", "list").exit_code == 0
    doctor = env.cli("doctor", "--no-network")
    assert doctor.exit_code == 0, doctor.output
