"""Refresh storm: one expired credential, many concurrent callers, each making a CRM read.

zohoauth: `processes` x `callers` (default 4 x 50) on one shared store (SQLite file,
PostgreSQL, MariaDB). The user logs in once, then an hour passes at "Zoho" (the emulator's
virtual clock) and for the workers (their clock is offset by the same hour), and every caller
of every process, released together by a barrier, reads one Lead through `auth.crm(...)`.

The official SDK: one process (its `Initializer` is process-global) with the same number of
threads, sharing one token in a FileStore CSV, the way a multi-threaded app uses it. The
emulator's clock moves an hour on, the CSV's `expiry_time` is set in the past (what the SDK
would see an hour later, since it compares its clock with that column), then all threads,
released by a barrier, call `RecordOperations("Leads").get_record(id)`.

Counted for both: refresh requests at the emulator (`GET /_emulator/stats`), failed reads, and
the stored tokens afterwards. zohoauth: the credential decrypts, is one row at version + 1 with
its lease released, and its token is the one every caller got and is live at Zoho. The SDK's
CSV: rows that do not parse as its 10 columns with well-formed tokens, rows beyond the one it
should hold (duplicates), and whether the stored token is live at Zoho.

The emulator keeps Zoho's limits (10 refreshes per refresh token per 10 minutes, then "Access
Denied"; 15 live access tokens per refresh token): what a storm meets at the real Zoho.
"""

from __future__ import annotations

import asyncio
import csv
import multiprocessing
import re
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from zohoauth.crypto import KeyRing
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.store.schema import credentials
from zohoauth.store.sql import SQLTokenStore

from ._zoho import (
    HOUR,
    SDK_CSV_HEADER,
    SDK_PRELUDE,
    LineChild,
    advance_clock,
    login,
    make_auth,
    refreshes,
    register_client,
    self_client_grant,
)
from .emulator import emulator_process
from .lookup import scratch_database

TOKEN = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
LEAD_FIELDS = ["Last_Name", "Email"]


# -- zohoauth ----------------------------------------------------------------------------------


def storm_worker(
    url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    connection_id: str,
    lead_id: str,
    callers: int,
    clock_offset: float,
    barrier: Any,
    results: Any,
) -> None:
    """One process: `callers` concurrent CRM reads after every process reached the barrier."""

    async def run() -> dict[str, Any]:
        auth = make_auth(
            url,
            store_url,
            keys,
            client,
            clock=lambda: time.time() + clock_offset,
            config=ManagerConfig(poll_interval=0.02),
        )
        async with auth:
            await auth.connection(connection_id)  # the process has served this user before
            barrier.wait(timeout=60)

            async def call() -> str:
                await auth.crm(connection_id).get_record("Leads", lead_id, LEAD_FIELDS)
                return (await auth.access_token(connection_id)).token

            got = await asyncio.gather(*(call() for _ in range(callers)), return_exceptions=True)
            return {
                "tokens": sorted({g for g in got if isinstance(g, str)}),
                "ok": sum(isinstance(g, str) for g in got),
                "errors": [repr(g)[:200] for g in got if not isinstance(g, str)][:3],
                "refresh_requests": auth.manager.refresh_count,
            }

    try:
        results.put(("ok", asyncio.run(run())))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", repr(exc)[:500]))


def first_lead(url: str, token: str, api_domain: str) -> str:
    body = httpx.get(
        f"{api_domain}/crm/v8/Leads",
        params={"fields": "Last_Name", "per_page": 1},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    ).json()
    return str(body["data"][0]["id"])


def live(api_domain: str, token: str | None, org_id: str | None = None) -> bool:
    if not token:
        return False
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    if org_id:
        headers["X-CRM-ORG"] = org_id
    return httpx.get(f"{api_domain}/crm/v8/org", headers=headers, timeout=10).status_code == 200


async def _login_and_lead(
    url: str, store_url: str, keys: str, client: OAuthClient
) -> tuple[str, str, Any, int]:
    async with make_auth(url, store_url, keys, client) as auth:
        cid = await login(auth, "ava@zylker.com")
        tok = await auth.access_token(cid)
        conn = await auth.connection(cid)
        cred = await auth.store.get_credential(conn.credential)
        assert cred is not None
        return cid, first_lead(url, tok.token, tok.api_domain), conn.credential, cred.version


async def _stored(store_url: str, keys: str, key: Any) -> tuple[Any, list[Any]]:
    """The credential (decrypted) and every credential row's lease owner."""
    store = SQLTokenStore(store_url, KeyRing.from_config(keys))
    await store.open()
    try:
        async with store.engine.connect() as conn:
            leases = list((await conn.execute(select(credentials.c.lease_owner))).scalars())
        return await store.get_credential(key), leases
    finally:
        await store.close()


