"""TokenManager against the emulator and real databases: refresh exactly once, honest failures."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from zohoauth.auth import ZohoAuth
from zohoauth.credentials import Status
from zohoauth.errors import (
    NotFoundError,
    ReauthRequiredError,
    ThrottledError,
    ZohoUnavailableError,
)
from zohoauth.events import Event, EventType
from zohoauth.manager import ManagerConfig
from zohoauth.revoke import RevokeOutcome

from .support.storm import hold_lease_worker, storm_worker
from .support.zoho import (
    advance_clock,
    emulator_stats,
    login,
    make_auth,
    refresh_requests,
    register_client,
)

HOUR = 3600.0


def _crm_ok(api_domain: str, token: str, org_id: str | None = None) -> bool:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    if org_id:
        headers["X-CRM-ORG"] = org_id
    return httpx.get(f"{api_domain}/crm/v8/org", headers=headers).status_code == 200


class Clock:
    """The app's clock, movable in step with the emulator's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def auth(emulator: Any, store_url: str, keys: str, clock: Clock) -> AsyncIterator[ZohoAuth]:
    client = register_client(emulator.url)
    async with make_auth(
        emulator.url,
        store_url,
        keys,
        client,
        clock=clock,
        config=ManagerConfig(poll_interval=0.02, retry_base=0.01, unavailable_backoff=0.3),
    ) as a:
        yield a


def _expire(emulator: Any, clock: Clock) -> None:
    """Move both clocks past the access token's lifetime."""
    clock.offset += HOUR + 1
    advance_clock(emulator.url, HOUR + 1)


async def test_cache_hit_needs_no_store_and_no_zoho(emulator: Any, auth: ZohoAuth) -> None:
    conn = await login(auth, "ava@zylker.com")
    first = await auth.access_token(conn.id)
    calls = 0
    real = auth.store.get_credential

    async def counting(*a: Any, **k: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*a, **k)

    auth.store.get_credential = counting  # type: ignore[method-assign]
    for _ in range(100):
        assert (await auth.access_token(conn.id)).token == first.token
    assert calls == 0
    assert refresh_requests(emulator.url) == 0


async def test_cached_answer_is_dropped_when_the_connection_is_forgotten(
    emulator: Any, auth: ZohoAuth
) -> None:
    """The hot path answers from a per-connection cache; logging out must empty it."""
    conn = await login(auth, "ben@zylker.com")
    await auth.access_token(conn.id)
    await auth.access_token(conn.id)  # answered from the cache
    await auth.logout(conn.id)
    with pytest.raises(NotFoundError):
        await auth.access_token(conn.id)


async def test_relogin_replaces_the_cached_answer(emulator: Any, auth: ZohoAuth) -> None:
    first = await login(auth, "dev@sunrise.in")
    old = await auth.access_token(first.id)
    again = await login(auth, "dev@sunrise.in")  # new tokens from Zoho, same credential
    assert again.id == first.id
    new = await auth.access_token(first.id)
    assert new.token != old.token
    cred = await auth.store.get_credential(first.credential)
    assert cred is not None
    assert cred.tokens.access_token == new.token


async def test_sibling_org_after_a_401_gets_the_new_token_without_a_second_refresh(
    emulator: Any, auth: ZohoAuth
) -> None:
    """Two orgs of one user share a credential. Org A's token is rejected (401) and
    refreshed; org B, whose cached answer is that same token, is answered the new one as soon
    as it reports the token stale, and Zoho sees one refresh."""
    a = await login(auth, "ava@zylker.com")
    b = await auth.connect_org(a.id, "80000002")
    old_a, old_b = await auth.access_token(a.id), await auth.access_token(b.id)
    assert old_a.token == old_b.token
    new_a = await auth.access_token(a.id, stale=old_a.token)
    assert new_a.token != old_a.token
    new_b = await auth.access_token(b.id, stale=old_b.token)
    assert (new_b.token, new_b.org_id) == (new_a.token, "80000002")
    assert refresh_requests(emulator.url) == 1


async def test_refreshes_ahead_of_expiry(emulator: Any, auth: ZohoAuth, clock: Clock) -> None:
    conn = await login(auth, "clara@brightwave.eu")
    first = await auth.access_token(conn.id)
    clock.offset = HOUR - 200  # inside the 5-minute skew, not yet expired
    second = await auth.access_token(conn.id)
    assert second.token != first.token
    assert refresh_requests(emulator.url) == 1
    assert _crm_ok(second.api_domain, second.token)
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    assert cred.tokens.access_token == second.token


