"""Chaos and soak runs of `zohoauth serve --workers 2` on PostgreSQL against the emulator.

    uv run python -m bench chaos [--size bench|ci] [--json FILE]
    uv run python -m bench soak [--minutes 30] [--users 40] [--json FILE]

The chaos scenario (`scenario.py`) is the same code `tests/chaos/test_chaos.py` runs at its
`ci` size; `bench` is 200 users over about five minutes. Modules: `postgres.py` (a throwaway
cluster the run may restart), `recorder.py` (the emulator with its token requests logged),
`stack.py` (the three servers), `users.py` (logins and the bounded load), `verdict.py` (what
counts as a correct answer under a fault), `scenario.py` (the faults), `report.py` (the
figures), `soak.py` (RSS, file descriptors and database connections over time), `fds.py`
(each descriptor's kind: emulator / PostgreSQL / user connection, pipe, file, ...).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

from .._common import machine
from . import report
from .scenario import SIZES, Scenario, Size
from .stack import Stack


def run(size: str | Size = "ci", say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the chaos scenario at `size`; returns the report (`report.build`) with the raw
    phases, the store's rows, the app's log and the machine it ran on."""
    chosen = SIZES[size] if isinstance(size, str) else size
    started = time.time()
    info = machine()
    with Stack(chosen.users + 6 * chosen.probes + 4) as stack:
        scenario = Scenario(stack, chosen, say)
        raw = asyncio.run(scenario.run())
        assert scenario.load is not None
        time.sleep(1)  # let in-flight refreshes settle before the store is read
        now = time.time()
        token_log = stack.token_requests()
        found = report.build(
            raw, scenario.load.samples, token_log, scenario.revoked, scenario.load.revealing
        )
        found["store"] = report.store(stack.credentials(), stack.connections(), now)
        assert stack.log is not None
        found["app_log"] = {
            "statuses": dict(sorted(stack.log.statuses.items())),
            "errors": stack.log.errors,
        }
        found["messages"] = scenario.load.messages
        found["emulator_stats"] = stack.admin("/_emulator/stats")
        found["app_alive"] = stack.app_alive()
        found["workers"] = stack.workers
        assert stack.pg is not None
        found["postgres"] = stack.pg.mode
    found["size"] = dataclasses.asdict(chosen)
    found["seconds"] = round(time.time() - started, 1)
    found["machine"] = info | {"loadavg_at_end": list(os.getloadavg())}
    found["phases"] = raw["phases"]
    # Everything the figures come from, so a report can be worked out again without a rerun.
    found["raw"] = {
        "samples": [
            [round(x.t0, 3), round(x.t1, 3), x.user, x.op, x.kind, x.verdict]
            for x in scenario.load.samples
        ],
        "token_requests": token_log,
    }
    return found


__all__ = ["SIZES", "Size", "run"]
