"""The background refresher at scale: N credentials in PostgreSQL, k `Refresher` processes.

    uv run python -m bench.scale [--quick] [--json FILE]

Per N (stored credentials, all active, token expiries spread over an hour) and k (worker
processes, each its own store, manager and connection pool, as `zohoauth worker` runs):

- a **backlog** of B rows due at once (what a worker fleet meets after an outage): how fast
  k workers drain it (refreshes/s);
- the **steady stream** that N users with 1-hour tokens make (N/3600 refreshes per second),
  for W seconds: p99 lag (how late each refresh was against its plan);
- the store's cost: SQL statements (driver round trips) per refresh, and the most database
  connections open at once (`pg_stat_activity`); how they change from N = 10k to 100k says
  whether work per credential grows with N;
- a **cold-start app fleet** (`scale.fleet`): a apps (fresh processes, each a `ZohoAuth` with
  an empty cache) on one PostgreSQL holding U credentials, each reading every one of the U
  distinct users' access tokens once (all cache misses; the tokens are valid, so no refresh):
  lookups/s of the fleet, p50/p99 per lookup, SQL statements per lookup, database connections.

Zoho is the emulator, over real HTTP (its token endpoint, 3600 s tokens): the refresh tokens
are registered in its state directly, because minting 100k through Self Client codes would
take longer than the measurement. The emulator runs in this process, so on a 2-core machine
it competes with the workers for CPU: refreshes/s is a floor, and the report says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text, update

from zohoauth.credentials import CredentialKey, Status, TokenSet
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.emulator import BackgroundEmulator
from zohoauth.emulator.model import IssuedRefreshToken
from zohoauth.manager import TokenManager
from zohoauth.oauth import OAuthClient
from zohoauth.refresher import Refresher, RefresherConfig
from zohoauth.store.codec import encode_scopes, encrypt_tokens, new_connection_id
from zohoauth.store.schema import connections, credentials
from zohoauth.store.sql import SQLTokenStore

from ._common import now_iso, percentile, table, write_json
from .lookup import scratch_database

HOUR = 3600.0
LEAD = 600.0  # the refresher's default
DCS = ("us", "eu", "in", "au", "jp", "ca")
SCOPES = ("ZohoCRM.modules.ALL",)
CHUNK = 2_000
LAG_TARGET = 60.0


FLEET_CONCURRENCY = 8  # lookups in flight per app process (requests it serves at once)


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "sizes": [5_000],
            "workers": [1, 2],
            "backlog": 200,
            "window": 8.0,
            "fleet_users": 2_000,
            "fleet_apps": [1, 2],
        }
    return {
        "sizes": [10_000, 100_000],
        "workers": [1, 2, 4],
        "backlog": 500,
        "window": 60.0,
        "fleet_users": 10_000,
        "fleet_apps": [1, 2, 4],
    }


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- the data ------------------------------------------------------------------------------------


async def seed(
    store: SQLTokenStore, emu: BackgroundEmulator, client: OAuthClient, n: int, now: float
) -> None:
    """N active credentials whose plan times follow expiries spread over the next hour, each
    refresh token known to the emulator."""
    state = emu.app.state.emulator
    ring = store.keyring
    rng = random.Random(n)
    for start in range(0, n, CHUNK):
        creds, conns = [], []
        for i in range(start, min(n, start + CHUNK)):
            key = CredentialKey(client.client_id, DCS[i % len(DCS)], str(900_000_000 + i))
            refresh = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            state.refresh_tokens[refresh] = IssuedRefreshToken(
                token=refresh,
                client_id=client.client_id,
                zuid=key.zuid,
                dc=key.dc,
                scopes=SCOPES,
                created_at=now,
            )
            expires = now + LEAD + rng.uniform(0, HOUR)
            tokens = TokenSet(refresh, f"1000.{secrets.token_hex(16)}", expires)
            creds.append(
                {
                    "client_id": key.client_id,
                    "dc": key.dc,
                    "zuid": key.zuid,
                    "email": f"user{i}@scale.example.com",
                    "api_domain": f"{emu.url}/{key.dc}/api",
                    "scopes": encode_scopes(SCOPES),
                    "secret": encrypt_tokens(ring, key, tokens),
                    "key_id": ring.active_kid,
                    "expires_at": expires,
                    "status": Status.ACTIVE.value,
                    "version": 1,
                    "refreshed_at": expires - HOUR,
                    "created_at": now - 86_400,
                    "updated_at": now,
                    "next_refresh_at": expires - LEAD,
                }
            )
            conns.append(
                {
                    "id": new_connection_id(),
                    "client_id": key.client_id,
                    "dc": key.dc,
                    "zuid": key.zuid,
                    "org_id": str(80_000_000 + i),
                    "org_name": f"Org {i}",
                    "email": f"user{i}@scale.example.com",
                    "email_norm": f"user{i}@scale.example.com",
                    "created_at": now - 86_400,
                    "last_used_at": now,
                }
            )
        async with store.engine.begin() as db:
            await db.execute(insert(credentials), creds)
            await db.execute(insert(connections), conns)
    async with store.engine.connect() as db:
        await db.execution_options(isolation_level="AUTOCOMMIT")
        await db.execute(text("ANALYZE zohoauth_credentials"))
        await db.execute(text("ANALYZE zohoauth_connections"))


async def shift(store: SQLTokenStore, seconds: float, backlog: int, t0: float) -> None:
    """Move every row's times `seconds` later (so the window starts when the workers are
    ready), then make the `backlog` rows planned *last* due at `t0 - 1` (the steady stream
    keeps the earliest ones)."""
    c = credentials.c
    async with store.engine.begin() as db:
        await db.execute(
            update(credentials).values(
                next_refresh_at=c.next_refresh_at + seconds,
                expires_at=c.expires_at + seconds,
                refreshed_at=c.refreshed_at + seconds,
            )
        )
        last = select(c.zuid).order_by(c.next_refresh_at.desc()).limit(backlog)
        await db.execute(
            update(credentials)
            .where(c.zuid.in_(last))
            .values(
                next_refresh_at=t0 - 1, expires_at=t0 - 1 + LEAD, refreshed_at=t0 - 1 + LEAD - HOUR
            )
        )


# -- one worker process ------------------------------------------------------------------------


def worker_process(
    url: str, keys: str, client: OAuthClient, endpoints: str, ready: Any, go: Any, out: Any
) -> None:
    """A `zohoauth worker` in all but the CLI: its own store, manager and pool; counts the
    SQL statements it sends."""

    async def run() -> dict[str, Any]:
        store = SQLTokenStore(url, KeyRing.from_config(keys))
        await store.open()
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(store.engine.sync_engine, "before_cursor_execute", count)
        manager = TokenManager(store, DataCenterRegistry.load(endpoints), client)
        refresher = Refresher(
            store, manager, RefresherConfig(client_rate=10_000, idle_poll=1.0), keep_lags=True
        )
        ready.put(os.getpid())
        until = await asyncio.to_thread(go.get)
        task = asyncio.create_task(refresher.run())
        await asyncio.sleep(max(0.0, until - time.time()))
        refresher.stop()
        await task
        await manager.aclose()
        await store.close()
        st = refresher.stats
        return {
            "refreshed": st.refreshed,
            "replanned": st.replanned,
            "failed": st.failed,
            "batches": st.batches,
            "statements": statements,
            "lags": st.lags,
        }

    try:
        out.put(("ok", asyncio.run(run())))
    except BaseException as exc:  # report, don't hang the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))


async def connections_open(store: SQLTokenStore, db: str) -> int:
    async with store.engine.connect() as conn:
        n = await conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db").bindparams(db=db)
        )
    return int(n or 0)


async def claim_cost(store: SQLTokenStore) -> float:
    """Milliseconds for one claim query's plan+execution (EXPLAIN ANALYZE, nothing due)."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM zohoauth_credentials "
                "WHERE status = 'active' AND next_refresh_at <= 0 "
                "AND (lease_owner IS NULL OR lease_expires_at < 0) "
                "ORDER BY next_refresh_at LIMIT 20 FOR UPDATE SKIP LOCKED"
            )
        )
        plan = rows.scalar()
        await conn.rollback()
    doc = plan if isinstance(plan, list) else json.loads(str(plan))
    return float(doc[0]["Execution Time"]) + float(doc[0]["Planning Time"])


