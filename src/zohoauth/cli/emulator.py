"""`zohoauth emulator`: the Zoho emulator alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app, console, err_console


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port for every DC, the consent page and the admin API.")
    ] = 9090,
    seed: Annotated[
        Path | None, typer.Option(help="JSON seed file (orgs, users, clients, records, limits).")
    ] = None,
) -> None:
    """Run the Zoho emulator: Accounts and CRM v8 for all nine data centers on one port."""
    from ..emulator.seed import load_seed
    from ..emulator.server import serve

    try:
        data = load_seed(seed)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    base = f"http://{host}:{port}"
    console.print(f"Zoho emulator on [bold]{base}[/bold]")
    console.print(f"  endpoints: {base}/_emulator/endpoints   accounts: {base}/_emulator/users")
    console.print(f"  consent page: {base}/us/accounts/oauth/v2/auth   (Ctrl-C to stop)")
    try:
        serve(host, port, data)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
