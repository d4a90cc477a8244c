"""`zohoauth serve --refresher` (ZOHOAUTH_REFRESHER): the web app keeps tokens fresh itself,
with no request asking, and hands its claims back when it stops."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import select

from zohoauth.config import Settings
from zohoauth.emulator import BackgroundEmulator
from zohoauth.manager import ManagerConfig
from zohoauth.store.schema import credentials

from ..support.aio import arun
from ..support.web import LiveApp
from ..support.zoho import login, make_auth, refresh_requests


def test_the_app_with_the_refresher_renews_an_active_users_token_unasked(
    emulator: BackgroundEmulator, admin: httpx.Client, tmp_path: Path
) -> None:
    admin.post("/_emulator/config", json={"access_token_ttl": 6}).raise_for_status()
    url = f"sqlite:///{tmp_path / 'zohoauth.db'}"
    live = LiveApp(
        emulator.url,
        url,
        manager_config=ManagerConfig(skew=1),  # requests alone would not refresh yet
        settings=Settings.model_construct(refresher=True),
    )
    auth = make_auth(emulator.url, url, live.keys, live.client)

    async def log_in() -> tuple[str, str | None]:
        async with auth:
            conn = await login(auth, "ava@zylker.com")
            await auth.store.touch_connections({conn.id: time.time()})  # an active user
            cred = await auth.store.get_credential(conn.credential)
            assert cred is not None
            return conn.id, cred.tokens.access_token

    _, first = arun(log_in)
    with live:
        deadline = time.monotonic() + 20
        while refresh_requests(emulator.url) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert refresh_requests(emulator.url) == 1  # no request was made: the refresher did it

    async def stored() -> tuple[str | None, list[str | None]]:
        check = make_auth(emulator.url, url, live.keys, live.client)
        async with check:
            creds = [c async for c in check.store.iter_credentials()]
            async with check.store.engine.connect() as db:  # type: ignore[attr-defined]
                owners = (await db.execute(select(credentials.c.lease_owner))).scalars().all()
        return creds[0].tokens.access_token, list(owners)

    token, owners = arun(stored)
    assert token != first
    assert owners == [None]  # stopping the app handed everything back
