"""What limited each workload, in words, from the numbers themselves.

`auto_notes(doc)` picks pieces of `templates/pieces.md` by what the numbers show and fills them
in; the result is published in `results.json` under `notes` and shown under each table. What
profiling changed in the library is not a note: it is dated history, in bench/CHANGELOG.md.
"""

from __future__ import annotations

from typing import Any

from .summary import ratio
from .targets import TARGETS, num
from .text import NAN, fmt, is_nan, p10_p90, piece, transport


def summary_note(doc: dict[str, Any]) -> str:
    missed = [t for t in doc["targets"] if not t["met"]]
    text = piece("summary", met=len(doc["targets"]) - len(missed), total=len(doc["targets"]))
    m = doc.get("machine", {})
    loads = [(m.get(k) or [NAN])[0] for k in ("loadavg_at_start", "loadavg_at_end")]
    cpus = m.get("cpus") or 0
    if cpus and max(num(x) for x in loads) > cpus:
        text += " " + piece("summary_loaded", start=fmt(loads[0]), end=fmt(loads[1]), cpus=cpus)
    if not missed:
        return text
    items = (
        piece(
            "summary_missed_item",
            what=t["what"],
            measured=fmt(t["measured"], t["unit"]),
            target=t["target"],
        )
        for t in missed
    )
    return text + " " + piece("summary_missed", missed="; ".join(items))


def lookup_note(doc: dict[str, Any]) -> str:
    lk = doc["lookup"]
    sdk_file = lk.get("details", {}).get("sdk", {}).get("file", {})
    n = lk.get("n_users") or [0]
    sizes = {"n_lo": f"{n[0]:,}", "n_hi": f"{n[-1]:,}"}
    mb = sdk_file.get("file_mb", {}).get(str(n[-1]))
    g = lk.get("growth_by_path", {})
    text = []
    if mb:
        text.append(
            piece("lookup_filestore", growth=fmt(g.get("sdk_filestore"), "×"), mb=fmt(mb), **sizes)
        )
    if g.get("sdk_dbstore") is not None:
        text.append(
            piece(
                "lookup_dbstore",
                growth=fmt(g.get("sdk_dbstore"), "×"),
                by_user=fmt(g.get("sdk_dbstore_find_token"), "×"),
            )
        )
    text.append(
        piece(
            "lookup_zohoauth",
            hit=fmt(g.get("zohoauth_cache_hit"), "×"),
            all_cached=fmt(g.get("zohoauth_cache_hit_all_cached"), "×"),
            **sizes,
        )
    )
    cold = lookup_cold_note(doc)
    if cold:
        text.append(cold)
    return " ".join(text)


def storm_note(doc: dict[str, Any]) -> str | None:
    st = doc["refresh_storm"]
    sdk_runs = st.get("sdk_runs", [])
    if not sdk_runs:
        return None
    plain = [r for r in sdk_runs if not r.get("token_latency_ms")]
    slow = [r for r in sdk_runs if r.get("token_latency_ms")]
    slow_words = "."
    if slow:
        latency = st.get("sdk_with_token_latency", {})
        slow_words = piece(
            "storm_slow",
            latency=f"{slow[0]['token_latency_ms']:g}",
            refreshes=fmt(latency.get("refresh_requests")),
            failed=fmt(latency.get("failed_reads")),
            corrupted=fmt(latency.get("corrupted_rows")),
        )
    return piece(
        "storm", refreshes=fmt(st.get("sdk_refresh_requests")), runs=len(plain), slow=slow_words
    )


def crm_block_note(block: dict[str, Any]) -> str | None:
    """One transport's CRM figures in words; None if it lacks raw aiohttp or CRMClient."""
    per = block.get("per_call_us", {})
    cpu = block.get("client_cpu_per_call_us", {})
    if not (per.get("raw_aiohttp") and per.get("zohoauth") and cpu.get("raw_aiohttp")):
        return None
    how = transport(block)
    ours, raw = cpu["zohoauth"]["median"], cpu["raw_aiohttp"]["median"]
    ratio_cpu = (block.get("zohoauth_vs_raw_aiohttp") or {}).get("client_cpu") or {}
    limit = TARGETS["crm_vs_raw_aiohttp_cpu"]
    text = piece(
        "crm_overhead",
        transport=how,
        ours_cpu=fmt(ours),
        raw_cpu=fmt(raw),
        extra=fmt(abs(ours - raw)),
        more_or_less="more" if ours >= raw else "less",
        ratio=fmt(ratio_cpu.get("median"), "×"),
        spread=p10_p90(ratio_cpu),
        httpx_cpu=fmt(cpu.get("raw_httpx", {}).get("median")),
    )
    if not num(ratio_cpu.get("median")) <= limit:
        text += " " + piece("crm_overhead_missed", target=f"{limit:g}×")
    if not per.get("sdk"):
        return text
    vs_raw = ratio(per["sdk"]["median"], per["raw_aiohttp"]["median"])
    floor = "."
    if how != "https" and vs_raw < TARGETS["sdk_vs_crm"]:
        floor = piece("crm_sdk_floor", target=f"{TARGETS['sdk_vs_crm']:g}×")
    return (
        text
        + " "
        + piece(
            "crm_sdk",
            sdk_cpu=fmt(cpu.get("sdk", {}).get("median")),
            handshake=piece("crm_sdk_handshake") if how == "https" else "",
            vs_raw=fmt(vs_raw, "×"),
            floor=floor,
        )
    )


