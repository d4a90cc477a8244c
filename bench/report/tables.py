"""The report's tables as rows of strings, and the text report printed after a run.

Each `*_rows(doc)` is one table of the page (`render.py` makes it markdown) and of the terminal
report (`text_report`, plain columns): the same rows, so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from .._common import table
from .text import fmt, p10_p90, transport, us_spread


def targets_table(doc: dict[str, Any]) -> list[list[str]]:
    return [
        [
            t["workload"],
            t["what"],
            t["target"],
            fmt(t["measured"], t["unit"]),
            "yes" if t["met"] else "NO",
        ]
        for t in doc["targets"]
    ]


LOOKUP_PATHS = (
    ("zohoauth_cache_hit_us", "zohoauth, cache hit (before every CRM call)"),
    ("zohoauth_cache_hit_all_cached_us", "zohoauth, cache hit, all N users cached"),
    ("zohoauth_sqlite_us", "zohoauth, cache miss, SQLite"),
    ("zohoauth_postgres_us", "zohoauth, cache miss, PostgreSQL"),
    ("zohoauth_mariadb_us", "zohoauth, cache miss, MariaDB"),
    ("sdk_filestore_us", "SDK FileStore.find_token_by_id (before every CRM call)"),
    ("sdk_filestore_find_token_us", "SDK FileStore.find_token (by user)"),
    ("sdk_dbstore_us", "SDK DBStore.find_token_by_id (before every CRM call)"),
    ("sdk_dbstore_find_token_us", "SDK DBStore.find_token (by user)"),
)


def lookup_rows(doc: dict[str, Any]) -> list[list[str]]:
    lk = doc["lookup"]
    rows = []
    for key, label in LOOKUP_PATHS:
        data = lk.get(key) or {}
        if not data:
            continue
        growth = lk.get("growth_by_path", {}).get(key[:-3])
        rows.append(
            [label]
            + [us_spread(data.get(str(n))) for n in lk["n_users"]]
            + [fmt(growth, "×") if growth is not None else "-"]
        )
    return rows


def storm_groups(doc: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(who, callers, runs) per kind of storm, in the order they ran."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in doc["refresh_storm"].get("zohoauth_runs", []):
        who = f"zohoauth ({r['engine']}{', ' + r['variant'] if r.get('variant') else ''})"
        groups.setdefault((who, f"{r['processes']} × {r['callers_per_process']}"), []).append(r)
    for r in doc["refresh_storm"].get("sdk_runs", []):
        who = f"SDK (FileStore{', ' + r['variant'] if r.get('variant') else ''})"
        groups.setdefault((who, f"1 × {r['threads']} threads"), []).append(r)
    return [(who, callers, runs) for (who, callers), runs in groups.items()]


def _runs(values: list[Any]) -> str:
    """One run: its value; several: every value (they are counts, each one matters)."""
    return ", ".join(str(v) for v in values)


def storm_rows(doc: dict[str, Any]) -> list[list[str]]:
    return [
        [
            who,
            callers,
            str(len(runs)),
            _runs([r["refresh_requests"] for r in runs]),
            _runs([r["reads_failed"] for r in runs]),
            _runs([r["corrupted_rows"] for r in runs]),
        ]
        for who, callers, runs in storm_groups(doc)
    ]


CRM_HEADERS = ["client", "µs per read (median)", "p10–p90", "client CPU µs per read", "p10–p90"]
CRM_CLIENTS = {
    "raw_httpx": "raw httpx, fixed token",
    "raw_aiohttp": "raw aiohttp, fixed token",
    "zohoauth": "zohoauth CRMClient",
    "sdk": "official SDK",
}


def crm_rows(crm: dict[str, Any]) -> list[list[str]]:
    """Per client: wall µs per read and the client's CPU per read, each with its spread."""
    cpu = crm.get("client_cpu_per_call_us", {})
    return [
        [
            CRM_CLIENTS.get(k, k),
            fmt(v["median"]),
            p10_p90(v),
            fmt(cpu.get(k, {}).get("median")),
            p10_p90(cpu.get(k)),
        ]
        for k, v in crm.get("per_call_us", {}).items()
    ]


