"""What "every process forgets an ended connection" costs (issue 12, finding 1), per engine.

    uv run python -m bench.invalidation [--engines sqlite,postgres,mysql] [--quick] [--json FILE]

On a scratch store of `--rows` users per engine (`bench.lookup`'s databases and rows), with
the token manager as an app runs it (`ManagerConfig()` defaults: on PostgreSQL the change feed
is live before anything is timed):

- `hit_us`: `access_token(id)` answered from the cache, bookkeeping included (the feed's
  liveness, or the age of the last confirmation against `recheck_interval`);
- `recheck_us`: the same call when the answer was confirmed longer than `recheck_interval`
  ago and there is no live feed — one status + version read (SQLite and MariaDB, at most once
  per connection per interval);
- `verify_us`: `access_token(id, verify=True)`, what every CRM write now pays first: the cached
  answer plus that read, on every engine;
- `cold_read_us`: the joined connection + credential read a first lookup makes (as
  `bench.lookup`'s `store`), timed in the same runs: on a loaded machine the absolute figures
  move, the ratio of `verify_us` to it much less;
- `forget_ms` (PostgreSQL): from the start of a connection's delete by one token manager to
  another one (its own engine and LISTEN connection, as another process has) having dropped
  it (the delete's own transaction included); `forget_after_commit_ms` from the delete's
  return. Elsewhere the bound is `recheck_interval` for reads and 0 for writes.

Each figure: the median call of a run of `--lookups` calls, as median and p10-p90 of `--runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import NotFoundError
from zohoauth.manager import ManagerConfig, TokenManager
from zohoauth.store.sql import SQLTokenStore

from ._common import spread, table, write_json
from .lookup import CLIENT, fill, make_rows, scratch_database

ENGINES = ("sqlite", "postgres", "mysql")


def _manager(store: SQLTokenStore, **config: Any) -> TokenManager:
    return TokenManager(
        store,
        DataCenterRegistry.zoho(),
        CLIENT,
        config=ManagerConfig(use_record_interval=float("inf"), **config),
    )


async def _feed_live(manager: TokenManager, some_id: str) -> None:
    """On PostgreSQL, wait until the manager's change feed is live (it starts on first use)."""
    await manager.access_token(some_id)
    if not isinstance(manager.store, SQLTokenStore) or manager.store.dialect != "postgresql":
        return
    deadline = time.monotonic() + 15
    while not manager.feed_live:
        if time.monotonic() > deadline:
            raise RuntimeError("the change feed did not come up in 15 s")
        await asyncio.sleep(0.01)


async def _per_call(manager: TokenManager, ids: list[str], **kw: Any) -> float:
    """The median µs of one `access_token` call per id."""
    out = []
    for cid in ids:
        started = time.perf_counter_ns()
        await manager.access_token(cid, **kw)
        out.append((time.perf_counter_ns() - started) / 1000)
    return statistics.median(out)


async def _forget_ms(
    store: SQLTokenStore, url: str, keyring: KeyRing, ids: list[str], after: list[float]
) -> list[float]:
    """ms from a delete's start here to another manager (own engine, own feed) forgetting;
    `after` gets the same from the delete's return."""
    other_store = SQLTokenStore(url, keyring)
    await other_store.open()
    other = _manager(other_store, recheck_interval=3600.0)
    try:
        await _feed_live(other, ids[0])
        out = []
        for cid in ids:
            await other.access_token(cid)
            assert cid in other.cache.served
            started = time.perf_counter()
            await store.delete_connection(cid)
            committed = time.perf_counter()
            while cid in other.cache.served:
                if time.perf_counter() - started > 5:
                    raise RuntimeError("the other manager never forgot the connection")
                await asyncio.sleep(0)
            out.append((time.perf_counter() - started) * 1000)
            after.append((time.perf_counter() - committed) * 1000)
            try:
                await other.access_token(cid)
                raise RuntimeError("a deleted connection was still served")
            except NotFoundError:
                pass
        return out
    finally:
        await other.aclose()
        await other_store.close()