def zohoauth_storm(
    url: str, store_url: str, processes: int, callers: int, engine: str
) -> dict[str, Any]:
    client = register_client(url)
    keys = KeyRing.generate_key()
    cid, lead_id, key, version = asyncio.run(_login_and_lead(url, store_url, keys, client))
    advance_clock(url, HOUR + 1)
    before = refreshes(url)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(
            target=storm_worker,
            args=(url, store_url, keys, client, cid, lead_id, callers, HOUR + 1, barrier, results),
        )
        for _ in range(processes)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    outcomes = []
    try:
        for _ in procs:
            outcomes.append(results.get(timeout=180))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    took = time.perf_counter() - started
    sent = refreshes(url) - before
    failed_procs = [o[1] for o in outcomes if o[0] != "ok"]
    ok = [o[1] for o in outcomes if o[0] == "ok"]
    tokens = {t for o in ok for t in o["tokens"]}
    cred, leases = asyncio.run(_stored(store_url, keys, key))
    stored = cred.tokens.access_token if cred is not None else None
    return {
        "engine": engine,
        "processes": processes,
        "callers_per_process": callers,
        "callers": processes * callers,
        "refresh_requests": sent,
        "reads_ok": sum(o["ok"] for o in ok),
        "reads_failed": processes * callers - sum(o["ok"] for o in ok),
        "errors": [e for o in ok for e in o["errors"]][:3] + failed_procs[:3],
        "distinct_tokens_served": len(tokens),
        "stored": {
            "rows": len(leases),
            "decrypts": cred is not None,
            "version_step": (cred.version - version) if cred is not None else None,
            "lease_released": leases == [None],
            "token_is_the_served_one": tokens == {stored},
            "token_live_at_zoho": live(cred.api_domain, stored) if cred is not None else False,
        },
        "corrupted_rows": 0 if cred is not None and tokens == {stored} and len(leases) == 1 else 1,
        "seconds": round(took, 2),
    }


# -- the official SDK --------------------------------------------------------------------------

SDK_STORM = (
    SDK_PRELUDE
    + r"""
read_lead()  # the first call: field metadata fetched, token found by id from now on
print(json.dumps({"ready": True}), flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("parent did not say go")
threads = int(job["threads"])
barrier = threading.Barrier(threads)
outcomes = []
def worker():
    try:
        barrier.wait(timeout=60)
        read_lead()
        outcomes.append("ok")
    except Exception as exc:
        outcomes.append(type(exc).__name__ + ": " + str(getattr(exc, "code", "") or exc)[:150])
started = time.perf_counter()
pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join(timeout=120)
errors = [o for o in outcomes if o != "ok"]
print(json.dumps({
    "ok": outcomes.count("ok"), "failed": threads - outcomes.count("ok"),
    "errors": sorted(set(errors))[:5], "hung": sum(t.is_alive() for t in pool),
    "seconds": round(time.perf_counter() - started, 2),
}), flush=True)
"""
)


def expire_sdk_csv(path: Path) -> None:
    """Every stored expiry_time (epoch ms) in the past: what the SDK sees an hour later."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    past = str(int((time.time() - 60) * 1000))
    for row in rows[1:]:
        if len(row) > 7:
            row[7] = past
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    tmp.replace(path)


def check_sdk_csv(path: Path, api_domain: str) -> dict[str, Any]:
    """What the storm left in the SDK's token file."""
    raw = path.read_text(errors="replace")
    try:
        rows = [r for r in csv.reader(raw.splitlines()) if r]
    except csv.Error as exc:
        return {"parses": False, "error": str(exc), "corrupted_rows": len(raw.splitlines())}
    header_ok = bool(rows) and rows[0] == SDK_CSV_HEADER
    body = rows[1:] if header_ok else rows
    malformed = [
        r
        for r in body
        if len(r) != len(SDK_CSV_HEADER)
        or not r[0].isdigit()
        or not TOKEN.match(r[4])
        or not TOKEN.match(r[5])
        or not r[7].isdigit()
    ]
    good = [r for r in body if r not in malformed]
    duplicates = max(0, len(good) - 1)
    stored = good[-1][5] if good else None
    return {
        "parses": True,
        "header_ok": header_ok,
        "rows": len(body),
        "malformed_rows": len(malformed),
        "duplicate_rows": duplicates,
        "corrupted_rows": len(malformed) + duplicates + (0 if header_ok else 1),
        "token_live_at_zoho": live(api_domain, stored),
        "bytes": len(raw),
    }