def web_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Per path and load: req/s, latency, errors, and the CPU per request of the process that
    answered it (the web app; the emulator for the direct reads)."""
    web = doc["web"]
    rows = []
    for mode, label in (
        ("closed_loop", f"closed loop, {web.get('users')} users"),
        ("fixed_rate", ""),
    ):
        block = web.get(mode) or {}
        for path, server in (("app", 1), ("direct", 0)):
            r = block.get(path)
            if not r:
                continue
            load = label or f"{block.get('rps', 0):,.0f} req/s offered"
            cpu = r["cpu_servers"][server] / r["rps"] * 1e6 if r.get("rps") else None
            rows.append(
                [
                    "web app" if path == "app" else "emulator direct",
                    load,
                    fmt(r["rps"]),
                    fmt(r["p50_ms"]),
                    fmt(r["p99_ms"]),
                    str(r["errors"]),
                    fmt(cpu),
                ]
            )
    return rows


WEB_HEADERS = ["path", "load", "req/s", "p50 ms", "p99 ms", "errors", "server CPU µs per request"]

STARTUP_COMMANDS = (
    ("python", "`python -c pass` (the interpreter alone)"),
    ("import_zohoauth", "`import zohoauth`"),
    ("zohoauth_help", "`zohoauth --help`"),
    ("import_typer", "`import typer` (Typer, click, rich: the CLI framework alone)"),
    ("import_zohoauth_facade", "`from zohoauth import ZohoAuth` (what an app loads first)"),
    ("sdk_import", "the SDK: `from zohocrmsdk...initializer import Initializer`"),
)
STARTUP_HEADERS = [
    "fresh process",
    "wall ms (median)",
    "p10–p90",
    "min",
    "CPU ms (median)",
    "p10–p90",
]


def startup_rows(doc: dict[str, Any]) -> list[list[str]]:
    st = doc.get("startup") or {}
    rows = []
    for key, label in STARTUP_COMMANDS:
        s = st.get(f"{key}_s")
        if not isinstance(s, dict):
            continue
        ms = {k: v * 1000 for k, v in s.items() if k != "n"}
        c = st.get(f"{key}_cpu_s")
        cpu = {k: v * 1000 for k, v in c.items() if k != "n"} if isinstance(c, dict) else {}
        rows.append(
            [
                label,
                fmt(ms["median"]),
                p10_p90(ms),
                fmt(ms["min"]),
                fmt(cpu.get("median")),
                p10_p90(cpu or None),
            ]
        )
    return rows


SCALE_HEADERS = [
    "N credentials",
    "workers",
    "backlog drained, refreshes/s",
    "steady refreshes done / due",
    "p99 lag, steady (s)",
    "SQL statements / refresh",
    "DB connections (max)",
    "claim query (ms)",
    "double refreshes",
]


def scale_rows(doc: dict[str, Any]) -> list[list[str]]:
    """bench.scale's runs, by N then workers."""
    runs = sorted((doc.get("scale") or {}).get("runs") or [], key=lambda r: (r["n"], r["workers"]))
    return [
        [
            f"{r['n']:,}",
            str(r["workers"]),
            fmt(r.get("refreshes_per_second")),
            f"{fmt(r.get('steady_refreshed'))} / {fmt(r.get('steady_expected'))}",
            fmt(r.get("p99_lag_seconds")),
            fmt(r.get("statements_per_refresh")),
            fmt(r.get("db_connections_max")),
            fmt(r.get("claim_query_ms")),
            fmt(r.get("double_refreshes")),
        ]
        for r in runs
    ]


FLEET_HEADERS = [
    "app processes",
    "lookups (all cold)",
    "lookups/s, whole fleet",
    "p50 ms",
    "p99 ms",
    "SQL statements / lookup",
    "DB connections (max)",
    "failed",
    "refreshes at Zoho",
]


def fleet_rows(doc: dict[str, Any]) -> list[list[str]]:
    """bench.scale's cold-start fleet: per number of fresh app processes."""
    fleet = (doc.get("scale") or {}).get("fleet") or {}
    return [
        [
            str(r["apps"]),
            fmt(r.get("lookups")),
            fmt(r.get("lookups_per_second")),
            fmt(r.get("p50_ms")),
            fmt(r.get("p99_ms")),
            fmt(r.get("statements_per_lookup")),
            fmt(r.get("db_connections_max")),
            fmt(r.get("errors")),
            fmt(r.get("zoho_refreshes")),
        ]
        for r in sorted(fleet.get("runs") or [], key=lambda r: r["apps"])
    ]


def text_report(doc: dict[str, Any]) -> str:
    """What `python -m bench` prints: every table of the page, as plain columns."""
    lines = ["Targets", ""]
    lines.append(table(["workload", "measure", "target", "measured", "met"], targets_table(doc)))
    lk = doc["lookup"]
    lines += [
        "",
        "Token lookup (median per lookup, p10–p90 of the runs; growth = largest N / smallest N)",
        "",
    ]
    lines.append(
        table(
            ["path", *(f"N={n:,}" for n in lk["n_users"]), "growth"],
            lookup_rows(doc),
        )
    )
    lines += ["", "Refresh storm", ""]
    lines.append(
        table(
            ["who", "callers", "runs", "refresh requests", "failed reads", "corrupted rows"],
            storm_rows(doc),
        )
    )
    for block in (doc["crm"], doc["crm"].get("plain_http") or {}):
        if block.get("per_call_us"):
            lines += ["", f"CRM read cost over {transport(block)} (µs per GET record)", ""]
            lines.append(table(CRM_HEADERS, crm_rows(block)))
    if doc["web"].get("closed_loop"):
        lines += ["", "Web app vs straight to the emulator", ""]
        lines.append(table(WEB_HEADERS, web_rows(doc)))
    if doc.get("token_api"):  # bench.token_api's own table (cache hit)
        from .. import token_api

        lines += ["", "Token service: token API vs a direct library call (cache hit)", ""]
        lines.append(table(token_api.HEADERS, token_api.rows(doc["token_api"])))
    if startup_rows(doc):
        lines += ["", "Start-up, a fresh process (warm bytecode)", ""]
        lines.append(table(STARTUP_HEADERS, startup_rows(doc)))
    if scale_rows(doc):
        lines += ["", "Background refresher at scale (PostgreSQL)", ""]
        lines.append(table(SCALE_HEADERS, scale_rows(doc)))
    if fleet_rows(doc):
        lines += ["", "Cold-start app fleet (PostgreSQL, every user read once per app)", ""]
        lines.append(table(FLEET_HEADERS, fleet_rows(doc)))
    return "\n".join(lines)
