"""`zohoauth db upgrade` through the CLI on a fresh database of each engine; then it is usable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..support.cli import make_env
from ..support.databases import scratch_database

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
    with scratch_database(ENGINES[request.param], migrate=False) as url:
        yield url


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
