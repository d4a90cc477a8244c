"""The `zohoauth` command line (Typer). One module per command group; each registers itself
on the shared app when imported here."""

from __future__ import annotations

from . import (  # noqa: F401  (registers commands)
    db,
    doctor,
    emulator,
    keys,
    service,
    tokens,
    tokens_import,
    web,
    worker,
)
from .app import app, with_data_dir_option

#: Commands that never open the token store, so take no `--data-dir` (`demo` has its own).
NO_DATA_DIR = frozenset({"serve", "emulator", "keys generate"})
with_data_dir_option(app, NO_DATA_DIR)


def main() -> None:
    app()


__all__ = ["app", "main"]
