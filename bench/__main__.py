"""zohoauth against Zoho's official Python SDK: the same work, the same machine, the same
emulator, one run. Prints a table and writes the report (page, plots, results.json).

    uv run python -m bench [--quick]
                           [--only lookup,storm,crm,web,token_api,startup,scale,invalidation]
                           [--json FILE]
                           [--out DIR | --publish | --no-report]
    uv run python -m bench report --from FILE [--out DIR | --publish]
    uv run python -m bench chaos [--size bench|ci] [--json FILE]
    uv run python -m bench soak [--minutes 30] [--users 40] [--json FILE]

Workloads (one module each): token lookup with 1k/10k/100k stored users (`bench.lookup` for
zohoauth, `bench.sdk_lookup` for the SDK), the refresh storm (`bench.storm`), CRM call cost
(`bench.crm_cost`), the web app under load (`bench.web_load`), the token service's token
API against a direct library call (`bench.token_api`), start-up (`bench.startup`:
`import zohoauth`, `zohoauth --help`, the SDK's import) and the background refresher with
10k-100k credentials on PostgreSQL and a cold-start app fleet (`bench.scale`, its `scale.*`
keys), and what forgetting an
ended connection in every process costs (`bench.invalidation`); the `bench.report`
package builds the JSON, the table, the markdown and the plots. `chaos` and `soak` are the
reliability runs of the `bench.chaos` package (faults, crashes, leaks; docs/reliability.md),
apart from the comparison with the SDK. The SDK always runs in child processes
(its `Initializer` is process-global). `--quick` takes ~4 minutes on a quiet 2-core machine
(7 at load average 10), plus ~2.5 minutes for `scale` (a full run's `scale`: ~20 minutes).

The report goes to bench/out/ (git-ignored) or `--out DIR`; only `--publish`, on a full run,
rewrites the published docs/benchmarks.md and docs/benchmarks/ (see `bench.report.cli`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from zohoauth.crypto import KeyRing

from . import crm_cost, invalidation, report, scale, sdk_lookup, startup, storm, token_api, web_load
from . import lookup as zlookup
from ._common import machine, now_iso
from ._zoho import sdk_available
from .report import cli as report_cli

WORKLOADS = ("lookup", "storm", "crm", "web", "token_api", "startup", "scale", "invalidation")


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "sizes": [1_000, 10_000, 100_000],
            "lookup_runs": 3,
            "lookup_lookups": 100,
            "sdk_runs": 3,
            "storm_engines": ["sqlite", "postgres"],
            "storm_reps": 1,
            "storm_latencies": [0, 150],
            "sdk_threads": 200,
            "crm_calls": 2_000,
            "crm_rounds": 2,
            "web_users": 16,
            "web_requests": 2_000,
            "web_rounds": 1,
            "web_paced_rounds": 3,
            "web_seconds": 10.0,
            "token_api": token_api.SETTINGS["quick"],
            "startup_runs": 5,
            "scale": scale.settings(quick=True),
            "invalidation_engines": ["sqlite", "postgres"],
            "invalidation_rows": 1_000,
            "invalidation_runs": 3,
            "invalidation_lookups": 100,
        }
    return {
        "sizes": [1_000, 10_000, 100_000],
        "lookup_runs": 7,
        "lookup_lookups": 300,
        "sdk_runs": 7,
        "storm_engines": ["sqlite", "postgres", "mysql"],
        "storm_reps": 3,
        "storm_latencies": [0, 150],
        "sdk_threads": 200,
        "crm_calls": 2_000,
        "crm_rounds": 5,
        "web_users": 32,
        "web_requests": 6_000,
        "web_rounds": 3,
        "web_paced_rounds": 5,
        "web_seconds": 20.0,
        "token_api": token_api.SETTINGS["full"],
        "startup_runs": 15,
        "scale": scale.settings(quick=False),
        "invalidation_engines": ["sqlite", "postgres", "mysql"],
        "invalidation_rows": 10_000,
        "invalidation_runs": 5,
        "invalidation_lookups": 300,
    }


def machine_info() -> dict[str, Any]:
    info = machine()
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions = {}
    for dist in (
        "zohoauth",
        "httpx",
        "zohocrmsdk8-0",
        "requests",
        "mysql-connector-python",
        "sqlalchemy",
        "fastapi",
        "uvicorn",
        "uvloop",
        "asyncpg",
        "aiomysql",
        "aiosqlite",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    info["versions"] = versions
    info["databases"] = database_versions()
    return info


def database_versions() -> dict[str, str]:
    out = {}
    pg = os.environ.get(zlookup.DEFAULT_URLS["postgres"][0]) or zlookup.DEFAULT_URLS["postgres"][1]
    my = os.environ.get(zlookup.DEFAULT_URLS["mysql"][0]) or zlookup.DEFAULT_URLS["mysql"][1]

    async def postgres() -> str:
        import asyncpg

        conn = await asyncpg.connect(pg, timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            await conn.close()

    try:
        out["postgres"] = f"PostgreSQL {asyncio.run(postgres())}"
    except Exception as exc:
        out["postgres"] = f"PostgreSQL unreachable ({type(exc).__name__})"
    try:
        import pymysql

        params = sdk_lookup.mysql_params(my)
        with pymysql.connect(**params, connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
        out["mysql"] = f"MariaDB {str(row[0]).split('-')[0] if row else '?'}"
    except Exception as exc:
        out["mysql"] = f"MariaDB unreachable ({type(exc).__name__})"
    return out


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- workloads ---------------------------------------------------------------------------------


def run_lookup(s: dict[str, Any], workdir: Path, sdk_skip: str | None) -> dict[str, Any]:
    keyring = KeyRing.from_config(KeyRing.generate_key())
    zoho, skipped = [], {}
    for engine in ("sqlite", "postgres", "mysql"):
        say(f"lookup: zohoauth on {engine}")
        try:
            zoho.append(
                asyncio.run(
                    zlookup.bench_engine(
                        engine, s["sizes"], s["lookup_runs"], s["lookup_lookups"], workdir, keyring
                    )
                )
            )
        except Exception as exc:
            if engine == "sqlite":
                raise
            skipped[engine] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            say(f"  {engine} skipped: {skipped[engine]}")
    sdk: dict[str, Any] = {}
    if sdk_skip is None:
        say("lookup: the SDK's FileStore")
        sdk["file"] = sdk_lookup.measure("file", s["sizes"], s["sdk_runs"], s["quick"], workdir)
        my = os.environ.get(zlookup.DEFAULT_URLS["mysql"][0]) or zlookup.DEFAULT_URLS["mysql"][1]
        say("lookup: the SDK's DBStore (MariaDB)")
        try:
            sdk["db"] = sdk_lookup.measure(
                "db", s["sizes"], s["sdk_runs"], s["quick"], workdir, mysql_url=my
            )
        except Exception as exc:
            skipped["sdk_db"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            say(f"  SDK DBStore skipped: {skipped['sdk_db']}")
    else:
        skipped["sdk"] = sdk_skip
    return {"zohoauth": zoho, "sdk": sdk, "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        return report_cli.report_main(argv[1:], WORKLOADS)
    if argv[:1] in (["chaos"], ["soak"]):
        from .chaos import cli as chaos_cli

        run = chaos_cli.chaos_main if argv[0] == "chaos" else chaos_cli.soak_main
        return run(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        epilog=report_cli.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds: ~4 minutes on a quiet 2-core machine"
    )
    parser.add_argument("--json", dest="json_path", help="also write the results here")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    report_cli.add_output_args(parser)
    parser.add_argument(
        "--no-report",
        "--no-docs",
        dest="no_report",
        action="store_true",
        help="write no page or plots (the table, and --json if given, only)",
    )
    args = parser.parse_args(argv)
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    if set(only) - set(WORKLOADS):
        parser.error(f"--only takes {', '.join(WORKLOADS)}")
    out_dir = None
    if args.no_report:
        if args.out or args.publish:
            parser.error("--no-report writes no report: it takes no --out or --publish")
    else:
        # Decided before measuring: a run that may not publish fails now, not after 8 minutes.
        partial = report_cli.partial_run(args.quick, only, WORKLOADS)
        out_dir = report_cli.output_dir(parser, args, partial)
    s = settings(args.quick) | {"quick": args.quick, "workloads": only}
    started = time.perf_counter()
    info = machine_info()
    say(
        f"{info['cpus']} x {info['cpu_model']}, load average {info['loadavg_at_start'][0]:.2f}"
        + (" (quick)" if args.quick else "")
    )
    sdk_skip = sdk_available()
    raw: dict[str, Any] = {"when": now_iso(), "quick": args.quick, "settings": s}
    with tempfile.TemporaryDirectory(prefix="zohoauth-bench-") as tmp:
        workdir = Path(tmp)
        if "lookup" in only:
            raw["lookup"] = run_lookup(s, workdir, sdk_skip)
        if "storm" in only:
            say("refresh storm")
            raw["refresh_storm"] = storm.run(
                s["storm_engines"],
                s["storm_reps"],
                s["sdk_threads"],
                workdir,
                sdk_skip,
                latencies=s["storm_latencies"],
            )
        if "crm" in only:
            say("CRM call cost, https (as Zoho serves it)")
            raw["crm"] = crm_cost.run(s["crm_calls"], s["crm_rounds"], workdir, sdk_skip, tls=True)
            say("CRM call cost, plain http")
            raw["crm_plain_http"] = crm_cost.run(
                s["crm_calls"], s["crm_rounds"], workdir, sdk_skip, tls=False
            )
        if "web" in only:
            say("web app under load")
            raw["web"] = web_load.run(
                s["web_users"],
                s["web_requests"],
                s["web_rounds"],
                s["web_seconds"],
                workdir,
                paced_rounds=s["web_paced_rounds"],
            )
        if "token_api" in only:
            say("token service: token API vs a direct library call")
            raw["token_api"] = token_api.run(*s["token_api"], workdir)
        if "startup" in only:
            say("start-up: import zohoauth, zohoauth --help, the SDK's import")
            raw["startup"] = startup.run(s["startup_runs"], sdk_skip)
        if "scale" in only:
            say("background refresher at scale (PostgreSQL)")
            sc = s["scale"]
            raw["scale"] = scale.run(
                sc["sizes"],
                sc["workers"],
                sc["backlog"],
                sc["window"],
                workdir,
                fleet_users=sc["fleet_users"],
                fleet_apps=sc["fleet_apps"],
            )
        if "invalidation" in only:
            say("ended connections: cache hit, re-check and write check per engine")
            raw["invalidation"] = invalidation.run(
                s["invalidation_engines"],
                s["invalidation_rows"],
                s["invalidation_runs"],
                s["invalidation_lookups"],
                workdir,
            )
    raw["machine"] = info | {"loadavg_at_end": list(os.getloadavg())}
    raw["seconds"] = round(time.perf_counter() - started, 1)
    doc = report.summarize(raw)
    doc["settings"] = s
    doc["notes"] = report.auto_notes(doc)
    print(report.text_report(doc))
    if args.json_path:
        Path(args.json_path).write_text(report.dumps(doc))
        say(f"wrote {args.json_path}")
    missing = report.missing_keys(doc)
    if out_dir == report_cli.PUBLISHED and missing:
        say(f"not publishing, the results lack {missing}; the report goes to bench/out/")
        out_dir = report_cli.SCRATCH
    if out_dir is not None:
        path = report.write_report(doc, out_dir)
        say(f"wrote {path}, its plots and results.json")
    if missing and set(only) == set(WORKLOADS):
        say(f"missing keys in the results: {missing}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