def web_note(doc: dict[str, Any]) -> str | None:
    web = doc["web"]
    closed = web.get("closed_loop", {})
    if not (closed.get("app") and closed.get("direct")):
        return None
    a, d = closed["app"], closed["direct"]
    words = [
        piece(
            "web",
            app_share=f"{a['cpu_servers'][1]:.0%}",
            app_cpu=fmt(a["cpu_servers"][1] / a["rps"] * 1e6 if a["rps"] else NAN),
            emulator_cpu=fmt(d["cpu_servers"][0] / d["rps"] * 1e6 if d["rps"] else NAN),
        )
    ]
    fixed = web.get("fixed_rate") or {}
    rate = fixed.get("rps")
    if rate:
        words.append(
            piece(
                "web_fixed_rate",
                rate=f"{rate:,.0f}",
                app_use=f"{rate / a['rps'] if a['rps'] else NAN:.0%}",
                direct_use=f"{rate / d['rps'] if d['rps'] else NAN:.0%}",
            )
        )
        fa = fixed.get("app") or {}
        p99 = num(web.get("p99_vs_emulator_direct"))
        if fa and not p99 <= TARGETS["web_p99"]:
            runs = (web.get("runs") or {}).get("fixed_rate", {}).get("app") or [fa]
            words.append(
                piece(
                    "web_tail_missed",
                    p50=fmt(fa.get("p50_ms")),
                    p99=fmt(fa.get("p99_ms")),
                    p99_runs=", ".join(fmt(r.get("p99_ms")) for r in runs),
                    max_runs=", ".join(fmt(r.get("max_ms")) for r in runs),
                )
            )
    cpu = num((web.get("cpu_us_per_request") or {}).get("median"))
    if not cpu <= TARGETS["web_cpu_us"]:
        words.append(
            piece(
                "web_cpu_missed",
                cpu=fmt(cpu),
                target=fmt(TARGETS["web_cpu_us"]),
                others=f"{a['cpu_others']:.0%}",
            )
        )
    words.append(
        piece(
            "web_load",
            loadgen_app=f"{a['cpu_loadgen']:.0%}",
            loadgen_direct=f"{d['cpu_loadgen']:.0%}",
            others_app=f"{a['cpu_others']:.0%}",
            others_direct=f"{d['cpu_others']:.0%}",
        )
    )
    return " ".join(words)


def lookup_cold_note(doc: dict[str, Any]) -> str | None:
    """The cache miss per engine at the largest N, against its target, with what it is made of."""
    lk = doc["lookup"]
    n = lk.get("n_users") or []
    if not n:
        return None
    hi = str(n[-1])
    engines = []
    missed = False
    for key, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL"), ("mariadb", "MariaDB")):
        manager = (lk.get(f"zohoauth_{key}_us") or {}).get(hi)
        store = (lk.get(f"zohoauth_{key}_query_us") or {}).get(hi)
        if not manager:
            continue
        limit = TARGETS[f"cold_lookup_{key}_us"]
        missed = missed or not num(manager.get("median")) <= limit
        engines.append(
            piece(
                "lookup_cold_item",
                engine=label,
                manager=fmt(manager["median"]),
                spread=p10_p90(manager),
                store=fmt((store or {}).get("median")),
                target=fmt(limit),
            )
        )
    if not engines:
        return None
    text = piece("lookup_cold", n=f"{n[-1]:,}", engines="; ".join(engines))
    return text + (" " + piece("lookup_cold_missed") if missed else "")


def startup_note(doc: dict[str, Any]) -> str | None:
    """Start-up in CPU ms (the targets' measure), the wall time beside the headline."""
    st = doc.get("startup") or {}

    def ms(key: str, kind: str = "_cpu_s") -> float:
        return num((st.get(key + kind) or {}).get("median")) * 1000

    if is_nan(ms("zohoauth_help")):
        return None
    words = [
        piece(
            "startup",
            help=fmt(ms("zohoauth_help")),
            help_wall=fmt(ms("zohoauth_help", "_s")),
            python=fmt(ms("python")),
            typer=fmt(ms("import_typer")),
            ours=fmt(ms("zohoauth_help") - ms("import_typer")),
            imp=fmt(ms("import_zohoauth")),
            imp_wall=fmt(ms("import_zohoauth", "_s")),
            facade=fmt(ms("import_zohoauth_facade")),
        )
    ]
    if not is_nan(ms("sdk_import")):
        words.append(
            piece(
                "startup_sdk",
                sdk=fmt(ms("sdk_import")),
                sdk_wall=fmt(ms("sdk_import", "_s")),
                vs_import=fmt(ratio(ms("sdk_import"), ms("import_zohoauth")), "×"),
                vs_help=fmt(ratio(ms("sdk_import"), ms("zohoauth_help")), "×"),
                vs_facade=fmt(ratio(ms("sdk_import"), ms("import_zohoauth_facade")), "×"),
            )
        )
    limit = TARGETS["startup_s"] * 1000
    if not ms("zohoauth_help") <= limit:
        framework = "startup_typer_over" if ms("import_typer") > limit else "startup_typer_under"
        words.append(piece(framework, typer=fmt(ms("import_typer")), target=fmt(limit)))
    return " ".join(words)


