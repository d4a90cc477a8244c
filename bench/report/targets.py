"""The targets, each a pure function of the summarized document: what was measured, met or not.

A verdict is `{"workload", "what", "target", "measured", "unit", "met"}` (the shape published in
`results.json`); a value that is missing or NaN is never met. `targets(doc)` is every verdict in
the order the report shows them: the CRM ones once per transport measured.
"""

from __future__ import annotations

from typing import Any

from .text import NAN, is_nan, transport

TARGETS = {
    "lookup_speedup_10k": 50.0,  # ≥: SDK FileStore / zohoauth, per-call lookup at 10k users
    "lookup_growth": 1.5,  # <: zohoauth, 100k / 1k
    "cold_lookup_sqlite_us": 300.0,  # ≤: cache miss, worst N
    "cold_lookup_postgres_us": 400.0,
    "cold_lookup_mariadb_us": 400.0,
    "storm_refreshes": 1,  # ==
    "crm_vs_raw_aiohttp_cpu": 1.15,  # ≤: CRMClient / raw aiohttp, client CPU per read
    "sdk_vs_crm": 4.0,  # ≥: the SDK's read / CRMClient's, wall
    "web_rps_vs_baseline": 2.0,  # ≥: closed-loop req/s per app core / the baseline's
    "web_cpu_us": 1000.0,  # ≤: the web app's CPU per proxied read
    "web_p99": 2.0,  # ≤: app p99 / emulator-direct p99, same offered load
    "startup_s": 0.3,  # ≤: import zohoauth, zohoauth --help (warm, fresh process)
    "scale_workers": 4,  # the worker count the lag target is about
    "scale_lag_s": 60.0,  # <: p99 lag of the steady stream, most credentials measured
    "scale_growth": 1.25,  # ≤: SQL statements per refresh, most N / fewest N (worst k)
}

#: Figures of an earlier published run that a target is a multiple of. The web app's
#: closed-loop rate, 2026-11-28 (httpx transport; 32 users, 6,000 requests a run, one worker,
#: SQLite): 404.1 req/s with the app at 99.95% of its core, i.e. 404.3 req/s per core of CPU,
#: 2,473 µs of CPU per request. A shared machine lends the app less than a core when other work
#: runs, so the target compares req/s per core of CPU the app had, measured the same way.
BASELINES = {
    "web_closed_loop_rps": 404.1,
    "web_closed_loop_rps_per_core": 404.3,
    "web_closed_loop_cpu_us": 2473.0,
    "web_baseline_run": "2026-11-28",
}

Verdict = dict[str, Any]


def num(value: Any) -> float:
    """A figure as a float; NaN for a missing one (JSON's null, as a results.json stores NaN)."""
    return NAN if value is None else float(value)


def verdict(workload: str, what: str, target: str, value: Any, unit: str, met: bool) -> Verdict:
    missing = value is None or is_nan(value)
    return {
        "workload": workload,
        "what": what,
        "target": target,
        "measured": None if missing else value,
        "unit": unit,
        "met": bool(met) and not missing,
    }


def lookup_speedup(doc: dict[str, Any]) -> Verdict:
    """The SDK FileStore's per-call lookup over zohoauth's cache hit, at ~10k users: ≥ 50×."""
    lk = doc["lookup"]
    speed = num(lk.get("speedup_vs_sdk_filestore", {}).get("zohoauth_cache_hit"))
    at = lk.get("speedup_at") or 10_000
    limit = TARGETS["lookup_speedup_10k"]
    return verdict(
        "lookup",
        f"per-call token lookup at {at:,} users vs the SDK's FileStore",
        f"≥ {limit:g}× faster",
        speed,
        "×",
        speed >= limit,
    )


def lookup_growth(doc: dict[str, Any]) -> Verdict:
    """zohoauth's worst lookup path, most users / fewest: < 1.5×."""
    growth = num(doc["lookup"].get("growth_1k_to_100k"))
    limit = TARGETS["lookup_growth"]
    return verdict(
        "lookup",
        "growth of zohoauth's lookups, fewest to most users (worst path)",
        f"< {limit:g}×",
        growth,
        "×",
        growth < limit,
    )


