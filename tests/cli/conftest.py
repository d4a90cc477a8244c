"""Fixtures for the CLI tests: a real emulator, a real database, and the CLI run as users run it
(helpers in tests/support/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..support.cli import Env, make_env


@pytest.fixture
def env(emulator: Any, store_url: str, keys: str, tmp_path: Path) -> Env:
    """An installation wired to the emulator and a migrated, empty store on each engine."""
    return make_env(emulator.url, store_url, keys, tmp_path)
