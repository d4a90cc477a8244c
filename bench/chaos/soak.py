"""The soak run: moderate load for a long time, watching the server for leaks.

    uv run python -m bench soak [--minutes 30] [--users 40] [--think 0.5] [--json FILE]

The same stack as the chaos run (`Stack`: PostgreSQL of its own, the emulator, `zohoauth serve
--workers 2`) and the same users and load (`Load`: list / get / search / create), without
faults. Every `refresh_every` seconds an hour passes at Zoho, so every user's token is refreshed
(lease, store write) again and again through the run, not just once. Every `interval` seconds
it samples, for the supervisor and each worker: resident memory (VmRSS), open file descriptors,
threads; and the store's database connections (`pg_stat_activity`); plus the answers of that
interval.

Each worker's descriptors are also sorted by kind (`fds.py`: connections to the emulator, to
PostgreSQL, from the load generator; listening sockets, pipes, files, ...; TCP states).

Pass criteria, comparing the first third of the samples after the warm-up with the last third:

- resident memory of the workers grows less than 10 % (medians);
- descriptors, judged by kind, because the kinds behave differently:
  - the pools are bounded, not flat: aiohttp's pool to the emulator (one host and port serves
    every DC) reuses its idle connections first in, first out, so while requests keep coming
    every pooled connection stays warm and the pool keeps the largest number of concurrent
    calls it has seen (a slow minute on a busy machine adds a step); it never exceeds
    `ZohoHTTP`'s `limit_per_host` (and `limit`), and idle connections close after
    `keepalive_timeout`. The store's pool holds at most `pool_size + max_overflow`. So each
    worker's emulator and PostgreSQL connections must stay within those bounds;
  - the load generator's connections (one kept-alive connection per user) must stay within
    `users` + 2 in all;
  - no TCP connection may sit in CLOSE_WAIT (the peer closed it and we never did: the classic
    leak) beyond jitter;
  - every other kind (listening sockets, pipes, files, event loops, unix sockets, other
    sockets) must not grow: the late median stays within two of the early maximum;
  the total count's early maximum against its late median is still reported, for the record;
- at rest — `REST_SECONDS` after the load stopped and the users closed their connections —
  the workers hold no connection to the emulator or from a user and none in CLOSE_WAIT (at
  most two, caught closing): a pool lets its idle connections go, a leak keeps them;
- database connections do not grow (`pg_stat_activity`: the late median stays within two of
  the early maximum, since connections jitter with the load while a leak climbs past any early
  peak);
- no request fails.

The slope per hour of each count is reported alongside.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zohoauth import ZohoHTTP
from zohoauth.store.sql import SQLTokenStore

from .._common import machine
from . import fds as fdkinds
from . import users as u
from . import verdict
from .stack import Stack

HOUR = 3700
RSS_GROWTH_LIMIT = 0.10
JITTER = 2  # descriptors or connections caught opening or closing at a sampling instant
#: How long after the load stops the "at rest" sample is taken: the pool to Zoho closes a
#: connection idle for `keepalive_timeout` (4 s) on a timer of the same period.
REST_SECONDS = 3 * ZohoHTTP().keepalive_timeout + 3


def process_sample(pid: int) -> dict[str, Any] | None:
    """RSS (MB), open fds and threads of `pid`, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "pid": pid,
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "fds": fds,
        "threads": int(fields["Threads"]),
        "role": "worker"
        if "spawn_main" in cmdline
        else "helper"
        if "multiprocessing" in cmdline
        else "supervisor",
    }


#: Kinds of descriptors that come and go with the load, within a bound (see the module doc).
POOLED = ("emulator", "postgres", "client")


def pool_bounds(users: int) -> dict[str, int]:
    """The most connections of each pooled kind the server may hold: to the emulator and to
    PostgreSQL per worker (from the defaults `serve` builds them with), from the load
    generator in all (one kept-alive connection per user)."""
    http = ZohoHTTP()  # as `wiring.zoho_http` builds the server's: the defaults
    store = inspect.signature(SQLTokenStore).parameters
    return {
        # every DC of the emulator is one host and port: one per-host pool
        "emulator": min(http.limit, http.limit_per_host),
        "postgres": store["pool_size"].default + store["max_overflow"].default,
        "client": users + JITTER,
    }


def total_kinds(breakdowns: Any) -> collections.Counter[str]:
    """The descriptor kinds of several processes, added up."""
    total: collections.Counter[str] = collections.Counter()
    for found in breakdowns:
        total.update(found.get("kinds", {}))
    return total


