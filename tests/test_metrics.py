"""Prometheus counters move with what happens: logins, cache hits, refreshes, CRM calls."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from zohoauth.errors import StateMismatchError

from .support.zoho import advance_clock, login, make_auth, register_client


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_counters_follow_the_flow(emulator: Any, tmp_path: Path, keys: str) -> None:
    offset = [0.0]
    client = register_client(emulator.url)
    before = {
        "login": _value("zohoauth_logins_total", outcome="ok"),
        "denied": _value("zohoauth_logins_total", outcome="state_mismatch"),
        "hit": _value("zohoauth_token_cache_total", result="hit"),
        "refresh": _value("zohoauth_refreshes_total", dc="eu", outcome="ok"),
        "crm": _value("zohoauth_crm_calls_total", method="GET", status="200"),
    }
    async with make_auth(
        emulator.url,
        f"sqlite:///{tmp_path / 'm.db'}",
        keys,
        client,
        clock=lambda: time.time() + offset[0],
    ) as auth:
        conn = await login(auth, "clara@brightwave.eu")
        for _ in range(3):
            await auth.access_token(conn.id)
        offset[0] = 3601
        advance_clock(emulator.url, 3601)
        await auth.crm(conn.id).org()
        with pytest.raises(StateMismatchError):
            await auth.complete_login(auth.start_login(), {"state": "forged", "code": "x"})
    assert _value("zohoauth_logins_total", outcome="ok") == before["login"] + 1
    assert _value("zohoauth_logins_total", outcome="state_mismatch") == before["denied"] + 1
    assert _value("zohoauth_token_cache_total", result="hit") >= before["hit"] + 2
    assert _value("zohoauth_refreshes_total", dc="eu", outcome="ok") == before["refresh"] + 1
    assert _value("zohoauth_crm_calls_total", method="GET", status="200") >= before["crm"] + 1