def storm_refreshes(doc: dict[str, Any]) -> Verdict:
    """Every zohoauth storm sent exactly one refresh request (shown: the worst storm's count)."""
    st = doc["refresh_storm"]
    runs = st.get("zohoauth_runs", [])
    want = TARGETS["storm_refreshes"]
    return verdict(
        "refresh_storm",
        f"refresh requests, {len(runs)} zohoauth storm(s) (worst)",
        "exactly 1",
        st.get("zohoauth_refresh_requests"),
        "",
        bool(runs) and all(r["refresh_requests"] == want for r in runs),
    )


def cold_lookup(doc: dict[str, Any], engine: str, label: str) -> Verdict:
    """zohoauth's cache miss on one engine, its slowest N (median per N): ≤ the engine's limit."""
    data = doc["lookup"].get(f"zohoauth_{engine}_us") or {}
    worst = max((num(v.get("median")) for v in data.values()), default=NAN)
    limit = TARGETS[f"cold_lookup_{engine}_us"]
    return verdict(
        "lookup",
        f"cold lookup (cache miss) on {label}, slowest N",
        f"≤ {limit:g} µs",
        worst,
        " µs",
        worst <= limit,
    )


def crm_vs_raw(block: dict[str, Any]) -> Verdict:
    """CRMClient's client CPU per read over a raw aiohttp session's (fixed token), one
    transport, median of the per-round ratios: ≤ 1.15×."""
    spread = (block.get("zohoauth_vs_raw_aiohttp") or {}).get("client_cpu") or {}
    value = num(spread.get("median"))
    limit = TARGETS["crm_vs_raw_aiohttp_cpu"]
    return verdict(
        "crm",
        f"CRMClient read vs raw aiohttp with a fixed token, client CPU ({transport(block)})",
        f"≤ {limit:g}×",
        value,
        "×",
        value <= limit,
    )


def sdk_vs_crm(block: dict[str, Any]) -> Verdict:
    """The SDK's read over CRMClient's (wall, median of the per-round ratios), one transport:
    ≥ 4× slower."""
    value = num(block.get("sdk_vs_zohoauth"))
    limit = TARGETS["sdk_vs_crm"]
    return verdict(
        "crm",
        f"the SDK's read vs CRMClient's ({transport(block)})",
        f"≥ {limit:g}× slower",
        value,
        "×",
        value >= limit,
    )


def web_throughput(doc: dict[str, Any]) -> Verdict:
    """The web app's closed-loop req/s per core of CPU it had, over the baseline's: ≥ 2×."""
    rate = num((doc["web"].get("rps_per_app_core") or {}).get("median"))
    value = rate / BASELINES["web_closed_loop_rps_per_core"]
    limit = TARGETS["web_rps_vs_baseline"]
    return verdict(
        "web",
        "web app closed-loop throughput on one worker, per core of CPU, vs the "
        f"{BASELINES['web_baseline_run']} run ({BASELINES['web_closed_loop_rps']:g} req/s)",
        f"≥ {limit:g}×",
        value,
        "×",
        value >= limit,
    )


def web_cpu(doc: dict[str, Any]) -> Verdict:
    """The web app's CPU per proxied read in the closed loop (median run): ≤ 1,000 µs."""
    value = num((doc["web"].get("cpu_us_per_request") or {}).get("median"))
    limit = TARGETS["web_cpu_us"]
    return verdict(
        "web",
        "web app CPU per proxied read (closed loop)",
        f"≤ {limit:,.0f} µs",
        value,
        " µs",
        value <= limit,
    )


def web_p99(doc: dict[str, Any]) -> Verdict:
    """The web app's p99 over the emulator's, at the same offered load: ≤ 2×."""
    value = num(doc["web"].get("p99_vs_emulator_direct"))
    limit = TARGETS["web_p99"]
    return verdict(
        "web",
        "web app p99 vs the same reads straight to the emulator (same offered load)",
        f"≤ {limit:g}×",
        value,
        "×",
        value <= limit,
    )


