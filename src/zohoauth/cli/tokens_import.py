"""`zohoauth tokens import-sdk`: move the official SDK's tokens into the encrypted store.

The work is `zohoauth.sdk._importer`; this shell reads the input, shows a progress bar, prints
every row that was not imported with the reason, and writes a per-row report on request.
Exit 0 when every row is imported, updated or unchanged; 3 when some rows were reported
instead; 1 when nothing could be done (missing file, wrong format, unreachable database).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from .app import EXIT_PARTIAL, DataCenterCode, console, err_console, fail, run, settings, tokens_app


@tokens_app.command("import-sdk")
def import_sdk(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="The SDK's FileStore CSV (10 or 9 columns).")
    ] = None,
    mysql: Annotated[
        str | None, typer.Option(help="The SDK's DBStore, e.g. mysql://root@localhost/zohooauth.")
    ] = None,
    table: Annotated[str, typer.Option(help="DBStore table name.")] = "oauthtoken",
    dc: Annotated[
        DataCenterCode | None,
        typer.Option(
            case_sensitive=False, help="Data center of rows without api_domain (old files)."
        ),
    ] = None,
    use_row_secrets: Annotated[
        bool,
        typer.Option(
            "--use-row-secrets",
            help="Refresh rows of other clients with the client secret in the row (used in "
            "memory for that one refresh, never stored).",
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Zoho requests in flight.")] = 8,
    report: Annotated[
        Path | None, typer.Option(help="Write every row's outcome to this CSV file.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every row's outcome as JSON.")
    ] = False,
) -> None:
    """Import tokens the official Zoho SDK stored (file or MySQL); safe to run twice."""
    if (csv_file is None) == (mysql is None):
        fail("give exactly one of --csv FILE or --mysql URL", 2)
    code = dc.value if dc else None
    results, refreshes = run(_import(csv_file, mysql, table, code, use_row_secrets, concurrency))
    if report is not None:
        _write_report(report, results)
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            if not r.ok:
                style = "yellow" if r.outcome == "skipped" else "red"
                console.print(
                    f"line {r.line}: [{style}]{r.outcome}[/{style}] {r.label} — {r.detail}",
                    highlight=False,
                )
    from ..sdk._formats import OUTCOMES

    counts = {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES}
    summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n) or "nothing"
    err_console.print(
        f"{len(results)} row(s): {summary}; {refreshes} refresh request(s) sent to Zoho",
        highlight=False,
    )
    if any(not r.ok for r in results):
        raise typer.Exit(EXIT_PARTIAL)


async def _import(
    csv_file: Path | None,
    mysql: str | None,
    table: str,
    dc: str | None,
    use_row_secrets: bool,
    concurrency: int,
) -> tuple[list[Any], int]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .. import wiring
    from .._http import ZohoHTTP
    from ..sdk._formats import ImportPolicy
    from ..sdk._importer import SDKImporter, read_csv, read_db
    from .datadir import require
    from .tokens import open_store

    s = settings()
    require(s, "encryption_keys")  # before reading anything: fail fast on config
    registry = wiring.dc_registry(s)
    if dc is not None:
        dc = registry.get(dc).code
    if csv_file is not None:
        rows, unreadable = read_csv(csv_file)
    else:
        assert mysql is not None
        rows, unreadable = await read_db(mysql, table), []
    policy = ImportPolicy(
        client_id=s.client_id,
        client_secret=s.client_secret.get_secret_value(),
        client_secrets=s.client_secret_map(),
        use_row_secrets=use_row_secrets,
        dc=dc,
    )
    pool = concurrency * 2  # connections in all, to any one host too
    async with (
        open_store(s) as store,
        ZohoHTTP(limit=pool, limit_per_host=pool, ca_bundle=s.ca_bundle or None) as http,
    ):
        importer = SDKImporter(store, registry, http, policy, concurrency=concurrency)
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[bad]} not imported"),
            console=err_console.get(),
            transient=True,
        ) as progress:
            bad = len(unreadable)  # short or long lines count as done (and not imported)
            task = progress.add_task("import", total=len(rows) + bad, completed=bad, bad=bad)

            def advance(result: Any) -> None:
                nonlocal bad
                bad += 0 if result.ok else 1
                progress.update(task, advance=1, bad=bad)

            results = await importer.run(rows, advance)
    return sorted([*unreadable, *results], key=lambda r: r.line), importer.refreshes


def _write_report(path: Path, results: list[Any]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["line", "user", "outcome", "detail", "dc", "connection_id"])
            for r in results:
                writer.writerow([r.line, r.label, r.outcome, r.detail, r.dc, r.connection_id])
    except OSError as exc:
        fail(f"could not write the report {path} ({exc.strerror or exc})")
