"""The `zohoauth` command line (Typer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="zohoauth",
    help="Multi-user, multi-data-center OAuth 2.0 for Zoho CRM, and an offline Zoho emulator.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _root() -> None:
    """Multi-user, multi-data-center OAuth 2.0 for Zoho CRM, and an offline Zoho emulator."""


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
    """Run the Zoho emulator: Accounts and CRM v8 for all eight data centers on one port."""
    from .emulator.seed import load_seed
    from .emulator.server import serve

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


keys_app = typer.Typer(help="Encryption keys for the token store.", no_args_is_help=True)
db_app = typer.Typer(help="The token store's database schema.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new AES-256 key for ZOHOAUTH_ENCRYPTION_KEYS (put new keys first to rotate)."""
    from .crypto import KeyRing

    print(KeyRing.generate_key())


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL; default ZOHOAUTH_DATABASE_URL or the SQLite file."),
    ] = None,
) -> None:
    """Create or migrate the token store's tables to the latest schema (Alembic)."""
    from .config import Settings
    from .errors import ZohoAuthError
    from .store.migrate import upgrade
    from .store.urls import mask_url

    try:
        settings = Settings.load()
        url = database_url or settings.effective_database_url
        if not database_url and not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(url)
    except ZohoAuthError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"database {mask_url(url)} is at the latest schema")


def main() -> None:
    app()
