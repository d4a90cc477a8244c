"""`zohoauth worker`: the background refresher from the command line, on each engine."""

from __future__ import annotations

import time

import httpx

from ..support.aio import arun
from ..support.cli import Env, stored_tokens
from ..support.zoho import refresh_requests


def test_worker_once_refreshes_the_active_users_due_and_leaves_the_rest(
    env: Env, admin: httpx.Client
) -> None:
    admin.post("/_emulator/config", json={"access_token_ttl": 4}).raise_for_status()
    active, _idle = env.login("ava@zylker.com", "ben@zylker.com")

    async def touch() -> None:
        async with env.store() as store:
            await store.touch_connections({active.id: time.time()})

    arun(touch)
    before = stored_tokens(env)
    time.sleep(3)  # the 4 s tokens are now within the refresher's lead (half their lifetime)

    result = env.cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "1 refreshed, 1 re-planned, failed: none" in result.output
    after = stored_tokens(env)
    assert after["ava@zylker.com"][1] != before["ava@zylker.com"][1]  # active: refreshed
    assert after["ben@zylker.com"] == before["ben@zylker.com"]  # idle: its daily slot later
    assert refresh_requests(env.emulator_url) == 1

    again = env.cli("worker", "--once")  # nothing due: Zoho's 60 s floor holds the next one
    assert "0 refreshed, 0 re-planned" in again.output
    assert refresh_requests(env.emulator_url) == 1


def test_worker_refuses_a_bad_setting_naming_it(env: Env) -> None:
    result = env.cli("worker", "--once", refresher_lead="soon")
    assert result.exit_code != 0
    assert "ZOHOAUTH_REFRESHER_LEAD" in result.output
    assert "Traceback" not in result.output
