"""Where the report goes: `--out` / `--publish` of `python -m bench`, and `python -m bench report`.

Every run writes its page, plots and results.json to a scratch directory, `bench/out/`
(git-ignored), or to `--out DIR`. The published report, docs/benchmarks.md with
docs/benchmarks/*.png and docs/benchmarks/results.json, is written only with `--publish`, and
only from a full run: never from `--quick` or `--only`, never through `--out` (a directory in
docs/ is refused), so a trial run cannot overwrite the numbers the docs quote.

`python -m bench report --from FILE` renders a page again from a results.json, measuring
nothing: after a change to the templates, or to check that the report still gives the
published numbers (`--from docs/benchmarks/results.json --out DIR`, then diff).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .render import ROOT, load_results, write_report
from .summary import missing_keys

PUBLISHED = ROOT / "docs"
SCRATCH = ROOT / "bench" / "out"

EPILOG = """\
where the report goes:
  Every run writes benchmarks.md, its plots and results.json to bench/out/ (git-ignored), or to
  --out DIR. Only --publish writes the published report (docs/benchmarks.md, docs/benchmarks/),
  and only from a full run: it is refused with --quick or --only, and --out never points into
  docs/.

render a page again from saved results, measuring nothing:
  python -m bench report --from docs/benchmarks/results.json [--out DIR | --publish]
"""


def add_output_args(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("report output")
    out.add_argument(
        "--out",
        metavar="DIR",
        help="write benchmarks.md, its plots and results.json here (default: bench/out/)",
    )
    out.add_argument(
        "--publish",
        action="store_true",
        help="write the published report, docs/benchmarks.md and docs/benchmarks/ (full runs only)",
    )


def output_dir(
    parser: argparse.ArgumentParser, args: argparse.Namespace, partial: str | None
) -> Path:
    """The directory the report goes to. `partial` says why the results are not a full run (None
    if they are); `parser.error` (exit 2) for any combination that could write into docs/."""
    if args.publish:
        if args.out:
            parser.error("--publish writes docs/; it takes no --out")
        if partial:
            parser.error(
                f"--publish is for a full run, and this is {partial}: leave --publish out "
                "(the report goes to bench/out/) or give --out DIR"
            )
        return PUBLISHED
    out = Path(args.out) if args.out else SCRATCH
    if out.resolve().is_relative_to(PUBLISHED.resolve()):
        parser.error(
            f"--out {args.out}: docs/ holds the published report, which only --publish writes"
        )
    return out


def partial_run(quick: bool, workloads: Sequence[str], every: Sequence[str]) -> str | None:
    """Why results with these settings must not be published; None for a full run."""
    if quick:
        return "a --quick run"
    if set(workloads) != set(every):
        return f"a run of {', '.join(workloads)} only"
    return None


def report_main(argv: list[str], every: Sequence[str]) -> int:
    """`python -m bench report --from FILE [--out DIR | --publish]`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench report",
        description="Render the benchmark report again from a results.json, measuring nothing: "
        "benchmarks.md, its plots and results.json (its notes worded afresh from its numbers).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="FILE",
        help="a results.json written by python -m bench (e.g. docs/benchmarks/results.json)",
    )
    add_output_args(parser)
    args = parser.parse_args(argv)
    try:
        doc = load_results(Path(args.source))
    except (OSError, ValueError) as exc:
        parser.error(f"--from {args.source}: {exc}")
    settings: dict[str, Any] = doc.get("settings") or {}
    partial = partial_run(bool(doc.get("quick")), settings.get("workloads", every), every)
    missing = missing_keys(doc)
    if args.publish and missing and not partial:
        partial = f"missing {', '.join(missing)}"
    out = output_dir(parser, args, partial)
    path = write_report(doc, out)
    print(f"wrote {path}, its plots and results.json", file=sys.stderr)
    return 0
