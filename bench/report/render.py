"""The page: benchmarks.md, its plots and results.json, written into one output directory.

The words are templates/benchmarks.md; `page_values(doc, images)` is every value its
placeholders take (tables, figures, notes, plot links). A block with nothing to show is an
empty string, and the blank lines it leaves collapse to one.

`write_report(doc, out_dir)` writes `out_dir/benchmarks.md`, `out_dir/benchmarks/*.png` and
`out_dir/benchmarks/results.json`: the published layout when `out_dir` is docs/, which only
`--publish` passes (see cli.py). `load_results(path)` reads a published results.json back,
so the page can be rendered again from it without measuring anything.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .notes import auto_notes
from .plots import ALT, plots
from .summary import dumps, web_figures
from .tables import (
    CRM_HEADERS,
    FLEET_HEADERS,
    SCALE_HEADERS,
    STARTUP_HEADERS,
    WEB_HEADERS,
    crm_rows,
    fleet_rows,
    lookup_rows,
    scale_rows,
    startup_rows,
    storm_rows,
    targets_table,
    web_rows,
)
from .targets import BASELINES, targets
from .text import NAN, fmt, md_table, p10_p90, page_template, piece, transport

IMAGE_DIR = "benchmarks"
ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = ROOT / "bench" / "CHANGELOG.md"
#: The changelog as linked from the published page, docs/benchmarks.md.
CHANGELOG_LINK = "../bench/CHANGELOG.md"


def changelog_link(out_dir: Path) -> str:
    """bench/CHANGELOG.md relative to a page written into out_dir; outside the repository (a
    temp dir), the published page's link, so the page reads as it will when published."""
    out = out_dir.resolve()
    if not out.is_relative_to(ROOT):
        return CHANGELOG_LINK
    return Path(os.path.relpath(CHANGELOG, out)).as_posix()


def machine_values(doc: dict[str, Any]) -> dict[str, Any]:
    m = doc.get("machine", {})
    v = m.get("versions", {})
    db = m.get("databases", {})
    return {
        "cpu_model": m.get("cpu_model", "?"),
        "cpus": m.get("cpus", "?"),
        "memory_gb": fmt(m.get("memory_gb")),
        "platform": m.get("platform", ""),
        "python": m.get("python", "?"),
        "zohoauth_version": v.get("zohoauth", "?"),
        "httpx_version": v.get("httpx", "?"),
        "sdk_version": v.get("zohocrmsdk8-0", "?"),
        "requests_version": v.get("requests", "?"),
        "mysql_connector_version": v.get("mysql-connector-python", "?"),
        "sqlalchemy_version": v.get("sqlalchemy", "?"),
        "fastapi_version": v.get("fastapi", "?"),
        "uvicorn_version": v.get("uvicorn", "?"),
        "postgres_version": db.get("postgres", "PostgreSQL ?"),
        "mariadb_version": db.get("mysql", "MariaDB ?"),
        "load_start": fmt((m.get("loadavg_at_start") or [NAN])[0]),
        "load_end": fmt((m.get("loadavg_at_end") or [NAN])[0]),
        "seconds": fmt(doc.get("seconds")),
    }


def lookup_values(doc: dict[str, Any]) -> dict[str, Any]:
    lk = doc["lookup"]
    speed = lk.get("speedup_vs_sdk_filestore", {})
    ratios = ", ".join(
        piece("lookup_speedup_item", ratio=fmt(x, "×"), path=k.replace("_", " "))
        for k, x in speed.items()
    )
    return {
        "lookup_table": md_table(
            ["path", *(f"N = {n:,}" for n in lk.get("n_users", [])), "growth"],
            lookup_rows(doc),
        ),
        "lookup_speedup": (
            piece("lookup_speedup", at=f"{lk.get('speedup_at', 0):,}", ratios=ratios)
            if speed
            else ""
        ),
    }


