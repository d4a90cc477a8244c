"""The report's PNG plots (matplotlib, a dev dependency, imported only when plotting).

`plots(doc, out_dir)` draws one plot per workload that has data and returns the file names it
wrote; ALT is each plot's alt text on the page.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .tables import CRM_CLIENTS, LOOKUP_PATHS, STARTUP_COMMANDS, storm_groups
from .targets import TARGETS
from .text import transport

ALT = {
    "lookup.png": "token lookup",
    "refresh_storm.png": "refresh storm",
    "crm.png": "CRM read cost",
    "web.png": "web app",
    "startup.png": "start-up",
    "scale.png": "background refresher and cold-start fleet at scale",
}


def plots(doc: dict[str, Any], out_dir: Path) -> list[str]:
    """PNG plots of each workload that has data; returns their file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = (
        draw(doc, out_dir)
        for draw in (lookup_plot, storm_plot, crm_plot, web_plot, startup_plot, scale_plot)
    )
    return [name for name in made if name]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lookup_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """µs per lookup against N, log-log, one line per path."""
    lk = doc["lookup"]
    if not lk.get("n_users"):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6.5))
    for key, label in LOOKUP_PATHS:
        data = lk.get(key) or {}
        xs = [n for n in lk["n_users"] if str(n) in data]
        if not xs:
            continue
        ys = [data[str(n)]["median"] for n in xs]
        lo = [data[str(n)]["median"] - data[str(n)]["p10"] for n in xs]
        hi = [data[str(n)]["p90"] - data[str(n)]["median"] for n in xs]
        style = "--" if key.startswith("sdk") else "-"
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o" + style, label=label, capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("stored users (N)")
    ax.set_ylabel("µs per lookup (median, p10–p90)")
    ax.set_title("Token lookup vs number of stored users")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / "lookup.png", dpi=110)
    plt.close(fig)
    return "lookup.png"


def storm_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """Refresh requests per kind of storm, median and min–max over runs."""
    groups = storm_groups(doc)
    if not groups:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(groups) + 1.5))
    labels = [f"{who}, {callers}" for who, callers, _ in groups]
    values = [statistics.median(r["refresh_requests"] for r in runs) for _, _, runs in groups]
    highs = [max(r["refresh_requests"] for r in runs) for _, _, runs in groups]
    lows = [min(r["refresh_requests"] for r in runs) for _, _, runs in groups]
    colors = ["tab:green" if who.startswith("zohoauth") else "tab:red" for who, _, _ in groups]
    ys = list(range(len(groups)))[::-1]
    ax.barh(
        ys,
        values,
        color=colors,
        xerr=[
            [v - lo for v, lo in zip(values, lows, strict=True)],
            [hi - v for v, hi in zip(values, highs, strict=True)],
        ],
        capsize=3,
    )
    for y, v, hi in zip(ys, values, highs, strict=True):
        ax.text(hi, y, f"  {v:g}", va="center")
    ax.set_yticks(ys, labels, fontsize=8)
    ax.set_xscale("symlog")
    ax.set_xlabel("refresh requests at Zoho (median, min–max over runs)")
    ax.set_title("Refresh storm: one expired token, concurrent callers", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "refresh_storm.png", dpi=110)
    plt.close(fig)
    return "refresh_storm.png"


def crm_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """Wall µs and client CPU µs per read by client, one bar per transport, p10–p90 whiskers."""
    blocks = [b for b in (doc["crm"], doc["crm"].get("plain_http") or {}) if b.get("per_call_us")]
    if not blocks:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    names = [k for k in CRM_CLIENTS if any(k in b["per_call_us"] for b in blocks)]
    width = 0.8 / len(blocks)
    for ax, key, ylabel in (
        (axes[0], "per_call_us", "wall µs per GET record (median, p10–p90)"),
        (axes[1], "client_cpu_per_call_us", "client CPU µs per GET record (median, p10–p90)"),
    ):
        for j, block in enumerate(blocks):
            per = block.get(key) or {}
            shown = [k for k in names if k in per]
            xs = [names.index(k) + (j - (len(blocks) - 1) / 2) * width for k in shown]
            meds = [per[k]["median"] for k in shown]
            err = [
                [per[k]["median"] - per[k]["p10"] for k in shown],
                [per[k]["p90"] - per[k]["median"] for k in shown],
            ]
            ax.bar(xs, meds, width, yerr=err, capsize=3, label=transport(block))
            tops = [per[k]["p90"] for k in shown]  # above the whisker, not on it
            for x, v, top in zip(xs, meds, tops, strict=True):
                ax.text(x, top, f"{v:,.0f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(
            range(len(names)),
            [CRM_CLIENTS[k].replace(", fixed token", "").replace("zohoauth ", "") for k in names],
            fontsize=8,
        )
        ax.set_ylabel(ylabel, fontsize=8)
        ax.legend(fontsize=8)
    fig.suptitle("CRM read cost, sequential, same emulator")
    fig.tight_layout()
    fig.savefig(out_dir / "crm.png", dpi=110)
    plt.close(fig)
    return "crm.png"


