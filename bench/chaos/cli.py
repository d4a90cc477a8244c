"""`python -m bench chaos` and `python -m bench soak`: run, print the figures, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import report, run, soak
from .scenario import SIZES

OUT = Path(__file__).resolve().parents[1] / "out"  # bench/out/, git-ignored


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _write(payload: dict[str, Any], path: str | None, default: str) -> None:
    target = Path(path) if path else OUT / default
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=1, default=str))
    say(f"wrote {target}")


def chaos_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench chaos",
        description="Users working on serve --workers 2 + PostgreSQL through six faults.",
    )
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="bench",
        help="bench: 200 users, ~5 min (default); ci: what the test runs",
    )
    parser.add_argument("--json", dest="json_path", help="results file (default bench/out/)")
    args = parser.parse_args(argv)
    found = run(args.size, say=say)
    print(report.text(found))
    _write(found, args.json_path, f"chaos-{args.size}.json")
    broken = sum(
        len(f["during"]["violations"]) + len(f["recovery"]["violations"]) for f in found["faults"]
    )
    return 1 if broken or found["tokens_lost"] else 0


def soak_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench soak",
        description="Moderate load for a long time; RSS, fds by kind, DB connections over time.",
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument(
        "--think", type=float, default=0.5, help="seconds between a user's requests"
    )
    parser.add_argument("--interval", type=float, help="seconds between samples")
    parser.add_argument("--json", dest="json_path", help="results file (default bench/out/)")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 24 * 60 or not 0 < args.users <= 1000:
        parser.error("--minutes in (0, 1440], --users in (0, 1000]")
    found = soak.run(args.minutes, args.users, args.think, args.interval, say=say)
    print(json.dumps(found["criteria"], indent=1))
    _write(found, args.json_path, "soak.json")
    return 0 if found["criteria"]["pass"] else 1