def slope(samples: list[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
    """Least-squares slope of `value` over the samples' time (units per second)."""
    ts = [s["t"] for s in samples]
    ys = [float(value(s)) for s in samples]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    var = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var if var else 0.0


def spread(
    kept: list[dict[str, Any]],
    first: list[dict[str, Any]],
    last: list[dict[str, Any]],
    value: Callable[[dict[str, Any]], float],
) -> dict[str, float]:
    """The early maximum against the late median: a count that only jitters (a client
    connection opened or closed) stays under its early peak; one that leaks climbs past."""
    return {
        "first_max": max(value(s) for s in first),
        "last_median": statistics.median(value(s) for s in last),
        "max": max(value(s) for s in kept),
        "slope_per_hour": round(slope(kept, value) * 3600, 2),
    }  # fmt: skip


def _workers(sample: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in sample["processes"] if p["role"] == "worker"]


def _kind(sample: dict[str, Any], kind: str, pid: int | None = None) -> int:
    """How many descriptors of `kind` the workers (or worker `pid`) held."""
    return sum(
        p.get("fd_kinds", {}).get("kinds", {}).get(kind, 0)
        for p in _workers(sample)
        if pid is None or p["pid"] == pid
    )


def _close_wait(sample: dict[str, Any]) -> int:
    return sum(
        p.get("fd_kinds", {}).get("tcp_states", {}).get("CLOSE_WAIT", 0) for p in _workers(sample)
    )


def judge_descriptors(
    kept: list[dict[str, Any]],
    first: list[dict[str, Any]],
    last: list[dict[str, Any]],
    bounds: dict[str, int],
) -> dict[str, Any]:
    """The descriptor criteria by kind (see the module doc): pools within their bounds, no
    CLOSE_WAIT, every other kind flat."""
    found: dict[str, Any] = {}
    ok = True
    pids = sorted({p["pid"] for s in kept for p in _workers(s)})
    for kind in ("emulator", "postgres"):
        per_worker = {
            str(pid): spread(kept, first, last, functools.partial(_kind, kind=kind, pid=pid))
            for pid in pids
        }
        top = max((w["max"] for w in per_worker.values()), default=0)
        found[kind] = {"bound_per_worker": bounds[kind], "workers": per_worker}
        found[f"{kind}_ok"] = top <= bounds[kind]
        ok = ok and found[f"{kind}_ok"]
    client = spread(kept, first, last, lambda s: _kind(s, "client"))
    found["client"] = client | {"bound": bounds["client"]}
    found["client_ok"] = client["max"] <= bounds["client"]
    close_wait = spread(kept, first, last, _close_wait)
    found["close_wait"] = close_wait
    found["close_wait_ok"] = close_wait["last_median"] <= JITTER
    fixed = sorted(
        {k for s in kept for p in _workers(s) for k in p.get("fd_kinds", {}).get("kinds", {})}
        - set(POOLED)
    )
    found["fixed"] = {k: spread(kept, first, last, functools.partial(_kind, kind=k)) for k in fixed}
    found["fixed_ok"] = all(
        v["last_median"] <= v["first_max"] + JITTER for v in found["fixed"].values()
    )
    found["ok"] = ok and all(found[f"{k}_ok"] for k in ("client", "close_wait", "fixed"))
    return found


def judge(
    samples: list[dict[str, Any]],
    warmup: float,
    bounds: dict[str, int] | None = None,
    at_rest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The pass criteria over the samples taken after `warmup` seconds, and the sample taken at
    rest after the load. Without `bounds` or samples sorted by kind (an older run's),
    descriptors fall back to the total count's rule."""
    kept = [s for s in samples if s["t"] >= warmup]
    if len(kept) < 6:
        return {"pass": False, "why": f"only {len(kept)} samples after the warm-up; run longer"}
    third = len(kept) // 3
    first, last = kept[:third], kept[-third:]

    def worker_rss(window: list[dict[str, Any]]) -> float:
        return float(statistics.median(s["worker_rss_mb"] for s in window))

    rss_growth = worker_rss(last) / worker_rss(first) - 1
    fds = spread(kept, first, last, lambda s: s["fds"])
    conns = spread(kept, first, last, lambda s: s["db_connections"])
    total_flat = fds["last_median"] <= fds["first_max"] + JITTER
    by_kind = bounds is not None and all(
        "fd_kinds" in p for s in kept for p in _workers(s)
    )  # fmt: skip
    failed = sum(s["failed"] for s in samples)
    checks: dict[str, Any] = {
        "worker_rss_growth": round(rss_growth, 4),
        "worker_rss_growth_ok": rss_growth < RSS_GROWTH_LIMIT,
        "fds": fds,
        # for the record once descriptors are judged by kind: pools step up to their bounds
        "fds_total_within_early_peak": total_flat,
    }
    if by_kind:
        assert bounds is not None
        checks["fd_kinds"] = judge_descriptors(kept, first, last, bounds)
        checks["fds_ok"] = checks["fd_kinds"]["ok"]
    else:
        checks["fds_ok"] = total_flat
    if by_kind and at_rest is not None:
        # a pool lets its connections go once idle; leaked ones stay (or sit in CLOSE_WAIT)
        left = {k: _kind(at_rest, k) for k in ("emulator", "client")}
        left["close_wait"] = _close_wait(at_rest)
        checks["at_rest"] = left
        checks["at_rest_ok"] = all(v <= JITTER for v in left.values())
    checks |= {
        "db_connections": conns,
        "db_connections_ok": conns["last_median"] <= conns["first_max"] + JITTER,
        "failed_requests": failed,
        "failed_ok": failed == 0,
    }
    checks["pass"] = all(v for k, v in checks.items() if k.endswith("_ok"))
    return checks


async def soak(
    stack: Stack,
    *,
    minutes: float,
    users: int,
    think: float,
    interval: float,
    refresh_every: float,
    say: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    people = [u.new_user(i, e, stack.url, 30.0) for i, e in enumerate(stack.emails[:users])]
    await u.log_in_all(people)
    seconds = minutes * 60
    load = u.Load(
        people, lanes=1, think=think, max_requests=int(seconds * users / think * 2) + 1000,
        seconds=seconds + 60,
    )  # fmt: skip
    load.phase = "soak"
    task = asyncio.create_task(load.run())
    started = time.monotonic()
    next_refresh = started + refresh_every
    samples: list[dict[str, Any]] = []
    ports = stack.ports()
    try:
        while time.monotonic() - started < seconds and not task.done():
            await asyncio.sleep(interval)
            now = time.monotonic()
            if now >= next_refresh:
                await asyncio.to_thread(stack.admin, "/_emulator/clock", {"advance_seconds": HOUR})
                next_refresh = now + refresh_every
            batch, load.samples[:] = list(load.samples), []
            errors = collections.Counter(s.kind for s in batch if s.verdict != verdict.OK)
            sample: dict[str, Any] = {
                "t": round(now - started, 1),
                "requests": len(batch),
                "failed": sum(errors.values()),
                "errors": dict(errors),
            }
            sample |= await server_sample(stack, ports)
            samples.append(sample)
            say(
                f"  {sample['t']:7.0f} s  {sample['requests'] / interval:6.1f} req/s  "
                f"workers {sample['worker_rss_mb']:7.1f} MB  fds {sample['fds']:4d}  "
                f"db {sample['db_connections']:3d}  failed {sample['failed']}  "
                + " ".join(
                    f"{p['role'][0]}{p['pid']}:" + ",".join(
                        f"{k}={v}" for k, v in p["fd_kinds"].get("kinds", {}).items()
                    )
                    for p in sample["processes"] if p["role"] == "worker"
                )
            )  # fmt: skip
    finally:
        load.stop()
        await asyncio.wait_for(task, 60)
        for person in people:
            await person.http.aclose()
    # at rest: the users are gone; pools let idle connections go, a leak keeps them
    await asyncio.sleep(REST_SECONDS)
    at_rest = {"t": round(time.monotonic() - started, 1)} | await server_sample(stack, ports)
    say(f"  at rest after {REST_SECONDS:g} s: fds {at_rest['fds']}  {at_rest['fd_kinds']}")
    return samples, at_rest


async def server_sample(stack: Stack, ports: fdkinds.Ports) -> dict[str, Any]:
    """Memory, descriptors (by kind) and threads of the server's processes; store connections."""
    procs = [p for p in map(process_sample, stack.server_pids()) if p is not None]
    kinds = fdkinds.breakdown([p["pid"] for p in procs], ports)
    for p in procs:
        p["fd_kinds"] = kinds.get(p["pid"], {})
    return {
        "processes": procs,
        "worker_rss_mb": round(sum(p["rss_mb"] for p in procs if p["role"] == "worker"), 1),
        "rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
        "fds": sum(p["fds"] for p in procs),
        "fd_kinds": dict(total_kinds(kinds.values())),
        "db_connections": await asyncio.to_thread(stack.db_connections),
    }


def run(
    minutes: float = 30,
    users: int = 40,
    think: float = 0.5,
    interval: float | None = None,
    refresh_every: float = 120,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    interval = interval or max(5.0, min(30.0, minutes * 60 / 60))
    warmup = min(120.0, minutes * 60 / 5)
    info = machine()
    bounds = pool_bounds(users)
    with Stack(users) as stack:
        say(f"soak: {users} users for {minutes:g} min, a sample every {interval:g} s")
        samples, at_rest = asyncio.run(
            soak(stack, minutes=minutes, users=users, think=think, interval=interval,
                 refresh_every=refresh_every, say=say)
        )  # fmt: skip
        refreshes = stack.admin("/_emulator/stats")["token_requests"]["refresh_token"]
        assert stack.pg is not None
        postgres = stack.pg.mode
    return {
        "minutes": minutes,
        "users": users,
        "think_seconds": think,
        "interval_seconds": interval,
        "warmup_seconds": warmup,
        "refresh_every_seconds": refresh_every,
        "refresh_requests": refreshes,
        "requests": sum(s["requests"] for s in samples),
        "pool_bounds": bounds,
        "criteria": judge(samples, warmup, bounds, at_rest),
        "samples": samples,
        "at_rest": at_rest,
        "postgres": postgres,
        "machine": info | {"loadavg_at_end": list(os.getloadavg())},
    }
