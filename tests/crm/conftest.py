"""Fixtures for the CRM client's tests (helpers in tests/support/crm.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.crm import Login, login


@pytest.fixture
def ava(admin: httpx.Client) -> Login:
    """ava@zylker.com (US, two orgs), logged in at the emulator with a Self Client grant."""
    return login(admin, "ava@zylker.com")
