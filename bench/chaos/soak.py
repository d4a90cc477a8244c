"""The soak run: moderate load for a long time, watching the server for leaks.

    uv run python -m bench soak [--minutes 30] [--users 40] [--think 0.5] [--json FILE]

The same stack as the chaos run (`Stack`: PostgreSQL of its own, the emulator, `zohoauth serve
--workers 2`) and the same users and load (`Load`: list / get / search / create), without
faults. Every `refresh_every` seconds an hour passes at Zoho, so every user's token is refreshed
(lease, store write) again and again through the run, not just once. Every `interval` seconds
it samples, for the supervisor and each worker: resident memory (VmRSS), open file descriptors,
threads; and the store's database connections (`pg_stat_activity`); plus the answers of that
interval.

Pass criteria, comparing the first third of the samples after the warm-up with the last third:
resident memory of the workers grows less than 10 % (medians); open descriptors and database
connections do not grow — the late median stays within two of the early maximum, since both
jitter with the load (client connections come and go) while a leak climbs past any early peak —
and no request fails. The slope per hour of each count is reported alongside.
"""

from __future__ import annotations

import asyncio
import collections
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._common import machine
from . import users as u
from . import verdict
from .stack import Stack

HOUR = 3700
RSS_GROWTH_LIMIT = 0.10
JITTER = 2  # descriptors or connections caught opening or closing at a sampling instant


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


def slope(samples: list[dict[str, Any]], key: str) -> float:
    """Least-squares slope of `key` over the samples' time (units per second)."""
    ts = [s["t"] for s in samples]
    ys = [float(s[key]) for s in samples]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    var = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var if var else 0.0


def judge(samples: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    """The pass criteria over the samples taken after `warmup` seconds."""
    kept = [s for s in samples if s["t"] >= warmup]
    if len(kept) < 6:
        return {"pass": False, "why": f"only {len(kept)} samples after the warm-up; run longer"}
    third = len(kept) // 3
    first, last = kept[:third], kept[-third:]

    def worker_rss(window: list[dict[str, Any]]) -> float:
        return statistics.median(s["worker_rss_mb"] for s in window)

    def spread(key: str) -> dict[str, float]:
        """The early maximum against the late median: a count that only jitters (a client
        connection opened or closed) stays under its early peak; one that leaks climbs past."""
        return {
            "first_max": max(s[key] for s in first),
            "last_median": statistics.median(s[key] for s in last),
            "slope_per_hour": round(slope(kept, key) * 3600, 2),
        }

    rss_growth = worker_rss(last) / worker_rss(first) - 1
    fds, conns = spread("fds"), spread("db_connections")
    failed = sum(s["failed"] for s in samples)
    checks = {
        "worker_rss_growth": round(rss_growth, 4),
        "worker_rss_growth_ok": rss_growth < RSS_GROWTH_LIMIT,
        "fds": fds,
        "fds_ok": fds["last_median"] <= fds["first_max"] + JITTER,
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
) -> list[dict[str, Any]]:
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
    try:
        while time.monotonic() - started < seconds and not task.done():
            await asyncio.sleep(interval)
            now = time.monotonic()
            if now >= next_refresh:
                await asyncio.to_thread(stack.admin, "/_emulator/clock", {"advance_seconds": HOUR})
                next_refresh = now + refresh_every
            batch, load.samples[:] = list(load.samples), []
            procs = [p for p in map(process_sample, stack.server_pids()) if p is not None]
            kinds = collections.Counter(s.kind for s in batch if s.verdict != verdict.OK)
            sample = {
                "t": round(now - started, 1),
                "requests": len(batch),
                "failed": sum(kinds.values()),
                "errors": dict(kinds),
                "processes": procs,
                "worker_rss_mb": round(sum(p["rss_mb"] for p in procs if p["role"] == "worker"), 1),
                "rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
                "fds": sum(p["fds"] for p in procs),
                "db_connections": await asyncio.to_thread(stack.db_connections),
            }
            samples.append(sample)
            say(
                f"  {sample['t']:7.0f} s  {sample['requests'] / interval:6.1f} req/s  "
                f"workers {sample['worker_rss_mb']:7.1f} MB  fds {sample['fds']:4d}  "
                f"db {sample['db_connections']:3d}  failed {sample['failed']}"
            )
    finally:
        load.stop()
        await asyncio.wait_for(task, 60)
        for person in people:
            await person.http.aclose()
    return samples


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
    with Stack(users) as stack:
        say(f"soak: {users} users for {minutes:g} min, a sample every {interval:g} s")
        samples = asyncio.run(
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
        "criteria": judge(samples, warmup),
        "samples": samples,
        "postgres": postgres,
        "machine": info | {"loadavg_at_end": list(os.getloadavg())},
    }
