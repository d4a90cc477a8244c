"""`zohoauth db ...`: the token store's schema."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import console, db_app, err_console


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL; default ZOHOAUTH_DATABASE_URL or the SQLite file."),
    ] = None,
) -> None:
    """Create or migrate the token store's tables to the latest schema (Alembic)."""
    from ..config import Settings
    from ..errors import ZohoAuthError
    from ..store.migrate import upgrade
    from ..store.urls import mask_url

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