def crm_values(doc: dict[str, Any]) -> dict[str, Any]:
    crm = doc["crm"]
    blocks = []
    for block in (crm, crm.get("plain_http") or {}):
        if not block.get("per_call_us"):
            continue
        how = transport(block)
        aio = block.get("zohoauth_vs_raw_aiohttp") or {}
        blocks.append(
            piece(
                "crm_block",
                transport=how,
                why=piece("crm_block_" + how.replace(" ", "_")),
                table=md_table(CRM_HEADERS, crm_rows(block)),
                vs_aiohttp_cpu=fmt(aio.get("client_cpu", {}).get("median"), "×"),
                vs_aiohttp_cpu_spread=p10_p90(aio.get("client_cpu")),
                vs_aiohttp_wall=fmt(aio.get("wall", {}).get("median"), "×"),
                zohoauth_vs_raw=fmt(block.get("zohoauth_vs_raw_httpx"), "×"),
                zohoauth_vs_raw_cpu=fmt(block.get("zohoauth_vs_raw_httpx_client_cpu"), "×"),
                sdk_vs_zohoauth=fmt(block.get("sdk_vs_zohoauth"), "×"),
                sdk_vs_zohoauth_cpu=fmt(block.get("sdk_vs_zohoauth_client_cpu"), "×"),
            )
        )
    return {
        "crm_calls": crm.get("calls_per_round", "?"),
        "crm_rounds": crm.get("rounds", "?"),
        "crm_blocks": "\n\n".join(blocks),
    }


def web_values(doc: dict[str, Any]) -> dict[str, Any]:
    web = doc["web"]
    cpu = web.get("cpu_us_per_request")
    return {
        "web_users": web.get("users", "?"),
        "web_table": md_table(WEB_HEADERS, web_rows(doc)),
        "web_rounds": web.get("rounds", "?"),
        "web_requests": fmt(web.get("requests_per_run")),
        "web_fixed_rounds": web.get("fixed_rate_rounds", "?"),
        "web_p99": fmt(web.get("p99_vs_emulator_direct"), "×"),
        "web_p99_closed_loop": fmt(web.get("p99_vs_emulator_direct_closed_loop"), "×"),
        "web_throughput": fmt(web.get("throughput_vs_emulator_direct"), "×"),
        "web_cpu": (
            piece(
                "web_cpu",
                runs=cpu.get("n", "?"),
                cpu=fmt(cpu.get("median")),
                cpu_spread=p10_p90(cpu),
                per_core=fmt((web.get("rps_per_app_core") or {}).get("median")),
                per_core_spread=p10_p90(web.get("rps_per_app_core")),
                baseline_rps=fmt(BASELINES["web_closed_loop_rps"]),
                baseline_per_core=fmt(BASELINES["web_closed_loop_rps_per_core"]),
                baseline_cpu=fmt(BASELINES["web_closed_loop_cpu_us"]),
                baseline_run=BASELINES["web_baseline_run"],
                emulator_cpu=fmt((web.get("emulator_cpu_us_per_request") or {}).get("median")),
            )
            if isinstance(cpu, dict)
            else ""
        ),
    }


def startup_values(doc: dict[str, Any]) -> dict[str, Any]:
    st = doc.get("startup") or {}
    rows = startup_rows(doc)
    return {
        "startup_runs": st.get("runs", "?"),
        "startup_table": md_table(STARTUP_HEADERS, rows) if rows else "",
    }


