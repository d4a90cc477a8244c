"""Alembic environment for zohoauth's token store.

Run through `zohoauth.store.migrate` (or `zohoauth db upgrade`), which opens the async engine and
hands a connection over in `config.attributes["connection"]`: one code path for SQLite,
PostgreSQL and MySQL, and no alembic.ini to ship. Offline mode (`--sql`) renders the DDL for a
DBA to review. The version table is `zohoauth_alembic_version`, so an app's own Alembic history
in the same database is left alone.
"""

from __future__ import annotations

from alembic import context

from zohoauth.store.schema import VERSION_TABLE, metadata

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run zohoauth's migrations with `zohoauth db upgrade` or zohoauth.store.migrate"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
