"""Fixtures for the web app: the real app on a real port, wired to the real emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zohoauth.emulator import BackgroundEmulator

from ..support.web import Browser, LiveApp


@pytest.fixture
def live(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[LiveApp]:
    """The web app on a SQLite store of this test's own, its client registered at the
    (freshly reset) emulator."""
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}") as app:
        yield app


@pytest.fixture
def live_tls(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[LiveApp]:
    """The web app over https (a throwaway self-signed certificate), as deployed behind TLS."""
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", tls=True) as app:
        yield app


@pytest.fixture
def browser(live: LiveApp) -> Iterator[Callable[[], Browser]]:
    """A factory of independent "browsers" (cookie jars) against the live app."""
    made: list[Browser] = []

    def make() -> Browser:
        made.append(live.browser())
        return made[-1]

    yield make
    for b in made:
        b.close()
