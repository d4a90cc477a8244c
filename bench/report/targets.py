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
    "storm_refreshes": 1,  # ==
    "crm_vs_raw": 1.15,  # ≤
    "sdk_vs_crm": 3.0,  # ≥
    "web_p99": 3.0,  # ≤
}

Verdict = dict[str, Any]


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
    speed = lk.get("speedup_vs_sdk_filestore", {}).get("zohoauth_cache_hit", NAN)
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
    growth = doc["lookup"].get("growth_1k_to_100k", NAN)
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


def crm_vs_raw(block: dict[str, Any]) -> Verdict:
    """CRMClient's read over raw httpx with a fixed token, one transport: ≤ 1.15×."""
    value = block.get("zohoauth_vs_raw_httpx", NAN)
    limit = TARGETS["crm_vs_raw"]
    return verdict(
        "crm",
        f"CRMClient read vs raw httpx with a fixed token ({transport(block)})",
        f"≤ {limit:g}×",
        value,
        "×",
        value <= limit,
    )


def sdk_vs_crm(block: dict[str, Any]) -> Verdict:
    """The SDK's read over CRMClient's, one transport: ≥ 3× slower."""
    value = block.get("sdk_vs_zohoauth", NAN)
    limit = TARGETS["sdk_vs_crm"]
    return verdict(
        "crm",
        f"the SDK's read vs CRMClient's ({transport(block)})",
        f"≥ {limit:g}× slower",
        value,
        "×",
        value >= limit,
    )


def web_p99(doc: dict[str, Any]) -> Verdict:
    """The web app's p99 over the emulator's, at the same offered load: ≤ 3×."""
    value = doc["web"].get("p99_vs_emulator_direct", NAN)
    limit = TARGETS["web_p99"]
    return verdict(
        "web",
        "web app p99 vs the same reads straight to the emulator (same offered load)",
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
        storm_refreshes(doc),
        *(v for block in blocks for v in (crm_vs_raw(block), sdk_vs_crm(block))),
        web_p99(doc),
    ]