async def bench_engine(
    engine: str, rows_n: int, runs: int, lookups: int, workdir: Path, keyring: KeyRing
) -> dict[str, Any]:
    rng = random.Random(0x1212)
    rows = make_rows(keyring, 0, rows_n, time.time())
    samples: dict[str, list[float]] = {}
    result: dict[str, Any] = {"engine": engine, "rows": rows_n}
    async with scratch_database(engine, workdir) as url:
        store = SQLTokenStore(url, keyring)
        await store.open()
        manager = _manager(store)
        try:
            await fill(store, rows)
            ids = list(rows.tokens)
            await _feed_live(manager, ids[0])
            interval = manager.config.recheck_interval
            for _ in range(runs):
                chosen = rng.sample(ids, min(lookups, len(ids)))
                hits = []
                for cid in chosen:  # each timed right after it was cached or confirmed
                    await manager.access_token(cid)
                    began = time.perf_counter_ns()
                    await manager.access_token(cid)
                    hits.append((time.perf_counter_ns() - began) / 1000)
                samples.setdefault("hit_us", []).append(statistics.median(hits))
                samples.setdefault("verify_us", []).append(
                    await _per_call(manager, chosen, verify=True)
                )
                cold = []
                for cid in chosen:
                    began = time.perf_counter_ns()
                    await store.get_connection_with_credential(cid)
                    cold.append((time.perf_counter_ns() - began) / 1000)
                samples.setdefault("cold_read_us", []).append(statistics.median(cold))
                if not manager.feed_live:  # each answer is now past its interval
                    await asyncio.sleep(interval * 1.05)
                    samples.setdefault("recheck_us", []).append(await _per_call(manager, chosen))
            if engine == "postgres":
                victims = rng.sample(ids, min(30, len(ids)))
                after: list[float] = []
                samples["forget_ms"] = await _forget_ms(store, url, keyring, victims, after)
                samples["forget_after_commit_ms"] = after
        finally:
            await manager.aclose()
            await store.close()
    result.update({k: spread(v) for k, v in samples.items()})
    result["verify_vs_cold_read"] = round(
        statistics.median(samples["verify_us"]) / statistics.median(samples["cold_read_us"]), 2
    )
    result["recheck_interval_s"] = interval
    result["feed"] = engine == "postgres"
    return result


def run(engines: list[str], rows_n: int, runs: int, lookups: int, workdir: Path) -> dict[str, Any]:
    """The workload for `python -m bench`: figures per engine (keys `invalidation.*`)."""
    keyring = KeyRing.from_config(KeyRing.generate_key())
    out: dict[str, Any] = {"engines": {}, "skipped": {}}
    for engine in engines:
        print(f"  invalidation on {engine}", file=sys.stderr)
        try:
            out["engines"][engine] = asyncio.run(
                bench_engine(engine, rows_n, runs, lookups, workdir, keyring)
            )
        except OSError as exc:  # a server that is not there
            out["skipped"][engine] = f"{type(exc).__name__}: {exc}"
    return out


def report(result: dict[str, Any]) -> str:
    def cell(r: dict[str, Any], key: str) -> str:
        s = r.get(key)
        return "-" if s is None else f"{s['median']:.1f} ({s['p10']:.1f}-{s['p90']:.1f})"

    rows = [
        [
            e,
            cell(r, "hit_us"),
            cell(r, "recheck_us"),
            cell(r, "verify_us"),
            cell(r, "cold_read_us"),
            cell(r, "forget_ms"),
        ]
        for e, r in result["engines"].items()
    ]
    headers = ["engine", "hit µs", "recheck µs", "verify µs", "cold read µs", "forget ms"]
    return table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.invalidation", description=__doc__)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="1,000 rows, 3 runs of 100")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.runs, args.lookups = 1000, 3, 100
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="zohoauth-bench-") as tmp:
        result = run(engines, args.rows, args.runs, args.lookups, Path(tmp))
    print(report(result))
    write_json(args.json_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
