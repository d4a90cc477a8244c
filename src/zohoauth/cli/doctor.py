"""`zohoauth doctor`: one line per check, non-zero exit when any check fails."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import EXIT_FAILED, app, console, settings

_MARK = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}


@app.command()
def doctor(
    network: Annotated[
        bool, typer.Option(help="Also check that each data center answers (short timeouts).")
    ] = True,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also compare the built-in data-center table with Zoho's own list "
            "(GET /oauth/serverinfo at the Multi-DC sign-in, or the emulator's).",
        ),
    ] = False,
) -> None:
    """Check settings, database, encryption keys, Zoho's data centers, the client secrets each
    DC uses and the redirect URI."""
    import asyncio

    from rich.markup import escape

    from ..errors import ZohoAuthError
    from ..ops.checks import Check, run_checks

    try:
        s = settings()
    except ZohoAuthError as exc:
        checks = [Check("settings", "fail", str(exc))]
    else:
        checks = asyncio.run(run_checks(s, network=network, online=online))
    for check in checks:
        console.print(
            f"{_MARK[check.level]} {check.name}: {escape(check.message)}", highlight=False
        )
    failed = sum(1 for c in checks if c.failed)
    if failed:
        console.print(f"{failed} check(s) failed")
        raise typer.Exit(EXIT_FAILED)
    console.print("all checks passed")