def _registered_client(emulator_url: str) -> OAuthClient:
    """A fresh OAuth client, registered at the emulator."""
    from zohoauth.emulator import testing

    client = OAuthClient(
        f"1000.{secrets.token_hex(12).upper()}", secrets.token_hex(20), "http://127.0.0.1/cb"
    )
    testing.register_client(
        emulator_url, client.client_id, client.client_secret, [client.redirect_uri]
    )
    return client


def run_one(n: int, k: int, backlog: int, window: float, workdir: Path) -> dict[str, Any]:
    """N credentials, k workers: backlog drain and steady stream."""
    keys = KeyRing.generate_key()
    ctx = multiprocessing.get_context("spawn")
    with BackgroundEmulator(config={"grant_limits": False}) as emu:
        client = _registered_client(emu.url)

        async def main() -> dict[str, Any]:
            async with scratch_database("postgres", workdir) as url:
                store = SQLTokenStore(url, KeyRing.from_config(keys))
                async with store:
                    seeded = time.time()
                    await seed(store, emu, client, n, seeded)
                    seed_s = time.time() - seeded
                    ready, out = ctx.Queue(), ctx.Queue()
                    gos = [ctx.Queue() for _ in range(k)]
                    procs = [
                        ctx.Process(
                            target=worker_process,
                            args=(
                                url,
                                keys,
                                client,
                                f"{emu.url}/_emulator/endpoints",
                                ready,
                                g,
                                out,
                            ),
                        )
                        for g in gos
                    ]
                    for p in procs:
                        p.start()
                    for _ in procs:
                        await asyncio.to_thread(ready.get, True, 300)
                    t0 = time.time() + 1.0
                    await shift(store, t0 - seeded, backlog, t0)
                    before = emu.app.state.emulator.stats.token_requests["refresh_token"]
                    idle_claim_ms = await claim_cost(store)
                    until = t0 + window
                    for g in gos:
                        g.put(until)
                    db_name = url.rsplit("/", 1)[1]
                    most = 0
                    while time.time() < until:
                        most = max(most, await connections_open(store, db_name))
                        await asyncio.sleep(0.5)
                    results = [await asyncio.to_thread(out.get, True, 120) for _ in procs]
                    for p in procs:
                        p.join(30)
                    zoho = emu.app.state.emulator.stats.token_requests["refresh_token"] - before
            bad = [r[1] for r in results if r[0] != "ok"]
            if bad:
                raise RuntimeError(f"worker failed: {bad[0]}")
            rs = [r[1] for r in results]
            refreshed = sum(r["refreshed"] for r in rs)
            statements = sum(r["statements"] for r in rs)
            lags = [tuple(x) for r in rs for x in r["lags"]]
            back = sorted(lag for due, lag in lags if due < t0)
            steady = sorted(lag for due, lag in lags if due >= t0)
            drain = max((due + lag for due, lag in lags if due < t0), default=t0) - t0
            return {
                "n": n,
                "workers": k,
                "seed_seconds": round(seed_s, 1),
                "backlog": backlog,
                "backlog_refreshed": len(back),
                "backlog_drain_seconds": round(drain, 2),
                "refreshes_per_second": round(len(back) / drain, 1) if drain > 0 else None,
                "steady_refreshed": len(steady),
                "steady_expected": round(n / HOUR * window, 1),
                "p99_lag_seconds": round(percentile(steady, 99), 2) if steady else None,
                "p99_lag_backlog_seconds": round(percentile(back, 99), 2) if back else None,
                "statements_per_refresh": round(statements / refreshed, 2) if refreshed else None,
                "replanned": sum(r["replanned"] for r in rs),
                "failed": sum(sum(r["failed"].values()) for r in rs),
                "zoho_refreshes": zoho,
                "double_refreshes": zoho - refreshed,
                "db_connections_max": most,
                "claim_query_ms": round(idle_claim_ms, 3),
            }

        return asyncio.run(main())


