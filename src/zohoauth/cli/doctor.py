"""`zohoauth doctor`: one line per check, non-zero exit when any check fails.

Without the settings every installation needs, it starts with one "not configured: set X, Y"
section (and where the demo's data dir could supply them), and the checks that need those
settings say "not run" and why instead of failing one by one (`ops/checks.run_checks`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .app import EXIT_FAILED, app, console, settings_and_source

_MARK = {
    "ok": "[green]✓[/green]",
    "warn": "[yellow]![/yellow]",
    "fail": "[red]✗[/red]",
    "not_run": "[dim]-[/dim]",
}


@app.command()
def doctor(
    network: Annotated[
        bool,
        typer.Option(
            "--network/--no-network",
            help="Check that each enabled data center answers (short timeouts), once the "
            "client and key are set.",
        ),
    ] = True,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also compare the built-in data-center table with Zoho's own list "
            "(GET /oauth/serverinfo at the Multi-DC sign-in, or the emulator's).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The checks as one JSON object, for scripts.")
    ] = False,
) -> None:
    """Check settings, database, encryption keys, Zoho's data centers, the client secrets each
    DC uses and the redirect URI."""
    import asyncio

    from ..errors import ZohoAuthError
    from ..ops.checks import Check, missing_settings, run_checks
    from .datadir import missing_help

    notes: list[Check] = []
    section = None
    try:
        s, filled = settings_and_source()
    except ZohoAuthError as exc:
        checks = [Check("settings", "fail", str(exc))]
    else:
        if filled.values:
            from ..config import env_name

            names = ", ".join(env_name(n) for n in filled.names)
            notes.append(Check("data dir", "ok", f"{names} from the data dir {filled.directory}"))
        missing = missing_settings(s)
        if missing:
            section = missing_help(s, missing)
        checks = asyncio.run(run_checks(s, network=network, online=online))
    checks = [*checks[:1], *notes, *checks[1:]]
    failed = sum(1 for c in checks if c.failed)
    if as_json:
        doc: dict[str, Any] = {
            "ok": not failed,
            "not_configured": section,
            "checks": [{"name": c.name, "level": c.level, "message": c.message} for c in checks],
        }
        print(json.dumps(doc, indent=2))
    else:
        _print(section, checks, failed)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _print(section: str | None, checks: list[Any], failed: int) -> None:
    from rich.markup import escape

    if section:
        console.print(f"[red]{escape(section)}[/red]\n", highlight=False)
    for check in checks:
        message = check.message if check.level != "not_run" else f"not run: {check.message}"
        console.print(f"{_MARK[check.level]} {check.name}: {escape(message)}", highlight=False)
    skipped = sum(1 for c in checks if c.level == "not_run")
    tail = f"; {skipped} not run" if skipped else ""
    if failed:
        console.print(f"{failed} check(s) failed{tail}")
    else:
        console.print(f"all checks passed{tail}")
