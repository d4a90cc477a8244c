"""`zohoauth db ...`: the token store's schema."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import console, db_app, reported, settings


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL; default ZOHOAUTH_DATABASE_URL or the SQLite file."),
    ] = None,
) -> None:
    """Create or migrate the token store's tables to the latest schema (Alembic)."""
    from ..store.migrate import upgrade
    from ..store.urls import mask_url

    with reported():
        s = settings(database_url=database_url)
        url = s.effective_database_url
        if not s.database_url:
            from ..store.files import private_dir

            private_dir(s.data_dir)  # 0700, whatever the umask
        upgrade(url)
    console.print(f"database {mask_url(url)} is at the latest schema")