async def test_in_process_storm_refreshes_once(emulator: Any, auth: ZohoAuth, clock: Clock) -> None:
    conn = await login(auth, "dev@sunrise.in")
    _expire(emulator, clock)
    toks = await asyncio.gather(*(auth.access_token(conn.id) for _ in range(200)))
    assert len({t.token for t in toks}) == 1
    assert refresh_requests(emulator.url) == 1
    assert _crm_ok(toks[0].api_domain, toks[0].token)


async def test_stale_token_after_401_refreshes_once(emulator: Any, auth: ZohoAuth) -> None:
    conn = await login(auth, "ben@zylker.com")
    old = await auth.access_token(conn.id)
    toks = await asyncio.gather(*(auth.access_token(conn.id, stale=old.token) for _ in range(20)))
    assert {t.token for t in toks} != {old.token}
    assert len({t.token for t in toks}) == 1
    assert refresh_requests(emulator.url) == 1


async def test_multi_org_connections_share_one_refresh(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    a = await login(auth, "ava@zylker.com")
    b = await auth.connect_org(a.id, "80000002")
    _expire(emulator, clock)
    toks = await asyncio.gather(*(auth.access_token(c) for c in [a.id, b.id] * 25))
    assert refresh_requests(emulator.url) == 1
    assert len({t.token for t in toks}) == 1
    by_conn = {t.connection_id: t for t in toks}
    assert by_conn[b.id].org_id == "80000002"
    assert _crm_ok(by_conn[b.id].api_domain, by_conn[b.id].token, "80000002")


def test_cross_process_storm_refreshes_exactly_once(
    emulator: Any, store_url: str, keys: str
) -> None:
    """4 processes x 50 concurrent callers on one expired credential -> one refresh request."""
    client = register_client(emulator.url)

    async def setup() -> str:
        async with make_auth(emulator.url, store_url, keys, client) as a:
            return (await login(a, "ava@zylker.com")).id

    conn_id = asyncio.run(setup())
    advance_clock(emulator.url, HOUR + 1)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(
            target=storm_worker,
            args=(emulator.url, store_url, keys, client, [conn_id], 50, HOUR + 1, barrier, results),
        )
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [o for o in outcomes if o[0] != "ok"]
    assert errors == []
    tokens = {t for o in outcomes for t in o[2]}
    assert sum(len(o[2]) for o in outcomes) == 200
    assert len(tokens) == 1
    assert refresh_requests(emulator.url) == 1
    assert _crm_ok(f"{emulator.url}/us/api", tokens.pop())


def test_killed_lease_holder_is_taken_over(emulator: Any, store_url: str, keys: str) -> None:
    """SIGKILL the process that holds the refresh lease mid-refresh: after the lease expires
    another process completes the refresh, and the credential is intact."""
    client = register_client(emulator.url)

    async def setup() -> tuple[str, Any]:
        async with make_auth(emulator.url, store_url, keys, client) as a:
            conn = await login(a, "noah@maple.ca")
            return conn.id, conn.credential

    conn_id, key = asyncio.run(setup())
    advance_clock(emulator.url, HOUR + 1)
    httpx.post(
        emulator.url + "/_emulator/faults",
        json={"target": "accounts", "dc": "ca", "latency_ms": 8000},
    )
    ctx = multiprocessing.get_context("spawn")
    holder = ctx.Process(
        target=hold_lease_worker,
        args=(emulator.url, store_url, keys, client, conn_id, HOUR + 1, 2.0),
    )
    holder.start()

    async def lease_taken() -> bool:
        async with make_auth(emulator.url, store_url, keys, client) as a:
            for _ in range(300):
                if await a.store.try_acquire_lease(key, "probe", 0.0001) is False:
                    return True
                await a.store.release_lease(key, "probe")
                await asyncio.sleep(0.05)
        return False

    assert asyncio.run(lease_taken()), "the holder never took the lease"
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=10)
    httpx.post(emulator.url + "/_emulator/faults", json={"target": "accounts", "dc": "ca"})

    async def take_over() -> tuple[str, str]:
        async with make_auth(
            emulator.url,
            store_url,
            keys,
            client,
            clock=lambda: time.time() + HOUR + 1,
            config=ManagerConfig(poll_interval=0.05),
        ) as a:
            tok = await a.access_token(conn_id)
            cred = await a.store.get_credential(key)
            assert cred is not None
            assert cred.status is Status.ACTIVE
            assert cred.tokens.access_token == tok.token
            return tok.token, tok.api_domain

    token, api = asyncio.run(take_over())
    assert _crm_ok(api, token)


