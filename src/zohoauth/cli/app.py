"""The Typer app and its consoles, shared by every command module."""

from __future__ import annotations

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
keys_app = typer.Typer(help="Encryption keys for the token store.", no_args_is_help=True)
db_app = typer.Typer(help="The token store's database schema.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


@app.callback()
def _root() -> None:
    """Multi-user, multi-data-center OAuth 2.0 for Zoho CRM, and an offline Zoho emulator."""
