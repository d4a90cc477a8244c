"""Raw results in, the published JSON document out: figures per workload, targets attached.

`summarize(raw)` turns what the workloads return (`bench.lookup`, `bench.sdk_lookup`,
`bench.storm`, `bench.crm_cost`, `bench.web_load`) into the document published as
`benchmarks/results.json`: the keys in REQUIRED_KEYS at least; per-N figures are
`{"median", "p10", "p90", ...}` of repeated runs. `dumps` writes it (NaN as null).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._common import spread
from .targets import targets
from .text import NAN

REQUIRED_KEYS = (
    "lookup.n_users",
    "lookup.zohoauth_cache_hit_us",
    "lookup.zohoauth_sqlite_us",
    "lookup.zohoauth_postgres_us",
    "lookup.sdk_filestore_us",
    "lookup.sdk_dbstore_us",
    "lookup.growth_1k_to_100k",
    "refresh_storm.zohoauth_refresh_requests",
    "refresh_storm.sdk_refresh_requests",
    "refresh_storm.sdk_corrupted_rows",
    "crm.zohoauth_vs_raw_httpx",
    "crm.raw_aiohttp_us",
    "crm.zohoauth_vs_raw_aiohttp",
    "crm.sdk_vs_zohoauth",
    "crm.plain_http.raw_aiohttp_us",
    "crm.plain_http.zohoauth_vs_raw_aiohttp",
    "crm.plain_http.sdk_vs_zohoauth",
    "web.p99_vs_emulator_direct",
    "web.rps_per_app_core",
    "web.cpu_us_per_request",
    "startup.import_zohoauth_s",
    "startup.import_zohoauth_cpu_s",
    "startup.zohoauth_help_s",
    "startup.zohoauth_help_cpu_s",
    "startup.sdk_import_s",
    "scale.runs",
    "scale.fleet.runs",
)


def get(doc: dict[str, Any], dotted: str) -> Any:
    """`doc["a"]["b"]` for "a.b" (KeyError names the whole path)."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def missing_keys(doc: dict[str, Any]) -> list[str]:
    """The REQUIRED_KEYS a document lacks, in their order."""
    out = []
    for key in REQUIRED_KEYS:
        try:
            get(doc, key)
        except KeyError:
            out.append(key)
    return out


