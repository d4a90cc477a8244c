"""zohoauth's token lookup with N stored credentials: in-process cache hit, and cold reads per
SQL engine, and how they grow from 1,000 to 100,000 rows.

    uv run python -m bench.lookup [--sizes 1000,10000,100000] [--engines sqlite,postgres,mysql]
                                  [--quick] [--json FILE]

For each engine and size N, a store of its own (SQLite: a temp file; PostgreSQL and MariaDB:
a scratch database `zohoauth_bench_<hex>` created on the server named by
ZOHOAUTH_TEST_POSTGRES_URL / ZOHOAUTH_TEST_MYSQL_URL and dropped at the end) is migrated with
`upgrade_async` and filled with N credentials and N connections (one org each) by bulk INSERTs
into the schema's tables. Every row's secret is a real ciphertext: `encrypt_tokens` with the
row's own key as associated data, so each lookup decrypts like production does; lookups check
the token they get back.

Measured, with every size of an engine measured round by round (interleaved, so a burst of
other work on the machine hits every size alike):

- `hit`: `TokenManager.access_token(id)` with the connection and token cached in-process
  (warmed through `access_token` itself; the cache holds the run's sampled connections);
- `hit(N)`: the same with all N connections in the cache (filled through the manager's private
  cache methods, N cold reads would take minutes, then one `access_token` call each), to show
  the cache size does not matter;
- `store`: `SQLTokenStore.get_connection_with_credential(id)`, the one joined, indexed query a
  cold lookup makes, plus decryption;
- `manager`: `TokenManager.access_token(id)` after `forget(id)`, i.e. what the first request
  for a connection costs in a fresh process (the manager's cold path: that same query, the
  freshness check, caching).

Ids are drawn at random over the whole table; databases are warm (one untimed pass first).
Each run is `--lookups` calls; a run's figure is its median call; the table shows the median
and p10-p90 of `--runs` runs, and growth = median(largest N) / median(smallest N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.credentials import CredentialKey, Status, TokenSet
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.manager import ManagerConfig, TokenManager
from zohoauth.oauth import OAuthClient
from zohoauth.store.codec import (
    connection_from_row,
    credential_from_row,
    encode_scopes,
    encrypt_tokens,
    new_connection_id,
    normalize_email,
)
from zohoauth.store.migrate import upgrade_async
from zohoauth.store.schema import connections, credentials
from zohoauth.store.sql import SQLTokenStore
from zohoauth.store.urls import mask_url, normalize_url
from zohoauth.token_cache import AccessToken, Entry, TokenCache

from ._common import machine, now_iso, spread, table, write_json

DEFAULT_URLS = {
    "postgres": ("ZOHOAUTH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("ZOHOAUTH_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
CLIENT = OAuthClient("1000.BENCHLOOKUPCLIENT00000000000000", "unused", "http://127.0.0.1/cb")
DCS = ("us", "eu", "in", "au", "jp", "ca")
CHUNK = 2_000  # rows per INSERT batch
HIT_TARGET_US = 20.0
GROWTH_TARGET = 1.5


# -- rows --------------------------------------------------------------------------------------


@dataclass
class Rows:
    """N credentials and their connections, ready to INSERT, and what lookups must return."""

    credentials: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # connection id -> access token


def make_rows(keyring: KeyRing, start: int, stop: int, now: float) -> Rows:
    rows = Rows()
    expires = now + 86_400  # fresh for a day: no lookup may turn into a refresh
    for i in range(start, stop):
        key = CredentialKey(CLIENT.client_id, DCS[i % len(DCS)], str(700_000_000 + i))
        access = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        tokens = TokenSet(f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}", access, expires)
        email = f"user{i}@bench{i % 97}.example.com"
        rows.credentials.append(
            {
                "client_id": key.client_id,
                "dc": key.dc,
                "zuid": key.zuid,
                "email": email,
                "api_domain": f"https://www.zohoapis.{key.dc}",
                "scopes": encode_scopes(CLIENT.scopes),
                "secret": encrypt_tokens(keyring, key, tokens),  # this row's key as AAD
                "key_id": keyring.active_kid,
                "expires_at": expires,
                "status": Status.ACTIVE.value,
                "version": 1,
                "lease_owner": None,
                "lease_expires_at": None,
                "throttled_until": None,
                "refreshed_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        cid = new_connection_id()
        rows.connections.append(
            {
                "id": cid,
                "client_id": key.client_id,
                "dc": key.dc,
                "zuid": key.zuid,
                "org_id": str(80_000_000 + i),
                "org_name": f"Org {i}",
                "email": email,
                "email_norm": normalize_email(email),
                "created_at": now,
            }
        )
        rows.tokens[cid] = access
    return rows


async def fill(store: SQLTokenStore, rows: Rows) -> None:
    """Bulk INSERT, a few thousand rows per statement batch, one transaction per batch."""
    for n in range(0, len(rows.credentials), CHUNK):
        async with store.engine.begin() as conn:
            await conn.execute(insert(credentials), rows.credentials[n : n + CHUNK])
            await conn.execute(insert(connections), rows.connections[n : n + CHUNK])
    if store.dialect == "postgresql":
        async with store.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE zohoauth_credentials"))
            await conn.execute(text("ANALYZE zohoauth_connections"))
    elif store.dialect == "mysql":
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE TABLE zohoauth_credentials, zohoauth_connections"))
    else:
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


# -- databases ---------------------------------------------------------------------------------


async def _server_sql(server_url: str, statement: str) -> None:
    engine = create_async_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(engine: str, workdir: Path) -> AsyncIterator[str]:
    """A migrated, empty database of our own on `engine`; removed afterwards."""
    if engine == "sqlite":
        url = f"sqlite:///{workdir / f'lookup_{secrets.token_hex(4)}.db'}"
        await upgrade_async(url)
        yield url
        return
    env, default = DEFAULT_URLS[engine]
    server_url = os.environ.get(env) or default
    name = f"zohoauth_bench_{secrets.token_hex(6)}"
    await _server_sql(server_url, f"CREATE DATABASE {name}")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade_async(url)
        yield url
    finally:
        force = " WITH (FORCE)" if engine == "postgres" else ""
        await _server_sql(server_url, f"DROP DATABASE IF EXISTS {name}{force}")


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Subject:
    """One filled store of N rows and a TokenManager on it."""

    size: int
    store: SQLTokenStore
    manager: TokenManager
    full: TokenManager | None  # its cache holds all N connections (filled through internals)
    ids: list[str]
    tokens: dict[str, str]
    samples: dict[str, list[float]] = field(default_factory=dict)  # kind -> µs per run

    def add(self, kind: str, value_us: float) -> None:
        self.samples.setdefault(kind, []).append(value_us)


async def time_hits(s: Subject, lookups: int, rng: random.Random) -> float:
    """µs per cache hit: a batch of `lookups` calls on warmed connections, averaged."""
    ids = rng.sample(s.ids, min(lookups, len(s.ids)))
    for cid in ids:  # warm: one cold lookup each
        await s.manager.access_token(cid)
    started = time.perf_counter_ns()
    for cid in ids:
        await s.manager.access_token(cid)
    took = (time.perf_counter_ns() - started) / len(ids) / 1000
    for cid in ids:
        s.manager.forget(cid)
    return took


def fill_cache(manager: TokenManager, keyring: KeyRing, rows: Rows) -> TokenManager | None:
    """Put every row in the manager's in-process cache, as N earlier requests would have.

    Going through `access_token` would take N cold reads (minutes at 100k), so this fills the
    manager's `TokenCache` directly (connection, token and last answer); if it changes, the
    `hit_full` figure is skipped."""
    cache = getattr(manager, "cache", None)
    if not isinstance(cache, TokenCache):
        return None
    at = manager.clock()
    for conn_row, cred_row in zip(rows.connections, rows.credentials, strict=True):
        conn = connection_from_row(conn_row)
        cred = credential_from_row(keyring, cred_row)
        token = cred.tokens.access_token
        assert token is not None
        cache.remember(conn, cache.generation)
        entry = Entry(token, cred.api_domain, cred.tokens.expires_at, cred.version)
        cache.keep(conn.credential, entry, cache.generation)
        answer = AccessToken(
            token, cred.api_domain, cred.tokens.expires_at, conn.id, conn.org_id, conn.dc
        )
        cache.serve(answer, cred.version, at, cache.generation)
    return manager


async def time_full_hits(s: Subject, lookups: int, rng: random.Random) -> float | None:
    """µs per cache hit when the cache holds all N connections."""
    if s.full is None:
        return None
    ids = rng.sample(s.ids, min(lookups, len(s.ids)))
    started = time.perf_counter_ns()
    for cid in ids:
        await s.full.access_token(cid)
    return (time.perf_counter_ns() - started) / len(ids) / 1000


async def time_store(s: Subject, ids: Sequence[str]) -> list[float]:
    out = []
    for cid in ids:
        started = time.perf_counter_ns()
        pair = await s.store.get_connection_with_credential(cid)
        out.append((time.perf_counter_ns() - started) / 1000)
        if pair is None or pair[1].tokens.access_token != s.tokens[cid]:
            raise AssertionError(f"store lookup of {cid} returned the wrong row or token")
    return out


async def time_manager(s: Subject, ids: Sequence[str]) -> list[float]:
    out = []
    for cid in ids:
        s.manager.forget(cid)  # cold again: neither the connection nor its token is cached
        started = time.perf_counter_ns()
        got = await s.manager.access_token(cid)
        out.append((time.perf_counter_ns() - started) / 1000)
        if got.token != s.tokens[cid]:
            raise AssertionError(f"manager lookup of {cid} returned the wrong token")
    s.manager.forget(ids[-1])
    return out


async def bench_engine(
    engine: str, sizes: list[int], runs: int, lookups: int, workdir: Path, keyring: KeyRing
) -> dict[str, Any]:
    rng = random.Random(0x20A0)
    now = time.time()
    subjects: list[Subject] = []
    async with _databases(engine, len(sizes), workdir) as urls:
        result: dict[str, Any] = {"engine": engine, "url": mask_url(urls[0]), "sizes": {}}
        try:
            for size, url in zip(sizes, urls, strict=True):
                started = time.perf_counter()
                rows = make_rows(keyring, 0, size, now)
                made = time.perf_counter() - started
                store = SQLTokenStore(url, keyring)
                await store.open()
                # No re-check of answers older than a second: the warm-up of a hit run may
                # take longer than that on a busy machine, and the hit is what is measured
                # here (a re-check's cost is bench.invalidation's `recheck_us`).
                manager = TokenManager(
                    store,
                    DataCenterRegistry.zoho(),
                    CLIENT,
                    config=ManagerConfig(recheck_interval=float("inf")),
                )
                await fill(store, rows)
                filled = time.perf_counter() - started - made
                # Uses are recorded at most once a minute per connection; off for this one, or
                # warming it would queue N "last used" writes during the measurement.
                warm = TokenManager(
                    store,
                    DataCenterRegistry.zoho(),
                    CLIENT,
                    # Measures the hit itself: no re-check of answers older than a second
                    # (what that costs without a change feed is bench.invalidation's).
                    config=ManagerConfig(
                        use_record_interval=float("inf"), recheck_interval=float("inf")
                    ),
                )
                full = fill_cache(warm, keyring, rows)
                if full is not None:  # then one lookup each, as N earlier requests did
                    for cid in rows.tokens:
                        await full.access_token(cid)
                subjects.append(Subject(size, store, manager, full, list(rows.tokens), rows.tokens))
                print(
                    f"  {engine} N={size:,}: rows encrypted in {made:.1f} s, "
                    f"inserted in {filled:.1f} s",
                    file=sys.stderr,
                )
                result["sizes"][size] = {"encrypt_s": round(made, 2), "insert_s": round(filled, 2)}
                del rows
            for s in subjects:  # warm every database's caches and the code paths
                await time_store(s, rng.sample(s.ids, min(lookups, s.size)))
                await time_manager(s, rng.sample(s.ids, min(lookups, s.size)))
            for n in range(runs):
                for s in subjects:
                    s.add("hit", await time_hits(s, lookups, rng))
                    full_hit = await time_full_hits(s, lookups, rng)
                    if full_hit is not None:
                        s.add("hit_full", full_hit)
                    s.add("store", statistics.median(await time_store(s, _ids(s, rng, lookups))))
                    s.add(
                        "manager",
                        statistics.median(await time_manager(s, _ids(s, rng, lookups))),
                    )
                print(f"  {engine}: run {n + 1}/{runs} done", file=sys.stderr)
        finally:
            for s in subjects:
                await s.manager.aclose()
                if s.full is not None:
                    await s.full.aclose()
                await s.store.close()
    for s in subjects:
        result["sizes"][s.size].update({k: spread(v) for k, v in s.samples.items()})
        result["sizes"][s.size]["runs_us"] = s.samples
    first, last = subjects[0], subjects[-1]
    result["growth"] = {
        kind: statistics.median(last.samples[kind]) / statistics.median(first.samples[kind])
        for kind in ("hit", "hit_full", "store", "manager")
        if kind in first.samples and kind in last.samples
    }
    result["growth_sizes"] = [first.size, last.size]
    return result


def _ids(s: Subject, rng: random.Random, lookups: int) -> list[str]:
    return rng.sample(s.ids, min(lookups, s.size))


@asynccontextmanager
async def _databases(engine: str, count: int, workdir: Path) -> AsyncIterator[list[str]]:
    """`count` scratch databases on `engine` (one per size), all removed afterwards."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(scratch_database(engine, workdir)) for _ in range(count)
        ]