def scale_values(doc: dict[str, Any], images: list[str], image_dir: str) -> dict[str, Any]:
    """The whole scale section (heading included), or nothing when bench.scale did not run."""
    sc = doc.get("scale") or {}
    rows = scale_rows(doc)
    if not rows:
        return {"scale_section": ""}
    fleet = sc.get("fleet") or {}
    frows = fleet_rows(doc)
    backlogs = sorted({r.get("backlog") for r in sc["runs"] if r.get("backlog")})
    fleet_text = (
        piece(
            "scale_fleet",
            apps=max(r["apps"] for r in fleet["runs"]),
            concurrency=fleet["runs"][0].get("concurrency_per_app", "?"),
            users=f"{fleet.get('users', 0):,}",
            table=md_table(FLEET_HEADERS, frows),
            measured=(
                piece("scale_fleet_measured", when=fleet["when"])
                if fleet.get("when") and fleet["when"] != sc.get("when", doc.get("when"))
                else ""
            ),
        )
        if frows
        else ""
    )
    image = "scale.png"
    # Measured apart from the rest of the page (merged into a published run): say when.
    load = sc.get("loadavg") or [NAN, NAN]
    measured = (
        piece("scale_measured", when=sc["when"], start=fmt(load[0]), end=fmt(load[-1]))
        if sc.get("when") and sc["when"] != doc.get("when")
        else ""
    )
    return {
        "scale_section": piece(
            "scale",
            backlog=", ".join(f"{b:,}" for b in backlogs) or "?",
            window=fmt(sc.get("window_seconds")),
            measured=measured,
            table=md_table(SCALE_HEADERS, rows),
            fleet=fleet_text,
            notes=doc.get("notes", {}).get("scale", ""),
            plot=(
                piece("plot", alt=ALT[image], src=f"{image_dir}/{image}") if image in images else ""
            ),
        )
    }


def page_values(
    doc: dict[str, Any],
    images: list[str],
    image_dir: str = IMAGE_DIR,
    changelog: str = CHANGELOG_LINK,
) -> dict[str, Any]:
    """Every placeholder of templates/benchmarks.md, filled from the summarized document."""
    notes = doc.get("notes", {})
    values: dict[str, Any] = {
        "quick": " --quick" if doc.get("quick") else "",
        "when": doc.get("when"),
        "targets_table": md_table(
            ["workload", "measure", "target", "measured", "met"], targets_table(doc)
        ),
        "summary": notes.get("summary", ""),
        **machine_values(doc),
        **lookup_values(doc),
        "storm_table": md_table(
            ["who", "callers", "runs", "refresh requests", "failed reads", "corrupted rows"],
            storm_rows(doc),
        ),
        **crm_values(doc),
        **web_values(doc),
        **startup_values(doc),
        **scale_values(doc, images, image_dir),
        "changelog": changelog,
    }
    for section, image in (
        ("lookup", "lookup.png"),
        ("storm", "refresh_storm.png"),
        ("crm", "crm.png"),
        ("web", "web.png"),
        ("startup", "startup.png"),
    ):
        values[f"{section}_notes"] = notes.get(section, "")
        values[f"{section}_plot"] = (
            piece("plot", alt=ALT[image], src=f"{image_dir}/{image}") if image in images else ""
        )
    return values


def markdown(
    doc: dict[str, Any],
    images: list[str],
    image_dir: str = IMAGE_DIR,
    changelog: str = CHANGELOG_LINK,
) -> str:
    values = page_values(doc, images, image_dir, changelog)
    text = page_template().substitute({k: str(v) for k, v in values.items()})
    # An empty block leaves its blank lines behind: one blank line between paragraphs.
    return re.sub(r"\n{3,}", "\n\n", text)


def write_report(doc: dict[str, Any], out_dir: Path) -> Path:
    """out_dir/benchmarks.md, its plots and the full results (out_dir/benchmarks/results.json)."""
    images = plots(doc, out_dir / IMAGE_DIR)
    (out_dir / IMAGE_DIR / "results.json").write_text(dumps(doc))
    path = out_dir / "benchmarks.md"
    path.write_text(markdown(doc, images, changelog=changelog_link(out_dir)))
    return path


def load_results(path: Path) -> dict[str, Any]:
    """A results.json as written by `write_report`, judged and worded afresh from its numbers:
    the web figures derived from its runs, the targets and the notes are the report's current
    ones, so a change to a target shows on the page rendered again."""
    doc: dict[str, Any] = json.loads(path.read_text())
    if isinstance(doc.get("web"), dict):
        doc["web"] = web_figures(doc["web"])
    doc["targets"] = targets(doc)
    doc["notes"] = auto_notes(doc)
    return doc