def med(spread: Any) -> float:
    """The median of a spread (`{"median", ...}`), a plain number as is, NaN for None."""
    if isinstance(spread, dict):
        return float(spread.get("median", NAN))
    return NAN if spread is None else float(spread)


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is NaN or b is 0."""
    return a / b if b and not math.isnan(a) and not math.isnan(b) else NAN


def summarize_lookup(
    zoho: list[dict[str, Any]], sdk: dict[str, dict[str, Any]], skipped: dict[str, str]
) -> dict[str, Any]:
    """zohoauth's per-engine results (bench.lookup) and the SDK's (bench.sdk_lookup)."""
    sizes: set[int] = set()
    out: dict[str, Any] = {"skipped": skipped}
    by_engine = {r["engine"]: r for r in zoho}
    for r in zoho:
        sizes.update(int(s) for s in r["sizes"])
    for r in sdk.values():
        sizes.update(int(s) for s in r["sizes"])
    n_users = sorted(sizes)
    out["n_users"] = n_users

    def series(source: dict[str, Any] | None, kind: str) -> dict[str, Any]:
        if source is None:
            return {}
        return {
            str(n): source["sizes"][k][kind]
            for n in n_users
            for k in (n, str(n))
            if k in source["sizes"] and kind in source["sizes"][k]
        }

    first = zoho[0] if zoho else None
    out["zohoauth_cache_hit_us"] = series(first, "hit")
    out["zohoauth_cache_hit_all_cached_us"] = series(first, "hit_full")
    for engine, key in (("sqlite", "sqlite"), ("postgres", "postgres"), ("mysql", "mariadb")):
        out[f"zohoauth_{key}_us"] = series(by_engine.get(engine), "manager")
        out[f"zohoauth_{key}_query_us"] = series(by_engine.get(engine), "store")
    out["sdk_filestore_us"] = series(sdk.get("file"), "by_id")
    out["sdk_filestore_find_token_us"] = series(sdk.get("file"), "by_user")
    out["sdk_dbstore_us"] = series(sdk.get("db"), "by_id")
    out["sdk_dbstore_find_token_us"] = series(sdk.get("db"), "by_user")

    lo, hi = (str(n_users[0]), str(n_users[-1])) if n_users else ("", "")
    growth: dict[str, float] = {}
    for name, data in out.items():
        if name.endswith("_us") and isinstance(data, dict) and lo in data and hi in data:
            growth[name[:-3]] = ratio(med(data[hi]), med(data[lo]))
    out["growth_sizes"] = [n_users[0], n_users[-1]] if n_users else []
    out["growth_by_path"] = growth
    ours = [v for k, v in growth.items() if k.startswith("zohoauth_") and not k.endswith("_query")]
    # The headline: the worst of zohoauth's lookups (per-call cache hit, all-cached hit, and the
    # cold read on each engine), so no path hides behind another.
    out["growth_1k_to_100k"] = max(ours) if ours else NAN
    mid = "10000" if "10000" in out["sdk_filestore_us"] else ""
    if not mid and n_users:
        mid = str(n_users[len(n_users) // 2])
    file_mid = med(out["sdk_filestore_us"].get(mid))
    out["speedup_at"] = int(mid) if mid else None
    out["speedup_vs_sdk_filestore"] = {
        name[: -len("_us")]: ratio(file_mid, med(out[name].get(mid)))
        for name in (
            "zohoauth_cache_hit_us",
            "zohoauth_cache_hit_all_cached_us",
            "zohoauth_sqlite_us",
            "zohoauth_postgres_us",
            "zohoauth_mariadb_us",
        )
        if out[name].get(mid) is not None
    }
    db_mid = med(out["sdk_dbstore_us"].get(mid))
    out["speedup_vs_sdk_dbstore"] = {
        name[: -len("_us")]: ratio(db_mid, med(out[name].get(mid)))
        for name in ("zohoauth_cache_hit_us", "zohoauth_mariadb_us")
        if out[name].get(mid) is not None
    }
    out["details"] = {"zohoauth": zoho, "sdk": sdk}
    return out


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The published document: machine, the four workloads, targets."""
    doc: dict[str, Any] = {
        "benchmark": "zohoauth vs the official Zoho CRM Python SDK",
        "when": raw.get("when"),
        "quick": raw.get("quick", False),
        "machine": raw.get("machine", {}),
        "seconds": raw.get("seconds"),
    }
    lk = raw.get("lookup") or {}
    doc["lookup"] = summarize_lookup(
        lk.get("zohoauth", []), lk.get("sdk", {}), lk.get("skipped", {})
    )
    st = raw.get("refresh_storm") or {}
    doc["refresh_storm"] = {
        "zohoauth_refresh_requests": st.get("zohoauth_refresh_requests"),
        "sdk_refresh_requests": st.get("sdk_refresh_requests"),
        "sdk_corrupted_rows": st.get("sdk_corrupted_rows"),
        **{k: v for k, v in st.items() if k not in ("zohoauth", "sdk")},
        "zohoauth_runs": st.get("zohoauth", []),
        "sdk_runs": st.get("sdk", []),
    }
    doc["crm"] = _crm(raw.get("crm") or {})
    if raw.get("crm_plain_http"):
        doc["crm"]["plain_http"] = _crm(raw["crm_plain_http"])
    doc["web"] = web_figures(raw.get("web") or {})
    doc["startup"] = dict(raw.get("startup") or {})
    if raw.get("token_api"):  # bench.token_api: its own figures, as measured
        doc["token_api"] = raw["token_api"]
    if raw.get("invalidation"):  # bench.invalidation: keys invalidation.engines.<engine>.*
        doc["invalidation"] = raw["invalidation"]
    if raw.get("scale"):  # bench.scale: the background refresher and the cold-start fleet
        doc["scale"] = raw["scale"]
    doc["targets"] = targets(doc)
    doc["notes"] = raw.get("notes", {})
    return doc


def _crm(crm: dict[str, Any]) -> dict[str, Any]:
    return {
        "zohoauth_vs_raw_httpx": med(crm.get("zohoauth_vs_raw_httpx")),
        "zohoauth_vs_raw_httpx_spread": crm.get("zohoauth_vs_raw_httpx"),
        "sdk_vs_zohoauth": med(crm.get("sdk_vs_zohoauth")),
        "sdk_vs_zohoauth_spread": crm.get("sdk_vs_zohoauth"),
        **{k: v for k, v in crm.items() if k not in ("zohoauth_vs_raw_httpx", "sdk_vs_zohoauth")},
    }


def web_figures(web: dict[str, Any]) -> dict[str, Any]:
    """The web figures, plus the app's CPU per request and its closed-loop rate per core of CPU
    it had, per run (the spread shows how much other work on the machine moved them)."""
    out = {"p99_vs_emulator_direct": web.get("p99_vs_emulator_direct", NAN), **web}
    closed = web.get("closed_loop") or {}
    if not (closed.get("app") and closed.get("direct")):
        return out
    runs = (web.get("runs") or {}).get("closed_loop") or {}

    def per_run(path: str, server: int, per_request: bool) -> list[float]:
        values = []
        for r in runs.get(path) or [closed[path]]:
            cpu, rps = r["cpu_servers"][server], r["rps"]
            if cpu and rps:
                values.append(cpu / rps * 1e6 if per_request else rps / cpu)
        return values

    cpu_app, rate = per_run("app", 1, True), per_run("app", 1, False)
    cpu_emu = per_run("direct", 0, True)
    if cpu_app:
        out["cpu_us_per_request"] = spread(cpu_app)
        out["rps_per_app_core"] = spread(rate)
    if cpu_emu:
        out["emulator_cpu_us_per_request"] = spread(cpu_emu)
    return out


def dumps(doc: dict[str, Any]) -> str:
    """JSON with NaN written as null (JSON has no NaN)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(doc), indent=2, ensure_ascii=False) + "\n"
