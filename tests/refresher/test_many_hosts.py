"""Many hosts on one PostgreSQL: 3 app processes and 2 `zohoauth worker` processes, each with
its own data directory, 200 users whose tokens all expire during the test (the emulator issues
65-second tokens), one worker SIGKILLed while it holds claims and one app SIGKILLed while it
holds a request-path refresh lease. That app refreshes earlier than the workers (its skew is
larger than their lead), so its first refresh is on the request path; it dies with the lease
taken and nothing sent to Zoho (tests/chaos/crash_child.py's "refresh:before_exchange").

What must hold: exactly one refresh per credential per expiry at the emulator (never two in a
token's lifetime, none missed), zero failed user requests at the apps that were not killed,
no lost or stale token at the end, the dead app's lease honoured until it expires and then
taken over (that credential refreshed once, after the expiry), and the refresh lag back under
target within a minute of the kill. Loopback ports stand in for hosts (no network namespaces
without root).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from zohoauth.emulator import BackgroundEmulator
from zohoauth.store import queries as q
from zohoauth.store.schema import credentials
from zohoauth.store.sql import SQLTokenStore

from ..support.databases import scratch_database
from ..support.hosts import app_host, seed_logins, seed_with_users
from ..support.zoho import make_auth, register_client

pytestmark = pytest.mark.postgres

USERS = 200
TTL = 65.0  # the emulator's access-token lifetime (Zoho's: 3600)
LEAD = 10.0  # workers refresh this long before expiry
SKEW = 5.0  # apps refresh on their own only this close to expiry (the workers' miss)
EAGER_SKEW = 20.0  # the app that is killed refreshes before the workers would (> LEAD)
APP_LEASE_TTL = 6.0  # the apps' refresh lease (tests/support/hosts.py)
CLAIM_TTL = 6.0  # a killed worker's claims are taken over after this
LAG_TARGET = 10.0
CLI = [sys.executable, "-c", "from zohoauth.cli import main; main()"]


def _owner_pids(owners: list[str | None]) -> set[int]:
    """The pids in lease owners ("host:pid:uuid")."""
    return {int(o.split(":")[1]) for o in owners if o}


async def _leases(store: SQLTokenStore) -> list[tuple[str | None, float | None]]:
    async with store.engine.connect() as db:
        rows = await db.execute(select(credentials.c.lease_owner, credentials.c.lease_expires_at))
        return [(o, e) for o, e in rows.all()]


async def _held_by(store: SQLTokenStore, pid: int) -> list[tuple[str, float]]:
    """(zuid, lease expiry) of every credential whose lease a process holds."""
    c = credentials.c
    async with store.engine.connect() as db:
        rows = await db.execute(
            select(c.zuid, c.lease_expires_at).where(c.lease_owner.like(f"%:{pid}:%"))
        )
        return [(z, float(e or 0)) for z, e in rows.all()]


async def _lag(store: SQLTokenStore) -> float:
    async with store.engine.connect() as db:
        earliest = await db.scalar(q.EARLIEST_DUE, {"status": "active", "unplanned": 0.0})
    return 0.0 if earliest is None else max(0.0, time.time() - float(earliest))


async def test_three_apps_and_two_workers_share_one_postgres_through_kills(
    tmp_path: Path, keys: str
) -> None:
    started = time.time()
    seed, emails = seed_with_users(USERS)
    config = {"grant_limits": False, "access_token_ttl": TTL}
    with (
        scratch_database("ZOHOAUTH_TEST_POSTGRES_URL") as db_url,
        BackgroundEmulator(seed=seed, config=config) as emu,
    ):
        client = register_client(emu.url)
        # The hosts start first: importing zohoauth takes seconds on a busy 2-core machine.
        env = {
            **os.environ,
            "ZOHOAUTH_CLIENT_ID": client.client_id,
            "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
            "ZOHOAUTH_ENCRYPTION_KEYS": keys,
            "ZOHOAUTH_DATABASE_URL": db_url,
            "ZOHOAUTH_ZOHO_ENDPOINTS": f"{emu.url}/_emulator/endpoints",
            "ZOHOAUTH_REFRESHER_LEAD": str(LEAD),
            "ZOHOAUTH_REFRESHER_CLAIM_TTL": str(CLAIM_TTL),
            "ZOHOAUTH_REFRESHER_BATCH_SIZE": "10",
            "ZOHOAUTH_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        workers = []
        for n in range(2):
            home = tmp_path / f"worker{n}"
            home.mkdir()
            with (home / "log.txt").open("w") as log:
                workers.append(
                    subprocess.Popen(
                        [*CLI, "worker"],
                        env={**env, "ZOHOAUTH_DATA_DIR": str(home)},
                        cwd=home,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        jobs = [ctx.Queue() for _ in range(3)]
        apps = []
        for n in range(3):
            home = tmp_path / f"app{n}"
            home.mkdir()
            # The last app is the one killed mid-refresh: it refreshes before the workers do.
            eager = n == 2
            args = (
                *(emu.url, db_url, keys, client, jobs[n], str(home)),
                EAGER_SKEW if eager else SKEW,
                results,
                "refresh:before_exchange" if eager else None,
            )
            apps.append(ctx.Process(target=app_host, args=args))
            apps[-1].start()

        setup = make_auth(emu.url, db_url, keys, client)
        async with setup:
            conns = await seed_logins(setup.store, emu.url, client, emails)
            await setup.store.touch_connections({c.id: time.time() for c in conns})
            expiries = []
            for c in conns:
                cred = await setup.store.get_credential(c.credential)
                assert cred is not None
                expiries.append(cred.tokens.expires_at)
        first_expiry = min(expiries)
        logged_in = time.time()
        until = max(expiries) + 8  # every token expires once while its user works
        for n in range(3):
            jobs[n].put(([c.id for c in conns[n::3]], until))
        # Zoho answers refreshes in 300 ms, so the workers hold their claims for a while and
        # share the waves (and a kill lands mid-refresh).
        httpx.post(
            f"{emu.url}/_emulator/faults", json={"target": "accounts", "latency_ms": 300}
        ).raise_for_status()

        store = make_auth(emu.url, db_url, keys, client).store
        assert isinstance(store, SQLTokenStore)
        killed_worker, killed_app = workers[0], apps[2]
        worker_killed_at = app_killed_at = 0.0
        worker_held = 0
        app_leases: list[tuple[str, float]] = []  # (zuid, expiry) the dead app left behind
        lags: list[tuple[float, float]] = []
        seen_owners: set[int] = set()
        async with store:
            # Wait for the first refresh wave, then SIGKILL worker 0 while it holds claims.
            while time.time() < until:
                leases = await _leases(store)
                now = time.time()
                seen_owners |= _owner_pids([o for o, _ in leases])
                if not worker_killed_at and now > first_expiry - LEAD:
                    held = [o for o, e in leases if o and f":{killed_worker.pid}:" in o]
                    if held or now > first_expiry - LEAD + 15:
                        killed_worker.send_signal(signal.SIGKILL)
                        worker_killed_at, worker_held = now, len(held)
                if not app_killed_at and killed_app.exitcode is not None:
                    # It killed itself in its first request-path refresh: the lease is its.
                    app_killed_at = now
                    assert killed_app.pid is not None
                    app_leases = await _held_by(store, killed_app.pid)
                if now > first_expiry - LEAD:
                    lags.append((now, await _lag(store)))
                await asyncio.sleep(0.02 if not (app_killed_at and worker_killed_at) else 0.5)

            reports = [results.get(timeout=60) for _ in range(2)]
            for p in apps:
                p.join(timeout=30)
            logs = {n: (tmp_path / f"worker{n}" / "log.txt").read_text()[-2000:] for n in (0, 1)}
            survivor = workers[1]
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=30) == 0  # graceful: finished or handed back
            leases = await _leases(store)
            creds = [await store.get_credential(c.credential) for c in conns]

        print(
            f"\nsetup {logged_in - started:.0f} s, expiry spread {max(expiries) - first_expiry:.0f}"
            f" s, run {time.time() - logged_in:.0f} s; killed worker held {worker_held} claims,"
            f" killed app {len(app_leases)} leases"
        )
        # -- the verdict ------------------------------------------------------------------
        # Zero failed user requests at the apps that were not killed.
        assert [r[0] for r in reports] == ["ok", "ok"], reports
        assert {killed_worker.pid, workers[1].pid} <= seen_owners, logs  # both worked
        assert all(r[3] == 0 for r in reports), reports
        assert all(r[2] > 100 for r in reports), reports  # they really worked

        # Exactly one refresh per credential per expiry: every credential was refreshed (its
        # token expired during the test) and never twice within one token lifetime.
        state = emu.app.state.emulator
        by_zuid = {rt.zuid: sorted(rt.mint_times) for rt in state.refresh_tokens.values()}
        stored = [c for c in creds if c is not None]
        assert len(stored) == USERS
        for cred in stored:
            mints = by_zuid[cred.key.zuid]
            assert len(mints) >= 1, cred.key
            assert all(b - a > TTL / 2 for a, b in itertools.pairwise(mints)), mints

        # No lost or stale token: every stored one is active and live at Zoho.
        now = state.clock.now()
        for cred in stored:
            assert cred.status.value == "active"
            live = state.access_tokens.get(cred.tokens.access_token or "")
            assert live is not None and live.expires_at > now, cred.key

        # The app died inside a request-path refresh, holding its lease (SIGKILL: exit -9),
        # before sending anything to Zoho. Nobody refreshed that credential while the dead
        # app's lease was live; once it expired, exactly one refresh took over (a worker's
        # claim or another request), and the token stored is the one Zoho minted then.
        assert killed_app.exitcode == -signal.SIGKILL, killed_app.exitcode
        assert len(app_leases) == 1, app_leases
        zuid, lease_expiry = app_leases[0]
        assert lease_expiry - app_killed_at <= APP_LEASE_TTL + 1, (lease_expiry, app_killed_at)
        after = [t for t in by_zuid[zuid] if app_killed_at - 1 < t < lease_expiry + TTL / 2]
        assert len(after) == 1, (after, app_killed_at, lease_expiry)
        assert after[0] >= lease_expiry - 0.5, (after, lease_expiry)  # the lease was honoured
        held_cred = next(c for c in stored if c.key.zuid == zuid)
        assert state.access_tokens[held_cred.tokens.access_token or ""].expires_at > now

        # The SIGTERMed worker left no lease; the SIGKILLed ones' leases only expire.
        assert _owner_pids([o for o, _ in leases]) <= {killed_worker.pid, killed_app.pid}
        assert all(e is not None and e < time.time() for o, e in leases if o)

        # Lag back under target within a minute of the kill (it is sampled every 0.5 s).
        late = [t for t, lag in lags if lag > LAG_TARGET and t > worker_killed_at + 60]
        after_kill = [lag for t, lag in lags if t >= worker_killed_at]
        assert not late, lags
        assert lags and lags[-1][1] <= LAG_TARGET, lags[-5:]
        print(
            f"\nkilled worker held {worker_held} claims, killed app held {len(app_leases)} "
            "leases; "
            f"max lag {max(lag for _, lag in lags):.1f} s, after the kill "
            f"{max(after_kill):.1f} s; setup {logged_in - started:.0f} s, spread "
            f"{max(expiries) - first_expiry:.0f} s; app refreshes "
            f"{sum(r[5] for r in reports)}; requests ok {sum(r[2] for r in reports)}; "
            f"lease holders seen {sorted(seen_owners)}, workers {[w.pid for w in workers]}, "
            f"apps {[a.pid for a in apps]}"
        )