def sdk_storm(url: str, threads: int, workdir: Path, core: int | None) -> dict[str, Any]:
    client = register_client(url)
    grant = self_client_grant(url, client, "ava@zylker.com")
    run_dir = workdir / f"sdk_storm_{secrets.token_hex(3)}"
    run_dir.mkdir()
    tokens_csv = run_dir / "tokens.csv"
    tok = httpx.post(  # a token of our own, only to find a Lead id
        grant["token_url"],
        data={
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "code": self_client_grant(url, client, "ava@zylker.com")["code"],
        },
        timeout=10,
    ).json()
    lead_id = first_lead(url, tok["access_token"], grant["api_base"])
    job = {
        **grant,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "csv": str(tokens_csv),
        "workdir": str(run_dir),
        "lead_id": lead_id,
        "threads": threads,
    }
    root = Path(__file__).resolve().parent.parent
    with LineChild(SDK_STORM, job, cwd=root, core=core) as child:
        child.line(timeout=120)  # ready
        advance_clock(url, HOUR + 1)
        expire_sdk_csv(tokens_csv)
        before = refreshes(url)
        child.send("go")
        outcome = child.line(timeout=300)
    sent = refreshes(url) - before
    file = check_sdk_csv(tokens_csv, grant["api_base"])
    return {
        "threads": threads,
        "refresh_requests": sent,
        "reads_ok": outcome["ok"],
        "reads_failed": outcome["failed"],
        "hung_threads": outcome["hung"],
        "errors": outcome["errors"],
        "csv": file,
        "corrupted_rows": file["corrupted_rows"],
        "seconds": outcome["seconds"],
    }


# -- the workload ------------------------------------------------------------------------------


def set_token_latency(url: str, latency_ms: float) -> None:
    """Make every DC's token endpoint answer `latency_ms` late (0: as fast as it can)."""
    httpx.post(
        url + "/_emulator/faults",
        json={"target": "accounts", "dc": None, "latency_ms": latency_ms},
        timeout=10,
    ).raise_for_status()


def run(
    engines: list[str],
    reps: int,
    sdk_threads: int,
    workdir: Path,
    sdk_skip: str | None,
    latencies: list[float] = (0,),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The storm on every engine `reps` times and the SDK's `reps` times, once per token
    endpoint latency in `latencies` (ms; the emulator answers in ~1 ms, Zoho in ~100+ ms);
    the extra latencies run on the first engine only."""
    zoho: list[dict[str, Any]] = []
    sdk: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    with emulator_process(0) as (url, _pid):
        for latency in latencies:
            set_token_latency(url, latency)
            variant = f"token endpoint +{latency:g} ms" if latency else ""
            for engine in engines if not latency else engines[:1]:
                if engine in skipped:
                    continue
                for n in range(reps):
                    try:
                        result = asyncio.run(_zoho_storm_on(url, engine, workdir))
                    except _Unreachable as exc:
                        skipped[engine] = str(exc)
                        break
                    result["variant"] = variant
                    result["token_latency_ms"] = latency
                    zoho.append(result)
                    print(
                        f"  storm zohoauth {engine} {variant} {n + 1}/{reps}: "
                        f"{result['refresh_requests']} refresh request(s), "
                        f"{result['reads_failed']} failed reads",
                        file=sys.stderr,
                    )
            if sdk_skip is not None:
                skipped["sdk"] = sdk_skip
                continue
            for n in range(reps):
                result = sdk_storm(url, sdk_threads, workdir, None)
                result["variant"] = variant
                result["token_latency_ms"] = latency
                sdk.append(result)
                print(
                    f"  storm sdk {variant} {n + 1}: {result['refresh_requests']} refresh "
                    f"requests, {result['reads_failed']} failed reads, "
                    f"{result['corrupted_rows']} corrupted rows",
                    file=sys.stderr,
                )
        set_token_latency(url, 0)
    plain = [r for r in sdk if not r["token_latency_ms"]]
    return {
        "zohoauth": zoho,
        "sdk": sdk,
        "skipped": skipped,
        "callers": 4 * 50,
        "sdk_threads": sdk_threads,
        "zohoauth_refresh_requests": max((r["refresh_requests"] for r in zoho), default=None),
        "sdk_refresh_requests": _median([r["refresh_requests"] for r in plain]),
        "sdk_refresh_requests_range": _span([r["refresh_requests"] for r in plain]),
        "sdk_corrupted_rows": _median([r["corrupted_rows"] for r in plain]),
        "sdk_corrupted_rows_range": _span([r["corrupted_rows"] for r in plain]),
        "sdk_with_token_latency": {
            "refresh_requests": _median(
                [r["refresh_requests"] for r in sdk if r["token_latency_ms"]]
            ),
            "corrupted_rows": _median([r["corrupted_rows"] for r in sdk if r["token_latency_ms"]]),
            "failed_reads": _median([r["reads_failed"] for r in sdk if r["token_latency_ms"]]),
        },
    }


class _Unreachable(Exception):
    pass


async def _zoho_storm_on(url: str, engine: str, workdir: Path) -> dict[str, Any]:
    """One zohoauth storm on a scratch database of `engine` (the storm itself in a thread, so
    this loop only holds the database)."""
    try:
        ctx = scratch_database(engine, workdir)
        store_url = await ctx.__aenter__()
    except Exception as exc:
        raise _Unreachable(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc
    try:
        return await asyncio.to_thread(zohoauth_storm, url, store_url, 4, 50, engine)
    finally:
        await ctx.__aexit__(None, None, None)


def _span(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
