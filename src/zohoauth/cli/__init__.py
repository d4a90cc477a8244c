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
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
