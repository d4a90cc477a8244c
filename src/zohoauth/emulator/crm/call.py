"""One CRM call as the handlers see it, plus the parsing every handler shares.

Handlers get a `Call` (state, request, caller, resolved module and id) and return a Response or
raise `CrmError`. Query parameters and JSON bodies are parsed here, defensively: garbage in gives
Zoho's 400 envelope, never a 500.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from ..modules import ModuleDef
from ..state import EmulatorState
from . import errors
from .auth import Caller


@dataclass(slots=True)
class Call:
    state: EmulatorState
    request: Request
    caller: Caller
    module: ModuleDef | None = None
    record_id: str | None = None

    @property
    def params(self) -> QueryParams:
        return self.request.query_params

    @property
    def mod(self) -> ModuleDef:
        assert self.module is not None  # set by the router for every module route
        return self.module

    def records(self) -> dict[str, dict[str, Any]]:
        """This org's records of this module (created on first write if absent)."""
        return self.state.records.setdefault((self.caller.zgid, self.mod.api_name), {})

    def now(self) -> str:
        return zoho_time(self.state.clock.now())


def zoho_time(epoch: float) -> str:
    """Zoho's datetime format: ISO 8601 to the second, with offset: `2024-05-01T10:00:00+00:00`."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def int_param(params: QueryParams, name: str, default: int, minimum: int = 1) -> int:
    """A positive integer query parameter; anything else is INVALID_DATA [?]."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isdecimal() or len(text) > 18:
        raise errors.invalid_param(name, expected_data_type="integer")
    value = int(text)
    if value < minimum:
        raise errors.invalid_param(name, expected_data_type="integer")
    return value


def choice_param(params: QueryParams, name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise errors.invalid_param(name, supported_values=list(allowed))
    return raw


def list_param(params: QueryParams, name: str) -> list[str] | None:
    """A comma-separated parameter (`fields`, `ids`): its non-empty items, or None if absent."""
    raw = params.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def _reject_constant(value: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and Zoho) do not.
    raise ValueError(f"{value} is not JSON")


async def read_json(call: Call) -> dict[str, Any]:
    """The request body as a JSON object, capped at `max_body_bytes` (413 beyond)."""
    limit = call.state.config.max_body_bytes
    declared = call.request.headers.get("content-length")
    if declared is not None and declared.isdecimal() and int(declared) > limit:
        raise errors.body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in call.request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.body_too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise errors.invalid_body() from exc
    if not isinstance(data, dict):
        raise errors.invalid_body()
    return data


def is_number(value: Any) -> bool:
    """A JSON number (bools are not numbers here, though Python says they are)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)