# -- a cold-start app fleet -------------------------------------------------------------------


def app_process(
    url: str,
    keys: str,
    client: OAuthClient,
    endpoints: str,
    ids: list[str],
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """A freshly started app: a `ZohoAuth` on the shared store, nothing cached, reading every
    connection's access token once, FLEET_CONCURRENCY at a time (in its own order, so the apps
    do not walk the table in step)."""

    async def run() -> dict[str, Any]:
        from zohoauth import ZohoAuth

        store = SQLTokenStore(url, KeyRing.from_config(keys))
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        auth = ZohoAuth(client=client, store=store, registry=DataCenterRegistry.load(endpoints))
        async with auth:
            event.listen(store.engine.sync_engine, "before_cursor_execute", count)
            order = list(ids)
            random.Random(os.getpid()).shuffle(order)
            ready.put(os.getpid())
            await asyncio.to_thread(go.get)
            statements = 0
            times: list[float] = []
            errors = 0
            todo = iter(order)

            async def reader() -> None:
                nonlocal errors
                for cid in todo:
                    t = time.perf_counter()
                    try:
                        await auth.access_token(cid)
                    except Exception:  # counted: a cold read must not fail
                        errors += 1
                        continue
                    times.append(time.perf_counter() - t)

            started = time.perf_counter()
            await asyncio.gather(*(reader() for _ in range(FLEET_CONCURRENCY)))
            seconds = time.perf_counter() - started
            read_statements = statements
        return {
            "lookups": len(times),
            "errors": errors,
            "seconds": seconds,
            "statements": read_statements,
            "times": times,
        }

    try:
        out.put(("ok", asyncio.run(run())))
    except BaseException as exc:  # report, don't hang the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def run_fleet(users: int, apps: list[int], workdir: Path) -> dict[str, Any]:
    """U credentials in one PostgreSQL; for each a in `apps`, a fresh app processes reading all
    U users' tokens cold, all at once."""
    keys = KeyRing.generate_key()
    ctx = multiprocessing.get_context("spawn")
    with BackgroundEmulator(config={"grant_limits": False}) as emu:
        client = _registered_client(emu.url)

        async def main() -> list[dict[str, Any]]:
            rows = []
            async with scratch_database("postgres", workdir) as url:
                store = SQLTokenStore(url, KeyRing.from_config(keys))
                async with store:
                    await seed(store, emu, client, users, time.time())
                    async with store.engine.connect() as db:
                        ids = list((await db.execute(select(connections.c.id))).scalars())
                    db_name = url.rsplit("/", 1)[1]
                    for a in apps:
                        say(f"scale: cold-start fleet, {a} app(s) x {users:,} users")
                        before = emu.app.state.emulator.stats.token_requests["refresh_token"]
                        ready, out = ctx.Queue(), ctx.Queue()
                        gos = [ctx.Queue() for _ in range(a)]
                        endpoints = f"{emu.url}/_emulator/endpoints"
                        procs = [
                            ctx.Process(
                                target=app_process,
                                args=(url, keys, client, endpoints, ids, ready, g, out),
                            )
                            for g in gos
                        ]
                        for p in procs:
                            p.start()
                        for _ in procs:
                            await asyncio.to_thread(ready.get, True, 300)
                        started = time.perf_counter()
                        for g in gos:
                            g.put(True)
                        results: list[Any] = []
                        most = 0
                        while len(results) < a:
                            most = max(most, await connections_open(store, db_name))
                            try:
                                results.append(await asyncio.to_thread(out.get, True, 0.5))
                            except Exception:  # queue.Empty: still reading
                                continue
                        wall = time.perf_counter() - started
                        for p in procs:
                            p.join(30)
                        bad = [r[1] for r in results if r[0] != "ok"]
                        if bad:
                            raise RuntimeError(f"app failed: {bad[0]}")
                        rs = [r[1] for r in results]
                        times = sorted(t for r in rs for t in r["times"])
                        lookups = sum(r["lookups"] for r in rs)
                        zoho = emu.app.state.emulator.stats.token_requests["refresh_token"]
                        rows.append(
                            {
                                "apps": a,
                                "users": users,
                                "concurrency_per_app": FLEET_CONCURRENCY,
                                "lookups": lookups,
                                "errors": sum(r["errors"] for r in rs),
                                "seconds": round(wall, 2),
                                "lookups_per_second": round(lookups / wall, 1),
                                "p50_ms": round(percentile(times, 50) * 1000, 2),
                                "p99_ms": round(percentile(times, 99) * 1000, 2),
                                "statements_per_lookup": round(
                                    sum(r["statements"] for r in rs) / lookups, 2
                                )
                                if lookups
                                else None,
                                "db_connections_max": most,
                                "zoho_refreshes": zoho - before,
                            }
                        )
            return rows

        return {"users": users, "runs": asyncio.run(main())}


def run(
    sizes: list[int],
    workers: list[int],
    backlog: int,
    window: float,
    workdir: Path,
    fleet_users: int = 0,
    fleet_apps: list[int] | None = None,
) -> dict[str, Any]:
    rows = []
    for n in sizes:
        for k in workers:
            say(f"scale: {n:,} credentials, {k} worker(s)")
            rows.append(run_one(n, k, backlog, window, workdir))
    out: dict[str, Any] = {"runs": rows, "lag_target_seconds": LAG_TARGET, "window_seconds": window}
    if fleet_users and fleet_apps:
        out["fleet"] = run_fleet(fleet_users, fleet_apps, workdir)
    return out


def report(result: dict[str, Any]) -> str:
    head = [
        "N",
        "workers",
        "refreshes/s (backlog)",
        "p99 lag s (steady)",
        "steady done/expected",
        "SQL/refresh",
        "DB conns",
        "claim ms",
        "double",
    ]
    body = [
        [
            f"{r['n']:,}",
            r["workers"],
            r["refreshes_per_second"],
            r["p99_lag_seconds"],
            f"{r['steady_refreshed']}/{r['steady_expected']}",
            r["statements_per_refresh"],
            r["db_connections_max"],
            r["claim_query_ms"],
            r["double_refreshes"],
        ]
        for r in result["runs"]
    ]
    text = table(head, body) if result["runs"] else ""
    fleet = result.get("fleet")
    if fleet:
        text += f"\n\nCold-start app fleet, {fleet['users']:,} distinct users read once per app\n\n"
        text += table(FLEET_HEADERS, fleet_rows(fleet))
    return text


FLEET_HEADERS = [
    "apps",
    "lookups",
    "lookups/s (fleet)",
    "p50 ms",
    "p99 ms",
    "SQL/lookup",
    "DB conns",
    "errors",
    "refreshes",
]


def fleet_rows(fleet: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            r["apps"],
            f"{r['lookups']:,}",
            r["lookups_per_second"],
            r["p50_ms"],
            r["p99_ms"],
            r["statements_per_lookup"],
            r["db_connections_max"],
            r["errors"],
            r["zoho_refreshes"],
        ]
        for r in fleet["runs"]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="5k credentials, 1-2 workers")
    parser.add_argument(
        "--fleet-only", action="store_true", help="only the cold-start app fleet, no workers"
    )
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    s = settings(args.quick)
    if args.fleet_only:
        s |= {"sizes": [], "workers": []}
    with tempfile.TemporaryDirectory(prefix="zohoauth-scale-") as tmp:
        result = run(
            s["sizes"],
            s["workers"],
            s["backlog"],
            s["window"],
            Path(tmp),
            fleet_users=s["fleet_users"],
            fleet_apps=s["fleet_apps"],
        )
    result |= {"when": now_iso(), "quick": args.quick, "settings": s}
    print(report(result))
    if args.json_path:
        write_json(args.json_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
