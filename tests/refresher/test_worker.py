"""The background refresher against the emulator over real HTTP, on SQLite, PostgreSQL and
MariaDB: tokens near expiry refreshed exactly once while two workers and the request path race,
a revoked grant turned reauth_required (with its event) before any user asks, stopping hands
claimed rows back, and "Access Denied" makes the worker back off instead of hammering Zoho."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import Connection, Status
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.emulator import BackgroundEmulator
from zohoauth.errors import ReauthRequiredError
from zohoauth.events import Event, EventType
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.refresher import Refresher, RefresherConfig
from zohoauth.store.schema import credentials
from zohoauth.store.sql import SQLTokenStore

from ..support.zoho import login, refresh_requests, register_client

#: Users of the built-in seed on the Multi-DC sign-in (China's has its own).
EMAILS = (
    "ava@zylker.com",
    "ben@zylker.com",
    "clara@brightwave.eu",
    "dev@sunrise.in",
    "ella@koalafreight.au",
    "haru@sakura.jp",
)


@dataclass
class Clock:
    """Real time plus an offset every part of one test shares (store, manager, refresher)."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def make_auth(
    emulator_url: str, store_url: str, keys: str, client: OAuthClient, clock: Clock
) -> ZohoAuth:
    """A ZohoAuth whose store and manager run on `clock` (leases compare like with like)."""
    store = SQLTokenStore(store_url, KeyRing.from_config(keys), clock=clock)
    registry = DataCenterRegistry.load(f"{emulator_url}/_emulator/endpoints")
    return ZohoAuth(
        client=client,
        store=store,
        registry=registry,
        clock=clock,
        manager_config=ManagerConfig(poll_interval=0.02),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(emulator: BackgroundEmulator) -> OAuthClient:
    return register_client(emulator.url)


@pytest.fixture
async def hosts(
    emulator: BackgroundEmulator, store_url: str, keys: str, client: OAuthClient, clock: Clock
) -> AsyncIterator[list[ZohoAuth]]:
    """Three ZohoAuth "hosts" on one database: an app (index 0) and two workers."""
    auths = [make_auth(emulator.url, store_url, keys, client, clock) for _ in range(3)]
    for a in auths:
        await a.open()
    try:
        yield auths
    finally:
        for a in auths:
            await a.aclose()


async def logged_in(app: ZohoAuth, emails: tuple[str, ...] = EMAILS) -> list[Connection]:
    return [await login(app, email) for email in emails]


async def stored(app: ZohoAuth, conns: list[Connection]) -> list[tuple[str, float, str, float]]:
    """(status, expires_at, access token, next_refresh_at) per connection's credential."""
    out = []
    assert isinstance(app.store, SQLTokenStore)
    async with app.store.engine.connect() as db:
        for c in conns:
            cred = await app.store.get_credential(c.credential)
            assert cred is not None and cred.tokens.access_token is not None
            planned = await db.scalar(
                select(credentials.c.next_refresh_at).where(
                    credentials.c.zuid == c.credential.zuid,
                    credentials.c.client_id == c.credential.client_id,
                )
            )
            out.append(
                (cred.status.value, cred.tokens.expires_at, cred.tokens.access_token, planned)
            )
    return out


async def leases_held(app: ZohoAuth) -> int:
    assert isinstance(app.store, SQLTokenStore)
    async with app.store.engine.connect() as db:
        rows = (await db.execute(select(credentials.c.lease_owner))).all()
    return sum(1 for (owner,) in rows if owner is not None)


def worker(auth: ZohoAuth, **cfg: float) -> Refresher:
    return auth.refresher(config=RefresherConfig(**cfg))  # type: ignore[arg-type]


async def test_tokens_near_expiry_are_refreshed_exactly_once_while_two_workers_and_the_app_race(
    emulator: BackgroundEmulator, hosts: list[ZohoAuth], clock: Clock
) -> None:
    app, w1_auth, w2_auth = hosts
    conns = await logged_in(app)
    await app.store.touch_connections({c.id: clock() for c in conns})  # all active
    before = await stored(app, conns)
    w1, w2 = worker(w1_auth, batch_size=2), worker(w2_auth, batch_size=2)
    # One worker pass while nothing is due yet: it plans, and refreshes nothing.
    assert (await w1.run_once()).refreshed == 0
    assert refresh_requests(emulator.url) == 0

    # 250 s before expiry: inside the workers' 600 s lead AND the app's 300 s skew, so the
    # app's requests race both workers for every credential.
    clock.offset = before[0][1] - time.time() - 250
    seen = await asyncio.gather(
        *(w.run_once() for w in (w1, w2, w1, w2, w1, w2)),
        *(app.access_token(c.id) for c in conns for _ in range(3)),
    )
    for _ in range(4):  # drain whatever the race left claimable
        await asyncio.gather(w1.run_once(), w2.run_once())

    assert refresh_requests(emulator.url) == len(conns)  # exactly one per credential
    after = await stored(app, conns)
    for (_, old_exp, old_tok, _), (status, exp, tok, planned) in zip(before, after, strict=True):
        assert status == "active" and tok != old_tok and exp > old_exp + 200
        assert planned > clock()  # re-planned for the new token's expiry, not "now"
    tokens = [t for t in seen if not hasattr(t, "claimed")]
    assert all(t.token in {s[2] for s in after} for t in tokens)  # type: ignore[union-attr]
    assert w1.stats.refreshed + w2.stats.refreshed + app.manager.refresh_count == len(conns)
    assert await leases_held(app) == 0


async def test_a_revoked_idle_grant_becomes_reauth_required_with_its_event_before_anyone_asks(
    emulator: BackgroundEmulator, hosts: list[ZohoAuth], clock: Clock, admin: httpx.Client
) -> None:
    app, w_auth, _ = hosts
    conns = await logged_in(app, EMAILS[:3])
    w = worker(w_auth)
    events: list[Event] = []

    async def note(event: Event) -> None:
        events.append(event)

    w_auth.events.subscribe(EventType.REAUTH_REQUIRED, note)
    assert (await w.run_once()).replanned == len(conns)  # idle: each gets its daily slot
    admin.post("/_emulator/revoke-user", json={"email": EMAILS[1]}).raise_for_status()

    clock.offset = 86400 + 60  # a day later: every idle grant's daily check is due
    result = await w.run_once()
    assert result.refreshed == 2 and result.failed == {"reauth_required": 1}
    status = [s[0] for s in await stored(app, conns)]
    assert status == ["active", "reauth_required", "active"]
    assert [e.email for e in events] == [EMAILS[1]]
    assert refresh_requests(emulator.url) == 3
    # The broken grant is never tried again; the others wait for their next slot.
    assert (await w.run_once()).claimed == 0
    assert refresh_requests(emulator.url) == 3
    # The app, asked later, answers "log in again" at once, without asking Zoho.
    with pytest.raises(ReauthRequiredError, match="log in again"):
        await app.access_token(conns[1].id)


async def test_stopping_hands_claimed_rows_back_at_once(
    emulator: BackgroundEmulator, hosts: list[ZohoAuth], clock: Clock, admin: httpx.Client
) -> None:
    app, w_auth, w2_auth = hosts
    conns = await logged_in(app, EMAILS[:4])
    await app.store.touch_connections({c.id: clock() for c in conns})
    clock.offset = 3600 - 400  # all due for the workers
    # Zoho answers slowly: the stop lands while refreshes are in flight.
    admin.post(
        "/_emulator/faults", json={"target": "accounts", "latency_ms": 3000}
    ).raise_for_status()
    w = worker(w_auth, shutdown_grace=0.2)
    task = asyncio.create_task(w.run())
    for _ in range(200):
        await asyncio.sleep(0.02)
        if await leases_held(app) == len(conns):
            break
    assert await leases_held(app) == len(conns)
    w.stop()
    await asyncio.wait_for(task, 10)
    assert await leases_held(app) == 0  # released, not left to expire
    planned = [s[3] for s in await stored(app, conns)]
    assert planned == [0.0] * len(conns)  # "plan me": the next worker takes them first
    admin.post("/_emulator/faults", json={"target": "accounts"}).raise_for_status()
    result = await worker(w2_auth).run_once()
    assert result.refreshed == len(conns)  # nobody waited out a claim_ttl


async def test_access_denied_backs_the_worker_off_and_waits_out_zohos_window(
    emulator: BackgroundEmulator, hosts: list[ZohoAuth], clock: Clock, admin: httpx.Client
) -> None:
    app, w_auth, _ = hosts
    conns = await logged_in(app, EMAILS[:3])
    await app.store.touch_connections({c.id: clock() for c in conns})
    admin.post("/_emulator/config", json={"max_refreshes_per_window": 0}).raise_for_status()
    clock.offset = 3600 - 400
    w = worker(w_auth, backoff_base=30, backoff_cap=60, idle_poll=0.05)
    task = asyncio.create_task(w.run())
    await asyncio.sleep(1.0)
    w.stop()
    await asyncio.wait_for(task, 10)
    # One attempt per credential, then the worker backed off (no tight retry loop).
    assert w.stats.batches == 1
    assert w.stats.failed == {"throttled": len(conns)}
    stats = httpx.get(emulator.url + "/_emulator/stats").json()
    assert stats["throttled"] == len(conns)
    # Zoho's window is recorded and honoured: nothing is claimable until it ends.
    creds = [await app.store.get_credential(c.credential) for c in conns]
    assert all(c is not None and (c.throttled_until or 0) > clock() + 500 for c in creds)
    assert (await w.run_once()).claimed == 0
    assert all(c is not None and c.status is Status.ACTIVE for c in creds)