async def test_revoked_grant_asks_for_reauth_once(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    conn = await login(auth, "ella@koalafreight.au")
    events: list[Event] = []
    auth.events.subscribe(EventType.REAUTH_REQUIRED, events.append)
    httpx.post(emulator.url + "/_emulator/revoke-user", json={"email": "ella@koalafreight.au"})
    _expire(emulator, clock)
    results = await asyncio.gather(
        *(auth.access_token(conn.id) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, ReauthRequiredError) for r in results)
    assert refresh_requests(emulator.url) == 1
    assert len(events) == 1
    assert events[0].email == "ella@koalafreight.au"
    for _ in range(5):
        with pytest.raises(ReauthRequiredError):
            await auth.access_token(conn.id)
    assert refresh_requests(emulator.url) == 1  # no further calls to Zoho
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    assert cred.status is Status.REAUTH_REQUIRED
    # Logging in again heals it.
    again = await login(auth, "ella@koalafreight.au")
    assert again.id == conn.id
    assert (await auth.access_token(conn.id)).token


async def test_throttle_is_respected_and_valid_token_kept(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    httpx.post(emulator.url + "/_emulator/config", json={"max_refreshes_per_window": 2})
    conn = await login(auth, "haru@sakura.jp")
    tok = await auth.access_token(conn.id)
    tok = await auth.access_token(conn.id, stale=tok.token)  # as after a 401: refresh 1
    tok = await auth.access_token(conn.id, stale=tok.token)  # refresh 2: the window is full
    assert refresh_requests(emulator.url) == 2
    # Near expiry: the refresh is refused by Zoho, the still-valid token keeps being served.
    clock.offset = HOUR - 100
    advance_clock(emulator.url, 0)
    served = await auth.access_token(conn.id)
    assert served.token == tok.token
    assert refresh_requests(emulator.url) == 3
    assert emulator_stats(emulator.url)["throttled"] == 1
    for _ in range(10):
        assert (await auth.access_token(conn.id)).token == tok.token
    assert refresh_requests(emulator.url) == 3  # backed off: no more requests in the window
    assert _crm_ok(served.api_domain, served.token)
    # Expired and still inside the window: a clear error, still no request.
    clock.offset = HOUR + 10
    with pytest.raises(ThrottledError):
        await auth.access_token(conn.id)
    assert refresh_requests(emulator.url) == 3
    # After the window, refresh works again.
    clock.offset = HOUR + 700
    advance_clock(emulator.url, 700)
    fresh = await auth.access_token(conn.id)
    assert fresh.token != tok.token
    assert _crm_ok(fresh.api_domain, fresh.token)


async def test_accounts_outage_retries_boundedly(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    conn = await login(auth, "li@dragongate.cn", region="cn")  # China's own sign-in
    tok = await auth.access_token(conn.id)
    httpx.post(
        emulator.url + "/_emulator/faults", json={"target": "accounts", "dc": "cn", "outage": True}
    )
    clock.offset = HOUR - 100  # refresh due, token still valid
    before = auth.manager.refresh_count
    assert (await auth.access_token(conn.id)).token == tok.token
    assert auth.manager.refresh_count - before == auth.manager.config.max_attempts
    assert _crm_ok(tok.api_domain, tok.token)
    clock.offset = HOUR + 10
    advance_clock(emulator.url, HOUR + 10)
    # The failed refresh left a back-off (0.3 s here, 5 s by default) that every process
    # honours: no token request until it ends, and the answer says when to come back.
    before = auth.manager.refresh_count
    with pytest.raises(ZohoUnavailableError) as info:
        await auth.access_token(conn.id)
    assert auth.manager.refresh_count == before
    assert info.value.retry_after is not None and info.value.retry_after > time.time()
    assert "try again" in str(info.value)
    await asyncio.sleep(0.35)
    # After it: one try, not three (the outage goes on), and a back-off twice as long.
    with pytest.raises(ZohoUnavailableError) as info:
        await auth.access_token(conn.id)
    assert auth.manager.refresh_count - before == 1
    assert "cn" in str(info.value)
    assert info.value.retry_after is not None and info.value.retry_after > time.time() + 0.4
    httpx.post(emulator.url + "/_emulator/faults", json={"target": "accounts", "dc": "cn"})
    await asyncio.sleep(0.65)
    fresh = await auth.access_token(conn.id)
    assert _crm_ok(fresh.api_domain, fresh.token)
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    assert cred.status is Status.ACTIVE


async def test_last_use_is_recorded_at_most_once_a_minute(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    conn = await login(auth, "omar@oasis.sa")
    assert (await auth.store.get_connection(conn.id)).last_used_at is None  # type: ignore[union-attr]
    writes: list[dict[str, float]] = []
    real = auth.store.touch_connections

    async def counting(used: Any) -> None:
        writes.append(dict(used))
        await real(used)

    auth.store.touch_connections = counting  # type: ignore[method-assign]
    for _ in range(50):
        await auth.access_token(conn.id)
    await auth.manager.aclose()  # flushes what is pending
    assert len(writes) == 1
    stored = await auth.store.get_connection(conn.id)
    assert stored is not None
    assert stored.last_used_at == pytest.approx(clock(), abs=5)
    clock.offset += 61  # a minute later the next use is written again
    await auth.access_token(conn.id)
    await auth.manager.aclose()
    assert len(writes) == 2


# -- revoke: the local copy goes only once Zoho no longer honours the grant -----------------


def _revokes(emulator: Any) -> int:
    return int(emulator_stats(emulator.url)["token_requests"]["revoke"])


def _accounts_outage(emulator: Any, on: bool) -> None:
    faults = {"target": "accounts", "dc": None, "outage": on}
    httpx.post(emulator.url + "/_emulator/faults", json=faults).raise_for_status()


def _grant_alive(emulator: Any, auth: ZohoAuth, dc: str, refresh_token: str) -> bool:
    answer = httpx.post(
        f"{emulator.url}/{dc}/accounts/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": auth.client.client_id,
            "client_secret": auth.client.client_secret,
        },
    ).json()
    return "access_token" in answer


async def test_revoke_confirmed_by_zoho_deletes_every_org_connection(
    emulator: Any, auth: ZohoAuth
) -> None:
    conn = await login(auth, "ava@zylker.com")
    other = await auth.connect_org(conn.id, "80000002")
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    done = await auth.revoke(conn.id)
    assert done.outcome is RevokeOutcome.REVOKED
    assert done.revoked and done.deleted
    assert set(done.connection_ids) == {conn.id, other.id}
    assert await auth.store.get_credential(conn.credential) is None
    assert not _grant_alive(emulator, auth, "us", cred.tokens.refresh_token)
    with pytest.raises(NotFoundError):
        await auth.access_token(other.id)


async def test_revoke_of_a_grant_zoho_no_longer_honours_deletes_it(
    emulator: Any, auth: ZohoAuth
) -> None:
    conn = await login(auth, "clara@brightwave.eu")
    httpx.post(emulator.url + "/_emulator/revoke-user", json={"email": "clara@brightwave.eu"})
    done = await auth.revoke(conn.id)
    assert done.outcome is RevokeOutcome.ALREADY_INVALID
    assert done.revoked and done.deleted
    assert await auth.store.get_credential(conn.credential) is None
    with pytest.raises(NotFoundError):
        await auth.revoke(conn.id)


async def test_revoke_while_zoho_is_down_keeps_the_grant_on_record_and_unused(
    emulator: Any, auth: ZohoAuth
) -> None:
    conn = await login(auth, "dev@sunrise.in")
    await auth.access_token(conn.id)  # cached in this process
    _accounts_outage(emulator, True)
    done = await auth.revoke(conn.id)
    assert done.outcome is RevokeOutcome.UNAVAILABLE
    assert not done.revoked and not done.deleted
    assert done.connection_ids == (conn.id,)
    cred = await auth.store.get_credential(conn.credential)
    assert cred is not None
    assert cred.status is Status.REVOKE_PENDING
    with pytest.raises(ReauthRequiredError, match="revoke_pending"):
        await auth.access_token(conn.id)  # the user asked to end it: no token is served
    _accounts_outage(emulator, False)
    assert _grant_alive(emulator, auth, "in", cred.tokens.refresh_token)  # why it was kept
    again = await auth.revoke(conn.id)
    assert again.outcome is RevokeOutcome.REVOKED
    assert await auth.store.get_credential(conn.credential) is None
    assert not _grant_alive(emulator, auth, "in", cred.tokens.refresh_token)


async def test_logout_says_what_it_did(emulator: Any, auth: ZohoAuth) -> None:
    conn = await login(auth, "ava@zylker.com")
    other = await auth.connect_org(conn.id, "80000002")
    plain = await auth.logout(conn.id)  # this connection only; the grant stays at Zoho
    assert plain.connection_ids == (conn.id,)
    assert plain.revocation is None and not plain.revoked
    assert (await auth.access_token(other.id)).token
    assert (await auth.logout(conn.id)).connection_ids == ()  # already gone: no error
    _accounts_outage(emulator, True)
    failed = await auth.logout(other.id, revoke=True)
    assert failed.connection_ids == (other.id,)
    assert failed.revocation is not None
    assert failed.revocation.outcome is RevokeOutcome.UNAVAILABLE
    assert not failed.revoked
    assert await auth.store.get_credential(other.credential) is not None
    _accounts_outage(emulator, False)
    assert (await auth.logout(other.id, revoke=True)).revoked
    assert _revokes(emulator) == 1  # the one that reached Zoho (the outage answered the first)


# -- what the facade tells an app about a connection and about itself ----------------------


async def test_connection_info_shows_status_without_tokens(emulator: Any, auth: ZohoAuth) -> None:
    conn = await login(auth, "clara@brightwave.eu")
    info = await auth.connection_info(conn.id)
    assert info is not None
    assert info.connection == conn
    assert (info.status, info.needs_reconnect) == (Status.ACTIVE, False)
    assert info.dc_name == auth.registry.get("eu").name
    await auth.store.set_status(conn.credential, Status.REAUTH_REQUIRED)
    again = await auth.connection_info(conn.id)
    assert again is not None and again.needs_reconnect
    await auth.logout(conn.id)
    assert await auth.connection_info(conn.id) is None


async def test_health_is_an_answer_not_an_exception(auth: ZohoAuth) -> None:
    assert (await auth.health()).ok
    await auth.store.close()
    try:
        sick = await auth.health()
    finally:
        await auth.store.open()
    assert (sick.ok, sick.failing) == (False, "store")
    assert "not open" in sick.message


async def test_tokens_zoho_ended_early_are_refreshed_though_another_process_refreshed(
    emulator: Any, auth: ZohoAuth, store_url: str, keys: str
) -> None:
    """Chaos, refresh_throttled and postgres_restart: Zoho ended every token of the user (its
    clock an hour ahead) while the app thinks them fresh. This process holds T_a, the store
    another process's T_b. The 401 on T_a gets T_b from the store, Zoho refuses it too; that
    must cause a refresh, not "log in again" (401 reauth_required for a live grant)."""
    conn = await login(auth, "ava@zylker.com")
    held = await auth.access_token(conn.id)
    async with make_auth(emulator.url, store_url, keys, auth.client) as other:
        again = await other.access_token(conn.id, stale=held.token)  # refreshes, stores T_b
    assert again.token != held.token
    advance_clock(emulator.url, HOUR + 1)  # Zoho's clock only: both end there
    before = refresh_requests(emulator.url)
    assert (await auth.crm(conn.id).org())["zgid"] == conn.org_id
    assert refresh_requests(emulator.url) == before + 1


async def test_a_throttle_recorded_just_before_the_lease_was_taken_is_honoured(
    emulator: Any, auth: ZohoAuth, clock: Clock
) -> None:
    """docs/reliability.md, chaos bug 5: a worker that read the row before the other recorded
    Zoho's throttle, and took the lease right after, must not ask Zoho once more."""
    conn = await login(auth, "ava@zylker.com")
    _expire(emulator, clock)
    manager = auth.manager
    await auth.store.set_throttled_until(conn.credential, clock() + 600)
    assert await auth.store.try_acquire_lease(conn.credential, manager.owner, 60)
    before = manager.refresh_count
    with pytest.raises(ThrottledError):
        await manager._refresh_holding_lease(conn.credential, None, None)
    assert manager.refresh_count == before
    assert await auth.store.try_acquire_lease(conn.credential, "someone else", 60)  # released
