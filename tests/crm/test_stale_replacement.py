"""A worker behind the store, when every token dies at once (the chaos run's THROTTLED_REAUTH).

Two processes serve one user: B refreshed after a 401 (its token is the stored one), A still
serves its own older token, which Zoho also accepts. Then every access token dies at Zoho at
once (its clock moves an hour; for real Zoho, sessions revoked). A's request is rejected; asked
for a fresh token, A's manager rightly hands over the stored one ("someone already replaced
it") without asking Zoho — but that one is dead too. The transport used to give up there: 401
reauth_required for a live grant, no refresh tried. Now it asks once more, which refreshes: the
call works, or, under Zoho's refresh throttle, answers ThrottledError (503 throttled).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.zoho import advance_clock, login, make_auth, refresh_requests, register_client
from zohoauth.errors import ThrottledError
from zohoauth.manager import ManagerConfig

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("throttled", [False, True])
async def test_a_worker_behind_the_store_refreshes_before_asking_for_a_new_login(
    emulator: Any, store_url: str, keys: str, throttled: bool
) -> None:
    client = register_client(emulator.url)
    cfg = ManagerConfig(poll_interval=0.02, retry_base=0.01)
    # A stays behind the store: no change feed (PostgreSQL's would tell it of B's refresh) and
    # no re-check, as in the window before either notices (tests/test_invalidation.py).
    behind = ManagerConfig(
        poll_interval=0.02, retry_base=0.01, use_change_feed=False, recheck_interval=float("inf")
    )
    async with (
        make_auth(emulator.url, store_url, keys, client, config=behind) as a,
        make_auth(emulator.url, store_url, keys, client, config=cfg) as b,
    ):
        conn = await login(a, "ava@zylker.com")
        mine = await a.access_token(conn.id)
        theirs = await b.access_token(conn.id, stale=(await b.access_token(conn.id)).token)
        assert theirs.token != mine.token
        assert (await a.access_token(conn.id)).token == mine.token  # A is behind the store
        if throttled:
            httpx.post(emulator.url + "/_emulator/config", json={"max_refreshes_per_window": 0})
        advance_clock(emulator.url, 3700)  # every access token dies at Zoho at once
        before = refresh_requests(emulator.url)
        async with a.crm(conn.id) as crm:
            if throttled:
                with pytest.raises(ThrottledError):
                    await crm.org()
            else:
                assert (await crm.org())["zgid"] == conn.org_id
        assert refresh_requests(emulator.url) - before == 1  # one refresh, tried before giving up