def startup(doc: dict[str, Any], name: str, what: str) -> Verdict:
    """A fresh process, warm bytecode, median of the runs: ≤ 0.3 s of the process's own CPU.

    CPU rather than wall time: on this shared machine other people's work stretches a
    process's wall time several-fold (the table shows both; on a quiet machine they differ by
    the fork and exec, a few ms)."""
    value = num(((doc.get("startup") or {}).get(f"{name}_cpu_s") or {}).get("median"))
    limit = TARGETS["startup_s"]
    return verdict("startup", what, f"≤ {limit:g} s", value, " s", value <= limit)


def scale_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """bench.scale's rows (one per N credentials and k workers); none when it did not run."""
    return list((doc.get("scale") or {}).get("runs") or [])


def scale_lag(doc: dict[str, Any]) -> Verdict:
    """4 workers, the most credentials measured (100k in a full run), 1-hour tokens: p99 lag
    of the steady stream's refreshes < 60 s, with ≥ 95% of the refreshes due in the window done.
    No 4-worker run at that N: not met."""
    k = TARGETS["scale_workers"]
    runs = scale_runs(doc)
    most = max((r["n"] for r in runs), default=100_000)
    top = next((r for r in runs if r["n"] == most and r.get("workers") == k), None)
    value = num(top.get("p99_lag_seconds")) if top else NAN
    # The lag counts the refreshes done: workers that fell behind the stream would show a
    # small figure for the few they did, so they must also have kept up (95% of those due).
    kept_up = bool(top) and num(top.get("steady_refreshed")) >= 0.95 * num(
        top.get("steady_expected")
    )
    at = f"{most:,}"
    limit = TARGETS["scale_lag_s"]
    return verdict(
        "scale",
        f"background refresher: p99 lag, {k} workers, {at} active users, 1-hour tokens",
        f"< {limit:g} s, keeping up",
        value,
        " s",
        value < limit and kept_up,
    )


def scale_growth(doc: dict[str, Any]) -> Verdict:
    """Refresh work per credential does not grow with N: SQL statements (driver round trips)
    per refresh at the most credentials over the fewest, per worker count, the worst of them:
    ≤ 1.25× (batches fill differently from run to run on a shared machine; a store whose
    cost grew with N would show several-fold from 10k to 100k)."""
    runs = scale_runs(doc)
    sizes = sorted({r["n"] for r in runs})
    ratios = []
    if len(sizes) > 1:
        by = {(r["n"], r["workers"]): num(r.get("statements_per_refresh")) for r in runs}
        for k in sorted({r["workers"] for r in runs}):
            lo, hi = by.get((sizes[0], k), NAN), by.get((sizes[-1], k), NAN)
            ratios.append(hi / lo if lo and not is_nan(lo) and not is_nan(hi) else NAN)
    value = NAN if not ratios or any(is_nan(x) for x in ratios) else max(ratios)
    span = f"{sizes[0]:,} to {sizes[-1]:,}" if len(sizes) > 1 else "fewest to most"
    limit = TARGETS["scale_growth"]
    return verdict(
        "scale",
        f"background refresher: SQL statements per refresh, {span} credentials (worst worker "
        "count)",
        f"≤ {limit:g}×",
        value,
        "×",
        value <= limit,
    )


def targets(doc: dict[str, Any]) -> list[Verdict]:
    crm = doc["crm"]
    blocks = [b for b in (crm, crm.get("plain_http") or {}) if b]
    return [
        lookup_speedup(doc),
        lookup_growth(doc),
        cold_lookup(doc, "sqlite", "SQLite"),
        cold_lookup(doc, "postgres", "PostgreSQL"),
        cold_lookup(doc, "mariadb", "MariaDB"),
        storm_refreshes(doc),
        *(v for block in blocks for v in (crm_vs_raw(block), sdk_vs_crm(block))),
        web_throughput(doc),
        web_cpu(doc),
        web_p99(doc),
        startup(doc, "import_zohoauth", "`import zohoauth`, CPU of a fresh process (warm)"),
        startup(doc, "zohoauth_help", "`zohoauth --help`, CPU of a fresh process (warm)"),
        scale_lag(doc),
        scale_growth(doc),
    ]
