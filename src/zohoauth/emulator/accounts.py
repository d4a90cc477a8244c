"""Zoho Accounts over HTTP for every DC: consent page, token endpoint, revoke. (being built)"""

from __future__ import annotations

from starlette.routing import BaseRoute

from .state import EmulatorState


def build_routes(state: EmulatorState) -> list[BaseRoute]:
    return []
