"""The benchmark's report tooling on a tiny synthetic result, so it cannot rot unnoticed.

No timing is measured or asserted here (speed lives in `bench/`): this feeds made-up numbers
in the shapes the workloads return through `bench.report` and checks the JSON has every key
the published results promise, and that the table, markdown and plots come out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the benchmark's plots need matplotlib (dev dependency)")

from bench import report
from bench._common import spread

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
            "zohoauth": spread([530.0, 540.0]),
            "sdk": spread([1500.0, 1600.0]),
        },
        "client_cpu_per_call_us": {
            "raw_httpx": spread([300.0]),
            "zohoauth": spread([320.0]),
            "sdk": spread([1200.0]),
        },
        "zohoauth_vs_raw_httpx": spread([1.04, 1.06]),
        "sdk_vs_zohoauth": spread([2.9, 3.0]),
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
    }


def test_report_from_a_synthetic_result(tmp_path: Path) -> None:
    doc = report.summarize(synthetic())
    doc["notes"] = report.auto_notes(doc)
    published = json.loads(report.dumps(doc))

    assert report.missing_keys(published) == []
    assert published["lookup"]["n_users"] == list(SIZES)
    assert set(published["lookup"]["zohoauth_cache_hit_us"]) == {str(n) for n in SIZES}
    assert published["refresh_storm"]["zohoauth_refresh_requests"] == 1
    assert published["refresh_storm"]["sdk_corrupted_rows"] == 1
    # A verdict per target (the CRM ones over https and plain http); the synthetic numbers
    # meet some and miss others.
    verdicts = {t["what"]: t["met"] for t in published["targets"]}
    assert len(verdicts) == 8
    assert True in verdicts.values()
    assert False in verdicts.values()

    assert published["crm"]["plain_http"]["sdk_vs_zohoauth"] == pytest.approx(2.95)
    text = report.text_report(doc)
    assert "Targets" in text
    assert "over plain http" in text
    assert "SDK FileStore.find_token_by_id" in text

    path = report.write_report(doc, tmp_path)
    markdown = path.read_text()
    assert markdown.startswith("# Benchmarks")
    for image in ("lookup.png", "refresh_storm.png", "crm.png", "web.png"):
        assert (tmp_path / "benchmarks" / image).read_bytes().startswith(b"\x89PNG")
        assert f"benchmarks/{image}" in markdown
    assert "test CPU" in markdown
    written = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert report.missing_keys(written) == []


def test_missing_keys_are_named() -> None:
    assert "lookup.n_users" in report.missing_keys({"lookup": {}})
    assert report.missing_keys({}) == list(report.REQUIRED_KEYS)