def web_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """p50 and p99, web app vs direct, at the same offered load and in the closed loop."""
    web = doc["web"]
    if not (web.get("closed_loop") and web.get("fixed_rate")):
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, mode, title in (
        (
            axes[0],
            "fixed_rate",
            f"same offered load ({web['fixed_rate'].get('rps', 0):,.0f} req/s)",
        ),
        (axes[1], "closed_loop", f"closed loop, {web.get('users')} users"),
    ):
        block = web[mode]
        paths = [p for p in ("direct", "app") if p in block]
        x = range(len(paths))
        ax.bar([i - 0.2 for i in x], [block[p]["p50_ms"] for p in paths], 0.4, label="p50")
        ax.bar([i + 0.2 for i in x], [block[p]["p99_ms"] for p in paths], 0.4, label="p99")
        ax.set_xticks(list(x), ["emulator direct" if p == "direct" else "web app" for p in paths])
        ax.set_ylabel("ms")
        ax.set_title(title, fontsize=9)
        ax.legend()
    fig.suptitle("Reading records: web app vs straight to the emulator")
    fig.tight_layout()
    fig.savefig(out_dir / "web.png", dpi=110)
    plt.close(fig)
    return "web.png"


def startup_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """Per command: CPU ms (the target's measure) and wall ms, medians with p10–p90 whiskers,
    the target as a line."""
    st = doc.get("startup") or {}
    shown = [(k, label) for k, label in STARTUP_COMMANDS if isinstance(st.get(f"{k}_s"), dict)]
    if not shown:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(shown) + 1.8))
    ys = list(range(len(shown)))[::-1]
    for offset, kind, label, alpha in (
        (0.2, "_cpu_s", "CPU (user + system)", 1.0),
        (-0.2, "_s", "wall, spawn to exit", 0.45),
    ):
        data = [st.get(k + kind) or {} for k, _ in shown]
        meds = [d.get("median", 0) * 1000 for d in data]
        lo = [(d.get("median", 0) - d.get("p10", 0)) * 1000 for d in data]
        hi = [(d.get("p90", 0) - d.get("median", 0)) * 1000 for d in data]
        y = [v + offset for v in ys]
        ax.barh(
            y,
            meds,
            0.38,
            xerr=[lo, hi],
            capsize=3,
            alpha=alpha,
            label=label,
            color=["tab:red" if k == "sdk_import" else "tab:blue" for k, _ in shown],
        )
        for yy, v, d in zip(y, meds, data, strict=True):
            ax.text(d.get("p90", 0) * 1000, yy, f"  {v:,.0f}", va="center", fontsize=7)
    limit = TARGETS["startup_s"] * 1000
    ax.axvline(limit, color="gray", linestyle="--", linewidth=1)
    ax.text(limit, ys[0] + 0.55, f" target {limit:,.0f} ms (CPU)", fontsize=8, color="gray")
    ax.set_yticks(ys, [label.replace("`", "") for _, label in shown], fontsize=7)
    ax.set_xlabel("ms, fresh process, warm (median, p10–p90); solid: CPU, light: wall")
    ax.set_title("Start-up", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_dir / "startup.png", dpi=110)
    plt.close(fig)
    return "startup.png"


def scale_plot(doc: dict[str, Any], out_dir: Path) -> str | None:
    """The background refresher against N, one line per worker count: p99 lag (the target as
    a line), SQL statements per refresh, backlog refreshes/s; and the cold-start fleet's
    lookups/s and p99 per number of apps."""
    sc = doc.get("scale") or {}
    runs = sc.get("runs") or []
    if not runs:
        return None
    plt = _pyplot()
    fleet = (sc.get("fleet") or {}).get("runs") or []
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    sizes = sorted({r["n"] for r in runs})
    panels = (
        (axes[0][0], "p99_lag_seconds", "p99 lag of the steady stream (s)"),
        (axes[0][1], "statements_per_refresh", "SQL statements per refresh"),
        (axes[1][0], "refreshes_per_second", "backlog drained, refreshes/s"),
    )
    for ax, key, label in panels:
        for k in sorted({r["workers"] for r in runs}):
            mine = sorted((r for r in runs if r["workers"] == k), key=lambda r: r["n"])
            xs = [r["n"] for r in mine if r.get(key) is not None]
            ys = [r[key] for r in mine if r.get(key) is not None]
            ax.plot(xs, ys, "o-", label=f"{k} worker{'s' if k > 1 else ''}")
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("active credentials (N), 1-hour tokens")
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    lag = axes[0][0]
    limit = TARGETS["scale_lag_s"]
    lag.axhline(limit, color="gray", linestyle="--", linewidth=1)
    lag.text(sizes[0], limit, f" target < {limit:g} s (4 workers)", fontsize=7, va="bottom")
    lags = [r["p99_lag_seconds"] for r in runs if r.get("p99_lag_seconds") is not None]
    lag.set_ylim(0, max([limit * 1.25, *(x * 1.1 for x in lags)]))
    ax = axes[1][1]
    if fleet:
        apps = [r["apps"] for r in fleet]
        ax.bar(
            [a - 0.2 for a in range(len(apps))],
            [r["lookups_per_second"] for r in fleet],
            0.4,
            label="cold-start fleet: lookups/s",
        )
        ax.set_xticks(range(len(apps)), [str(a) for a in apps])
        ax.set_xlabel(f"fresh app processes, {sc['fleet'].get('users', 0):,} users each, cold")
        ax.set_ylabel("lookups/s, whole fleet", fontsize=8)
        twin = ax.twinx()
        twin.bar(
            [a + 0.2 for a in range(len(apps))],
            [r["p99_ms"] for r in fleet],
            0.4,
            color="tab:orange",
            label="p99 ms per lookup",
        )
        twin.set_ylabel("p99 ms per lookup", fontsize=8)
        handles = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(
            handles[0] + more[0],
            handles[1] + more[1],
            fontsize=7,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.06),
            ncol=2,
        )
    else:
        ax.axis("off")
    fig.suptitle("Background refresher on one PostgreSQL, and a cold-start app fleet")
    fig.tight_layout()
    fig.savefig(out_dir / "scale.png", dpi=110)
    plt.close(fig)
    return "scale.png"
