"""Assemble the emulator: admin API, Accounts for every DC, CRM v8 for every DC, faults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from . import accounts, admin, crm
from .config import EmulatorConfig, make_config
from .faults import FaultMiddleware
from .seed import DEFAULT_SEED, apply_seed
from .state import EmulatorState


def create_app(
    seed: dict[str, Any] | None = None,
    config: EmulatorConfig | Mapping[str, Any] | None = None,
) -> Starlette:
    """A fresh emulated Zoho loaded with `seed` (default: the built-in seed).

    `config` is an EmulatorConfig or overrides of the default one (`{"grant_limits": False}`);
    a seed's own `config` is laid over it. The state is reachable as `app.state.emulator` for
    in-process tests.
    """
    seed = DEFAULT_SEED if seed is None else seed
    state = EmulatorState(make_config(config))
    apply_seed(state, seed)
    routes = [
        *admin.build_routes(state, seed),
        *accounts.build_routes(state),
        *crm.build_routes(state),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultMiddleware, state=state)])
    app.state.emulator = state
    return app
