"""The token service's token API (`GET /api/v1/connections/{id}/token`) against a direct
library call (`ZohoAuth.access_token`), in the same run, both on a cache hit.

    uv run python -m bench.token_api [--quick] [--json FILE]

(also the `token_api` workload of `python -m bench`, keys `token_api.*` of results.json).

Set-up, as `bench.web_load`: the emulator in a process pinned to core 0, `zohoauth serve` (one
uvicorn worker, SQLite store, default logging, the per-key rate limit off:
ZOHOAUTH_SERVICE_RATE_LIMIT=0) pinned to core 1; `users` users log in through the consent page;
one service key of scope `token` is made on the app's store, as `zohoauth keys service create`
does. Every token is fresh (an hour left), so no call reaches Zoho: this is the cost of the
service around the cache, against the cache itself.

- `api`: `GET /api/v1/connections/{id}/token?min_valid=300` with the bearer key, on the raw
  socket load generator of `bench.web_load` (kept-alive HTTP/1.1, every answer checked for
  status 200 and an `access_token`). Closed loop over one connection per user (throughput, and
  latency at that concurrency), and one connection alone (the latency of one call: the key
  check, its SQL look-up, the audit row queued, the cache hit, the JSON). Each call writes an
  audit row, in batches, as in production.
- `library`: `ZohoAuth.access_token(id)` in this process, on the same store and its in-process
  cache: one task calling in a loop (per-call latency), and one task per user (throughput).

Rounds alternate api / library; the median round is kept with every round's figures. The load
generator and the library calls run in this (unpinned) process, which shares the two cores with
both servers; CPU per process is reported as in `bench.web_load`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zohoauth import ZohoAuth
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.service import TokenService
from zohoauth.store.sql import SQLTokenStore

from ._common import machine, now_iso, percentile, table, write_json
from ._zoho import seed_with_users
from .emulator import _event_loop_factory, emulator_process
from .web_load import _go, _pick, load, log_in, web_app

MARKER = b'"access_token"'
#: users, requests per closed-loop run, calls per one-connection run, rounds, seconds per run
SETTINGS: dict[str, tuple[int, int, int, int, float]] = {
    "quick": (8, 2_000, 300, 2, 10.0),
    "full": (16, 6_000, 1_000, 3, 20.0),
}


async def _make_key(store_url: str, keys: str) -> str:
    async with SQLTokenStore(store_url, KeyRing.from_config(keys)) as store:
        service = TokenService(store, auth=None)
        made = await service.create_key("bench", "token")
        await service.aclose()
        return made.key


def token_request(app_url: str, connection_id: str, key: str) -> bytes:
    host = urlsplit(app_url).netloc
    return (
        f"GET /api/v1/connections/{connection_id}/token?min_valid=300 HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()


async def _library(
    auth: ZohoAuth, ids: list[str], calls: int, concurrency: int, seconds: float
) -> dict[str, Any]:
    """`calls` `access_token` calls over `ids`, from `concurrency` tasks: latency and rate."""
    latencies: list[int] = []
    deadline = time.monotonic() + seconds
    per_task = max(1, calls // concurrency)

    async def worker(n: int) -> None:
        for i in range(per_task):
            if time.monotonic() > deadline:
                return
            cid = ids[(n + i) % len(ids)]
            started = time.perf_counter_ns()
            tok = await auth.access_token(cid)
            latencies.append(time.perf_counter_ns() - started)
            if not tok.token:
                raise RuntimeError("the library answered without a token")

    own, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    wall = time.perf_counter() - started
    lat = sorted(ns / 1e6 for ns in latencies)
    return {
        "calls": len(lat),
        "concurrency": concurrency,
        "seconds": round(wall, 4),
        "rps": len(lat) / wall,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else float("nan"),
        "cpu": (time.process_time() - own) / wall,
        "errors": 0,
    }


def _run_list(coro: Any) -> list[dict[str, Any]]:
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        result: list[dict[str, Any]] = runner.run(coro)
        return result


def run(
    users: int, requests: int, sequential: int, rounds: int, seconds: float, workdir: Path
) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    emu_core, app_core = cores[0], cores[-1]
    seed = seed_with_users(users, sign_in="us")
    seed["config"] = {**seed.get("config", {}), "grant_limits": False}
    emails = [u["email"] for u in seed["users"]][-users:]
    no_limit = {"ZOHOAUTH_SERVICE_RATE_LIMIT": "0"}
    with (
        emulator_process(emu_core, seed) as (emu_url, emu_pid),
        web_app(emu_url, workdir, app_core, extra_env=no_limit) as app,
    ):
        logged = [log_in(app["url"], e) for e in emails]
        ids = [u.connection_id for u in logged]
        key = asyncio.run(_make_key(app["store_url"], app["keys"]))
        many = [token_request(app["url"], cid, key) for cid in ids]
        one = many[:1]
        pids = [emu_pid, app["pid"]]

        async def library_rounds(
            concurrency: int, calls: int, n_rounds: int
        ) -> list[dict[str, Any]]:
            store = SQLTokenStore(app["store_url"], KeyRing.from_config(app["keys"]))
            registry = DataCenterRegistry.load(f"{emu_url}/_emulator/endpoints")
            async with ZohoAuth(client=app["client"], store=store, registry=registry) as auth:
                await _library(auth, ids, len(ids) * 3, 1, seconds)  # warm the cache
                return [
                    await _library(auth, ids, calls, concurrency, seconds) for _ in range(n_rounds)
                ]

        # Warm both paths (the app's cache and the key look-up; the library's cache).
        _go(load(app["url"], many, min(requests, 500), seconds, 0, pids, MARKER))
        api_closed: list[dict[str, Any]] = []
        api_alone: list[dict[str, Any]] = []
        lib_alone: list[dict[str, Any]] = []
        lib_many: list[dict[str, Any]] = []
        for n in range(rounds):
            api_closed.append(_go(load(app["url"], many, requests, seconds, 0, pids, MARKER)))
            api_alone.append(_go(load(app["url"], one, sequential, seconds, 0, pids, MARKER)))
            lib_alone += _run_list(library_rounds(1, sequential * 10, 1))
            lib_many += _run_list(library_rounds(len(ids), requests * 10, 1))
            print(
                f"  token_api {n + 1}/{rounds}: api {api_closed[-1]['rps']:,.0f} req/s "
                f"(p99 {api_closed[-1]['p99_ms']:.2f} ms), alone p99 "
                f"{api_alone[-1]['p99_ms']:.2f} ms; library alone p99 "
                f"{lib_alone[-1]['p99_ms'] * 1000:.1f} µs, {lib_many[-1]['rps']:,.0f} calls/s",
                file=sys.stderr,
            )
    api = _pick(api_closed)
    alone = _pick(api_alone)
    library = _pick(lib_alone)
    library_many = _pick(lib_many, "rps")
    return {
        "users": users,
        "connections": users,
        "requests_per_run": requests,
        "sequential_calls_per_run": sequential,
        "rounds": rounds,
        "emulator_core": emu_core,
        "app_core": app_core,
        "cpu_servers_order": ["emulator", "web app"],
        "api": {"closed_loop": api, "one_connection": alone},
        "library": {"one_task": library, "one_task_per_user": library_many},
        "runs": {
            "api_closed_loop": api_closed,
            "api_one_connection": api_alone,
            "library_one_task": lib_alone,
            "library_one_task_per_user": lib_many,
        },
        # The headline figures (what the issue asks: throughput and p99 on a cache hit).
        "api_rps": api["rps"],
        "api_p99_ms": api["p99_ms"],
        "api_one_connection_p50_ms": alone["p50_ms"],
        "api_one_connection_p99_ms": alone["p99_ms"],
        "library_calls_per_s": library_many["rps"],
        "library_p50_us": library["p50_ms"] * 1000,
        "library_p99_us": library["p99_ms"] * 1000,
        "p99_vs_library": alone["p99_ms"] / library["p99_ms"],
        "throughput_vs_library": api["rps"] / library_many["rps"],
        "errors": api["errors"] + alone["errors"],
    }


def rows(result: dict[str, Any]) -> list[list[Any]]:
    """The table printed by `python -m bench.token_api` (and `python -m bench`)."""
    api, lib = result["api"], result["library"]
    users = result["users"]
    out = []
    for label, load_, r, unit in (
        ("token API, closed loop", f"{users} connections", api["closed_loop"], "ms"),
        ("token API, one connection", "1 connection", api["one_connection"], "ms"),
        ("library access_token, one task", "1 task", lib["one_task"], "µs"),
        ("library access_token, task per user", f"{users} tasks", lib["one_task_per_user"], "µs"),
    ):
        scale = 1000 if unit == "µs" else 1
        out.append(
            [
                label,
                load_,
                r["rps"],
                f"{r['p50_ms'] * scale:.2f} {unit}",
                f"{r['p99_ms'] * scale:.2f} {unit}",
                r["errors"],
            ]
        )
    return out


HEADERS = ["path", "load", "calls/s", "p50", "p99", "errors"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.token_api", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer users and rounds")
    parser.add_argument("--json", dest="json_path", help="also write the results here")
    args = parser.parse_args(argv)
    s = SETTINGS["quick" if args.quick else "full"]
    with tempfile.TemporaryDirectory(prefix="zohoauth-bench-") as tmp:
        result = run(*s, Path(tmp))
    print(table(HEADERS, rows(result)))
    print(
        f"\ntoken API p99 (one connection) / library p99: {result['p99_vs_library']:.0f}x; "
        f"API throughput / library: {result['throughput_vs_library']:.3f}"
    )
    write_json(
        args.json_path,
        {"when": now_iso(), "machine": machine(), "settings": s, "token_api": result},
    )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