# -- main --------------------------------------------------------------------------------------


def report(results: list[dict[str, Any]]) -> str:
    headers = ["engine", "N", "hit µs", "hit(N) µs", "store µs", "store p10-p90", "manager µs"]
    headers.append("manager p10-p90")
    rows = []
    for r in results:
        for size, m in r["sizes"].items():
            rows.append(
                [
                    r["engine"],
                    int(size),
                    m["hit"]["median"],
                    m["hit_full"]["median"] if "hit_full" in m else float("nan"),
                    m["store"]["median"],
                    f"{m['store']['p10']:.0f}-{m['store']['p90']:.0f}",
                    m["manager"]["median"],
                    f"{m['manager']['p10']:.0f}-{m['manager']['p90']:.0f}",
                ]
            )
    lines = [table(headers, rows), ""]
    for r in results:
        a, b = r["growth_sizes"]
        g = r["growth"]
        full = g.get("hit_full", float("nan"))
        lines.append(
            f"{r['engine']}: growth {b:,}/{a:,} rows = store {g['store']:.2f}x, manager "
            f"{g['manager']:.2f}x, hit {g['hit']:.2f}x, hit(N) {full:.2f}x"
            f" (target < {GROWTH_TARGET}x)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated row counts")
    parser.add_argument("--engines", default="sqlite,postgres,mysql")
    parser.add_argument("--runs", type=int, default=9, help="repeated runs per measurement")
    parser.add_argument("--lookups", type=int, default=300, help="lookups per run")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000; 5 runs of 150")
    parser.add_argument("--json", dest="json_path", help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.lookups = "1000,10000", 5, 150
    sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", *DEFAULT_URLS}
    if unknown or not sizes or min(sizes) < 10 or max(sizes) > 1_000_000:
        parser.error("engines: sqlite, postgres, mysql; sizes between 10 and 1,000,000")
    if not 1 <= args.runs <= 100 or not 1 <= args.lookups <= 10_000:
        parser.error("--runs in [1, 100], --lookups in [1, 10000]")

    info = machine()
    print(
        f"{info['cpus']} x {info['cpu_model']}, load average {info['loadavg_at_start'][0]:.2f}",
        file=sys.stderr,
    )
    keyring = KeyRing.from_config(KeyRing.generate_key())
    results, skipped = [], {}
    with tempfile.TemporaryDirectory(prefix="zohoauth-bench-") as tmp:
        for engine in engines:
            try:
                results.append(
                    asyncio.run(
                        bench_engine(engine, sizes, args.runs, args.lookups, Path(tmp), keyring)
                    )
                )
            except (OSError, ConnectionError, TimeoutError) as exc:
                skipped[engine] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                if "connect" not in str(exc).lower():
                    raise
                skipped[engine] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            if engine in skipped:
                print(f"  {engine}: skipped ({skipped[engine]})", file=sys.stderr)

    if results:
        print(report(results))
        print(
            f"median of {args.runs} runs of {args.lookups} random lookups (a run's figure is its "
            f"median call); hit target < {HIT_TARGET_US:g} µs. Load average now "
            f"{os.getloadavg()[0]:.2f} on {info['cpus']} cores."
        )
    for engine, why in skipped.items():
        print(f"{engine}: skipped — {why}")
    write_json(
        args.json_path,
        {
            "benchmark": "lookup",
            "when": now_iso(),
            "machine": info | {"loadavg_at_end": list(os.getloadavg())},
            "runs": args.runs,
            "lookups_per_run": args.lookups,
            "results": json.loads(json.dumps(results)),
            "skipped": skipped,
        },
    )
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