def scale_note(doc: dict[str, Any]) -> str | None:
    """The refresher's lag at the target's worker count, how statements per refresh move with
    N per worker count, and the cold-start fleet's figures."""
    sc = doc.get("scale") or {}
    runs = sc.get("runs") or []
    words = []
    k = TARGETS["scale_workers"]
    most = max((r["n"] for r in runs), default=0)
    top = next((r for r in runs if r["n"] == most and r.get("workers") == k), None)
    if top:
        words.append(
            piece(
                "scale_lag",
                k=k,
                n=f"{top['n']:,}",
                lag=fmt(top.get("p99_lag_seconds")),
                target=f"{TARGETS['scale_lag_s']:g}",
                done=fmt(top.get("steady_refreshed")),
                due=fmt(top.get("steady_expected")),
            )
        )
    behind = [
        r
        for r in sorted(runs, key=lambda r: (r["n"], r["workers"]))
        if num(r.get("steady_refreshed")) < 0.95 * num(r.get("steady_expected"))
    ]
    if behind:
        words.append(
            piece(
                "scale_behind",
                runs="; ".join(
                    piece(
                        "scale_behind_item",
                        k=r["workers"],
                        n=f"{r['n']:,}",
                        done=fmt(r.get("steady_refreshed")),
                        due=fmt(r.get("steady_expected")),
                    )
                    for r in behind
                ),
            )
        )
    sizes = sorted({r["n"] for r in runs})
    if len(sizes) > 1:
        by = {(r["n"], r["workers"]): r for r in runs}
        items, ratios = [], []
        for w in sorted({r["workers"] for r in runs}):
            a, b = by.get((sizes[0], w)), by.get((sizes[-1], w))
            if not (a and b):
                continue
            sa, sb = num(a.get("statements_per_refresh")), num(b.get("statements_per_refresh"))
            items.append(piece("scale_growth_item", k=w, a=fmt(sa), b=fmt(sb)))
            ratios.append(ratio(sb, sa))
        lo = [r for r in runs if r["n"] == sizes[0]]
        hi = [r for r in runs if r["n"] == sizes[-1]]
        if items:
            words.append(
                piece(
                    "scale_growth",
                    lo=f"{sizes[0]:,}",
                    hi=f"{sizes[-1]:,}",
                    per_k=", ".join(items),
                    worst=fmt(max(ratios), "×"),
                    claim_lo=fmt(min(num(r.get("claim_query_ms")) for r in lo)),
                    claim_hi=fmt(min(num(r.get("claim_query_ms")) for r in hi)),
                )
            )
    fleet = (sc.get("fleet") or {}).get("runs") or []
    if fleet:
        one, most = min(fleet, key=lambda r: r["apps"]), max(fleet, key=lambda r: r["apps"])
        words.append(
            piece(
                "scale_fleet_note",
                one=fmt(one.get("lookups_per_second")),
                most=fmt(most.get("lookups_per_second")),
                apps=most["apps"],
                p99_one=fmt(one.get("p99_ms")),
                p99_most=fmt(most.get("p99_ms")),
                statements=fmt(one.get("statements_per_lookup")),
                statements_most=fmt(most.get("statements_per_lookup")),
                conns=fmt(most.get("db_connections_max")),
                errors=fmt(sum(r.get("errors", 0) for r in fleet)),
                refreshes=fmt(sum(r.get("zoho_refreshes", 0) for r in fleet)),
            )
        )
    return " ".join(words) or None


def auto_notes(doc: dict[str, Any]) -> dict[str, str]:
    """The notes under each table, by workload, plus the targets' summary."""
    crm = doc["crm"]
    blocks = (crm_block_note(b) for b in (crm, crm.get("plain_http") or {}))
    crm_words = " ".join(b for b in blocks if b)
    notes = {
        "summary": summary_note(doc),
        "lookup": lookup_note(doc),
        "storm": storm_note(doc),
        "crm": crm_words or None,
        "web": web_note(doc),
        "startup": startup_note(doc),
        "scale": scale_note(doc),
    }
    return {k: v for k, v in notes.items() if v}
