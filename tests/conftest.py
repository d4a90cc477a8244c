"""Shared fixtures: a real emulator over HTTP, and database URLs from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[BackgroundEmulator]:
    """One emulator for the session, on a free loopback port."""
    with BackgroundEmulator() as emu:
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
