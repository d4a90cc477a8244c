"""JSON answers no browser or proxy keeps: the one way the web app builds one by hand.

Every answer of the API is about one browser's session or one user's CRM data, so each says
`Cache-Control: no-store` (RFC 9111 §5.2.2.5): a shared cache must never hand one user's
records or error to another, and the back button must not show them after logout. Routes and
exception handlers answer with `json_response`; ASGI middleware that answers before the app
runs (CSRF refusal, body too large, the 500 guard) with `send_json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from fastapi.responses import JSONResponse
from starlette.types import Send

#: The header every API answer (and the login redirect) carries.
NO_STORE: Final[Mapping[str, str]] = MappingProxyType({"Cache-Control": "no-store"})


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """`body` as JSON with `status`, never stored; `headers` are added (e.g. Retry-After)."""
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


async def send_json(
    send: Send,
    status: int,
    body: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
) -> None:
    """The same answer sent straight on an ASGI channel, from middleware; `headers` added."""
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(
                    (k.lower().encode(), v.encode())
                    for k, v in {**NO_STORE, **(headers or {})}.items()
                ),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


__all__ = ["NO_STORE", "json_response", "send_json"]
