"""The benchmark's report tooling on a tiny synthetic result, so it cannot rot unnoticed.

No timing is measured or asserted here (speed lives in `bench/`): this feeds made-up numbers
in the shapes the workloads return through `bench.report` and checks the JSON has every key
the published results promise, that the table, markdown and plots come out, that the page's
template leaves no placeholder unfilled, and that `python -m bench` (its workloads replaced by
the synthetic result) writes to its scratch or --out directory and never over docs/ unless told
to publish a full run. The published page must be what the report makes of the published
results.json, so a change to the report shows up as a change to docs/benchmarks.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the benchmark's plots need matplotlib (dev dependency)")

import bench.__main__ as bench_main
from bench import report
from bench._common import spread
from bench.report import cli as report_cli
from bench.report import render
from bench.report.text import page_template, pieces

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLACEHOLDER = re.compile(r"\$(?:[_a-z][_a-z0-9]*|\{[^}]*\})", re.IGNORECASE)

SIZES = (1_000, 10_000, 100_000)


def _lookup_engine(engine: str, base: float) -> dict[str, Any]:
    return {
        "engine": engine,
        "sizes": {
            n: {
                "hit": spread([3.0, 3.1, 3.2]),
                "hit_full": spread([3.0 + i, 3.2 + i]),
                "store": spread([base, base * 1.1]),
                "manager": spread([base, base * 1.05]),
            }
            for i, n in enumerate(SIZES)
        },
    }


def _sdk_lookup(per_row_us: float) -> dict[str, Any]:
    return {
        "sizes": {
            str(n): {
                "by_id": spread([per_row_us * n, per_row_us * n * 1.1]),
                "by_user": spread([per_row_us * n / 2]),
            }
            for n in SIZES
        },
        "file_mb": {str(n): n * 0.00037 for n in SIZES},
    }


def _web_run(rps: float, p50: float, p99: float) -> dict[str, Any]:
    return {
        "requests": 100,
        "errors": 0,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "cpu_servers": [0.3, 0.9],
        "cpu_loadgen": 0.2,
        "cpu_others": 0.1,
    }


def _crm(transport: str) -> dict[str, Any]:
    return {
        "transport": transport,
        "calls_per_round": 10,
        "rounds": 2,
        "per_call_us": {
            "raw_httpx": spread([500.0, 510.0]),
            "raw_aiohttp": spread([400.0, 410.0]),
            "zohoauth": spread([430.0, 440.0]),
            "sdk": spread([1500.0, 1600.0]),
        },
        "client_cpu_per_call_us": {
            "raw_httpx": spread([300.0]),
            "raw_aiohttp": spread([150.0]),
            "zohoauth": spread([180.0]),
            "sdk": spread([1200.0]),
        },
        "zohoauth_vs_raw_httpx": spread([0.86, 0.87]),
        "raw_aiohttp_us": spread([400.0, 410.0]),
        "zohoauth_vs_raw_aiohttp": {
            "wall": spread([1.07, 1.08]),
            "client_cpu": spread([1.2]),
        },
        "sdk_vs_zohoauth": spread([3.4, 3.6]),
    }


def _startup() -> dict[str, Any]:
    out: dict[str, Any] = {"runs": 2}
    for name, s in (
        ("python", 0.02),
        ("import_zohoauth", 0.05),
        ("import_zohoauth_facade", 0.6),
        ("zohoauth_help", 0.35),
        ("import_typer", 0.1),
        ("sdk_import", 1.2),
    ):
        out[f"{name}_s"] = spread([s, s * 1.1])
        out[f"{name}_cpu_s"] = spread([s * 0.9])
    return out


def _scale_run(n: int, workers: int, lag: float, statements: float) -> dict[str, Any]:
    return {
        "n": n,
        "workers": workers,
        "backlog": 500,
        "refreshes_per_second": 27.5 * workers,
        "p99_lag_seconds": lag,
        "steady_refreshed": n // 360,
        "steady_expected": n / 360,
        "statements_per_refresh": statements,
        "db_connections_max": 16 * workers,
        "claim_query_ms": 0.27,
        "double_refreshes": 0,
    }


#: What `bench.scale.run` answers: 10k and 100k credentials, 1 and 4 workers, a fleet.
SCALE = {
    "runs": [
        _scale_run(10_000, 1, 1.2, 2.15),
        _scale_run(10_000, 4, 3.0, 4.0),
        _scale_run(100_000, 1, 9.0, 2.2),
        # 4 workers at 100k: lag 75 s misses the 60 s target; statements 4.0 → 6.0 is 1.5×,
        # which misses "work per refresh does not grow with N" (≤ 1.25×).
        _scale_run(100_000, 4, 75.0, 6.0),
    ],
    "lag_target_seconds": 60.0,
    "window_seconds": 10.0,
    "fleet": {
        "users": 10_000,
        "runs": [
            {
                "apps": a,
                "users": 10_000,
                "concurrency_per_app": 8,
                "lookups": 10_000 * a,
                "errors": 0,
                "seconds": 10.0 * a,
                "lookups_per_second": 1000.0,
                "p50_ms": 4.0 * a,
                "p99_ms": 12.5 * a,
                "statements_per_lookup": 1.01,
                "db_connections_max": 6 * a + 1,
                "zoho_refreshes": 0,
            }
            for a in (1, 2, 4)
        ],
    },
}


def synthetic() -> dict[str, Any]:
    storm_zoho = {
        "engine": "sqlite",
        "processes": 4,
        "callers_per_process": 50,
        "refresh_requests": 1,
        "reads_failed": 0,
        "corrupted_rows": 0,
    }
    storm_sdk = {"threads": 200, "refresh_requests": 6, "reads_failed": 3, "corrupted_rows": 1}
    return {
        "when": "2026-01-01T00:00:00+0000",
        "quick": True,
        "seconds": 1.0,
        "machine": {
            "cpus": 2,
            "cpu_model": "test CPU",
            "memory_gb": 1.0,
            "python": "3.11",
            "versions": {"zohoauth": "0.1.0"},
            "loadavg_at_start": [0.5, 0.5, 0.5],
            "loadavg_at_end": [0.6, 0.5, 0.5],
        },
        "lookup": {
            "zohoauth": [
                _lookup_engine("sqlite", 800.0),
                _lookup_engine("postgres", 900.0),
                _lookup_engine("mysql", 1200.0),
            ],
            "sdk": {"file": _sdk_lookup(3.0), "db": _sdk_lookup(0.01)},
            "skipped": {},
        },
        "refresh_storm": {
            "zohoauth": [storm_zoho, {**storm_zoho, "engine": "postgres", "variant": "slow"}],
            "sdk": [storm_sdk, {**storm_sdk, "token_latency_ms": 150, "variant": "slow"}],
            "zohoauth_refresh_requests": 1,
            "sdk_refresh_requests": 6,
            "sdk_corrupted_rows": 1,
            "sdk_with_token_latency": {"refresh_requests": 6, "corrupted_rows": 1},
        },
        "crm": _crm("https (TLS 1.3, loopback)"),
        "crm_plain_http": _crm("plain http (loopback)"),
        "web": {
            "users": 4,
            "closed_loop": {"app": _web_run(400, 30, 90), "direct": _web_run(4000, 3, 9)},
            "fixed_rate": {
                "rps": 200,
                "app": _web_run(200, 4, 12),
                "direct": _web_run(200, 1, 4),
            },
            "p99_vs_emulator_direct": 3.0,
            "p99_vs_emulator_direct_closed_loop": 10.0,
            "throughput_vs_emulator_direct": 0.1,
        },
        "token_api": {
            "users": 4,
            "api": {"closed_loop": _web_run(700, 10, 30), "one_connection": _web_run(650, 1, 6)},
            "library": {
                "one_task": _web_run(700_000, 0.001, 0.002),
                "one_task_per_user": _web_run(450_000, 0.002, 0.003),
            },
            "api_rps": 700,
            "api_p99_ms": 30,
            "library_p99_us": 2.0,
            "p99_vs_library": 3000.0,
        },
        "startup": _startup(),
        "scale": copy.deepcopy(SCALE),
        "invalidation": {
            "engines": {
                "sqlite": {
                    "engine": "sqlite",
                    "rows": 1000,
                    "hit_us": spread([1.5, 1.6, 1.4]),
                    "recheck_us": spread([300.0, 310.0, 290.0]),
                    "verify_us": spread([300.0, 320.0, 280.0]),
                    "cold_read_us": spread([400.0, 410.0, 390.0]),
                    "verify_vs_cold_read": 0.75,
                    "recheck_interval_s": 1.0,
                    "feed": False,
                }
            },
            "skipped": {},
        },
    }


def test_report_from_a_synthetic_result(tmp_path: Path) -> None:
    doc = report.summarize(synthetic())
    doc["notes"] = report.auto_notes(doc)
    published = json.loads(report.dumps(doc))
    assert published["invalidation"]["engines"]["sqlite"]["verify_vs_cold_read"] == 0.75

    assert report.missing_keys(published) == []
    assert published["lookup"]["n_users"] == list(SIZES)
    assert set(published["lookup"]["zohoauth_cache_hit_us"]) == {str(n) for n in SIZES}
    assert published["refresh_storm"]["zohoauth_refresh_requests"] == 1
    assert published["refresh_storm"]["sdk_corrupted_rows"] == 1
    # A verdict per target (the CRM ones over https and plain http); the synthetic numbers
    # meet some and miss others.
    verdicts = {t["what"]: t["met"] for t in published["targets"]}
    assert len(verdicts) == 17
    assert True in verdicts.values()
    assert False in verdicts.values()
    # The CRM target is client CPU over raw aiohttp (1.2× here: missed), not raw httpx (met).
    crm = [t for t in published["targets"] if "raw aiohttp" in t["what"]]
    assert [t["measured"] for t in crm] == [pytest.approx(1.2)] * 2
    assert not any(t["met"] for t in crm)
    # The web app: 400 req/s at 0.9 of a core is 444 req/s per core, 1.1× the baseline's 404.3;
    # 2,250 µs of CPU per request.
    web = {t["what"].split(",")[0]: t for t in published["targets"] if t["workload"] == "web"}
    assert web["web app closed-loop throughput on one worker"]["measured"] == pytest.approx(
        400 / 0.9 / 404.3
    )
    assert published["web"]["cpu_us_per_request"]["median"] == pytest.approx(2250)
    startup = {t["what"]: t["met"] for t in published["targets"] if t["workload"] == "startup"}
    assert list(startup.values()) == [True, False]  # import 0.05 s; --help 0.35 s
    # The refresher: 4 workers at the most credentials (100k), and statements per refresh from
    # 10k to 100k, the worst worker count (4: 4.0 → 6.0).
    scale = [t for t in published["targets"] if t["workload"] == "scale"]
    assert [t["measured"] for t in scale] == [75.0, pytest.approx(1.5)]
    assert "4 workers, 100,000 active users" in scale[0]["what"]
    assert not any(t["met"] for t in scale)
    met = copy.deepcopy(doc)
    met["scale"]["runs"][-1] |= {"p99_lag_seconds": 30.0, "statements_per_refresh": 4.4}
    assert [t["met"] for t in report.targets(met) if t["workload"] == "scale"] == [True, True]
    # A small lag from workers that fell behind (a third of the due refreshes done) is no pass.
    met["scale"]["runs"][-1]["steady_refreshed"] = 90
    assert [t["met"] for t in report.targets(met) if t["workload"] == "scale"] == [False, True]
    assert (
        "4 worker(s) at 100,000 credentials did 90 of the 278 refreshes due"
        in (report.auto_notes(met)["scale"])
    )
    for runs in ([], [r for r in SCALE["runs"] if r["n"] == 10_000 or r["workers"] == 1]):
        gone = copy.deepcopy(doc)
        gone["scale"]["runs"] = copy.deepcopy(runs)
        judged = [t for t in report.targets(gone) if t["workload"] == "scale"]
        assert [t["met"] for t in judged] == [False, False]  # not measured is not met
        assert judged[0]["measured"] is None

    assert published["crm"]["plain_http"]["sdk_vs_zohoauth"] == pytest.approx(3.5)
    assert published["crm"]["raw_aiohttp_us"]["median"] == pytest.approx(405)
    text = report.text_report(doc)
    assert "Targets" in text
    assert "over plain http" in text
    assert "SDK FileStore.find_token_by_id" in text
    assert "token API vs a direct library call" in text
    assert published["token_api"]["p99_vs_library"] == 3000.0
    assert "raw aiohttp, fixed token" in text
    assert "`zohoauth --help`" in text
    assert "Background refresher at scale" in text and "Cold-start app fleet" in text

    path = report.write_report(doc, tmp_path)
    markdown = path.read_text()
    assert markdown.startswith("# Benchmarks")
    for image in (
        "lookup.png",
        "refresh_storm.png",
        "crm.png",
        "web.png",
        "startup.png",
        "scale.png",
    ):
        assert (tmp_path / "benchmarks" / image).read_bytes().startswith(b"\x89PNG")
        assert f"benchmarks/{image}" in markdown
    assert "test CPU" in markdown
    # The scale section: the refresher's table (every N and worker count), the fleet's, the
    # notes that read them.
    section = markdown[markdown.index("## 6. The background refresher at scale") :]
    assert "| 100,000 | 4 | 110 | 277 / 278 | 75.0 | 6.00 | 64 | 0.27 | 0 |" in section
    assert "| 4 | 40,000 | 1,000 | 16.0 | 50.0 | 1.01 | 25 | 0 | 0 |" in section
    assert "p99 lag was 75.0 s (target < 60 s)" in section
    assert "1 worker(s) 2.15 → 2.20, 4 worker(s) 4.00 → 6.00 (worst ratio 1.50×)" in section
    assert "1,000/s with 4 apps together" in section
    assert "come from their own run" not in section  # measured with the rest of the page
    apart = copy.deepcopy(doc)
    apart["scale"] |= {"when": "2026-01-02T00:00:00+0000", "loadavg": [6.5, 7.25]}
    assert (
        "on 2026-01-02T00:00:00+0000, load average 6.50 at its start and 7.25 at its end"
        in report.markdown(apart, [])
    )
    written = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert report.missing_keys(written) == []


def test_missing_keys_are_named() -> None:
    assert "lookup.n_users" in report.missing_keys({"lookup": {}})
    assert report.missing_keys({}) == list(report.REQUIRED_KEYS)


# -- the template ------------------------------------------------------------------------------


def _partial(keep: str) -> dict[str, Any]:
    """The synthetic result as `--only keep` would return it."""
    raw = synthetic()
    workloads = ("lookup", "refresh_storm", "crm", "crm_plain_http", "web")
    for key in (*workloads, "token_api", "startup", "invalidation", "scale"):
        if not key.startswith(keep):
            raw.pop(key)
    return raw


@pytest.mark.parametrize(
    "only", [None, "lookup", "refresh_storm", "crm", "web", "startup", "scale"]
)
def test_the_template_fills_every_placeholder(only: str | None) -> None:
    doc = report.summarize(synthetic() if only is None else _partial(only))
    doc["notes"] = report.auto_notes(doc)
    images = ["lookup.png", "refresh_storm.png", "crm.png", "web.png", "startup.png", "scale.png"]
    values = render.page_values(doc, images)
    assert set(page_template().get_identifiers()) <= set(values)
    assert page_template().is_valid()
    markdown = report.markdown(doc, images)
    assert PLACEHOLDER.search(markdown) is None, PLACEHOLDER.search(markdown)
    for note in doc["notes"].values():
        assert "$" not in note
    assert "\n\n\n" not in markdown
    assert "](../bench/CHANGELOG.md)" in markdown
    assert ("## 6. The background refresher at scale" in markdown) == (only in (None, "scale"))


def test_every_piece_is_valid_and_the_page_uses_both_transports() -> None:
    assert all(piece.is_valid() for piece in pieces().values())
    doc = report.summarize(synthetic())
    doc["notes"] = report.auto_notes(doc)
    markdown = report.markdown(doc, [])
    assert "**Over https** (Zoho is only served over https" in markdown
    assert "**Over plain http** (loopback without TLS" in markdown
    # The dated list of fixes lives in bench/CHANGELOG.md, not in the page or its notes.
    assert "fixes" not in doc["notes"]
    assert "**Token lookup** (" not in markdown
    assert "## 2026-" in (ROOT / "bench" / "CHANGELOG.md").read_text()


def test_the_published_page_is_what_the_report_makes_of_the_published_results(
    tmp_path: Path,
) -> None:
    published = DOCS / "benchmarks" / "results.json"
    assert bench_main.main(["report", "--from", str(published), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "benchmarks.md").read_text() == (DOCS / "benchmarks.md").read_text()
    again = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert again == json.loads(published.read_text())


# -- where python -m bench writes --------------------------------------------------------------


def _published_files() -> dict[str, tuple[int, str]]:
    files = [DOCS / "benchmarks.md", *sorted((DOCS / "benchmarks").iterdir())]
    return {
        str(f.relative_to(ROOT)): (f.stat().st_mtime_ns, hashlib.sha256(f.read_bytes()).hexdigest())
        for f in files
    }


def test_the_scale_table_names_every_figure() -> None:
    from bench import scale

    text = scale.report(copy.deepcopy(SCALE))
    assert "10,000" in text and "27.5" in text and "2.15" in text
    assert "Cold-start app fleet, 10,000 distinct users" in text
    assert "1.01" in text and "40,000" in text


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    """`bench.__main__.main` with every workload answering the synthetic result at once, the
    scratch directory in tmp_path; returns how often the workloads ran."""
    calls = {"workloads": 0}
    raw = synthetic()

    def answer(key: str) -> Any:
        def workload(*_args: Any, **kwargs: Any) -> Any:
            calls["workloads"] += 1
            if key == "crm" and not kwargs.get("tls", True):
                return copy.deepcopy(raw["crm_plain_http"])
            return copy.deepcopy(raw[key])

        return workload

    monkeypatch.setattr(bench_main, "machine_info", lambda: copy.deepcopy(raw["machine"]))
    monkeypatch.setattr(bench_main, "sdk_available", lambda: None)
    monkeypatch.setattr(bench_main, "run_lookup", answer("lookup"))
    monkeypatch.setattr(bench_main.storm, "run", answer("refresh_storm"))
    monkeypatch.setattr(bench_main.crm_cost, "run", answer("crm"))
    monkeypatch.setattr(bench_main.web_load, "run", answer("web"))
    monkeypatch.setattr(bench_main.token_api, "run", answer("token_api"))
    monkeypatch.setattr(bench_main.startup, "run", answer("startup"))
    monkeypatch.setattr(bench_main.scale, "run", lambda *_a, **_k: copy.deepcopy(SCALE))
    monkeypatch.setattr(bench_main.invalidation, "run", answer("invalidation"))
    monkeypatch.setattr(report_cli, "SCRATCH", tmp_path / "scratch")
    return calls


def test_a_quick_run_writes_to_scratch_or_out_and_leaves_docs_alone(
    fake_run: dict[str, int], tmp_path: Path
) -> None:
    before = _published_files()

    assert bench_main.main(["--quick"]) == 0
    page = (tmp_path / "scratch" / "benchmarks.md").read_text()
    assert "python -m bench --quick" in page
    written = json.loads((tmp_path / "scratch" / "benchmarks" / "results.json").read_text())
    assert written["quick"] is True
    assert (tmp_path / "scratch" / "benchmarks" / "lookup.png").is_file()

    assert bench_main.main(["--quick", "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "benchmarks.md").is_file()
    assert fake_run["workloads"] == 16  # 8 a run: lookup, storm, crm ×2, web, token_api, startup,
    # invalidation (scale is stubbed apart)

    assert _published_files() == before


@pytest.mark.parametrize(
    "argv",
    [
        ["--quick", "--publish"],
        ["--only", "lookup,storm", "--publish"],
        ["--publish", "--out", "somewhere"],
        ["--out", str(DOCS)],
        ["--quick", "--out", str(DOCS / "benchmarks")],
        ["--no-report", "--publish"],
    ],
)
def test_runs_that_would_overwrite_the_published_report_are_refused_before_measuring(
    fake_run: dict[str, int], argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _published_files()
    with pytest.raises(SystemExit) as exc:
        bench_main.main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert fake_run["workloads"] == 0
    assert _published_files() == before


def test_a_full_run_publishes_only_when_told(
    fake_run: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _published_files()
    monkeypatch.setattr(report_cli, "PUBLISHED", tmp_path / "docs")

    assert bench_main.main([]) == 0
    assert (tmp_path / "scratch" / "benchmarks.md").is_file()
    assert not (tmp_path / "docs").exists()

    assert bench_main.main(["--publish"]) == 0
    published = json.loads((tmp_path / "docs" / "benchmarks" / "results.json").read_text())
    assert published["quick"] is False
    assert published["settings"]["workloads"] == list(bench_main.WORKLOADS)
    assert _published_files() == before


def test_report_from_a_quick_result_will_not_publish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = report.summarize(synthetic())  # quick: True
    source = tmp_path / "results.json"
    source.write_text(report.dumps(doc))
    before = _published_files()
    with pytest.raises(SystemExit):
        bench_main.main(["report", "--from", str(source), "--publish"])
    assert "--quick run" in capsys.readouterr().err
    assert bench_main.main(["report", "--from", str(source), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "benchmarks.md").is_file()
    assert _published_files() == before
