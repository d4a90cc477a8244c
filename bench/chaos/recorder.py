"""The emulator as the chaos run needs it: every token request logged, per credential.

    python -m bench.chaos.recorder HOST PORT SEED_FILE

The emulator's own `stats` count refresh requests per data center; "at most 10 refreshes per
refresh token per 10 minutes" is a limit per credential, and requests answered by an injected
fault (an accounts outage) never reach the counters. So this process serves the ordinary
emulator (`zohoauth.emulator.create_app`, Zoho's limits on) wrapped in one outer ASGI layer
that logs each `POST .../oauth/v2/token` before the fault layer sees it: when (wall clock and
the emulator's virtual clock), which grant type, whose credential (`zuid@dc`, looked up from
the refresh token in the emulator's state; `revoked:<hash>` when it is no longer known) and how
it was answered: `minted`, `throttled` ("Access Denied"), `invalid_code`, `unavailable` (5xx) or
`other`. `GET /_chaos/token-requests` returns the log; nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zohoauth.emulator import create_app

LOG_PATH = "/_chaos/token-requests"
MAX_LOG = 500_000  # a bound, like every loop here


class TokenRequestLog:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state
        self.log: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == LOG_PATH:
            await self._answer(send)
            return
        if scope["method"] != "POST" or not path.endswith("/oauth/v2/token"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items()}
        entry: dict[str, Any] = {
            "t": time.time(),
            "vt": self.state.clock.now(),
            "grant": form.get("grant_type", ""),
            "cred": self._credential(form),
        }
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        answer = b""

        async def watch(message: Message) -> None:
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(answer) < 4096:
                answer += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            entry["outcome"] = _outcome(status, answer)
            if len(self.log) < MAX_LOG:
                self.log.append(entry)

    def _credential(self, form: dict[str, str]) -> str:
        if form.get("grant_type") != "refresh_token":
            return ""
        token = form.get("refresh_token", "")
        issued = self.state.refresh_tokens.get(token)
        if issued is not None:
            return f"{issued.zuid}@{issued.dc}"
        # Revoked or never issued: still one refresh token, counted apart from the others.
        return "revoked:" + hashlib.sha256(token.encode()).hexdigest()[:12]

    async def _answer(self, send: Send) -> None:
        body = json.dumps({"requests": self.log}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _outcome(status: int, answer: bytes) -> str:
    if status >= 500 or status == 0:
        return "unavailable"
    if b'"access_token"' in answer:
        return "minted"
    if b"Access Denied" in answer:
        return "throttled"
    if b"invalid_code" in answer:
        return "invalid_code"
    return "other"


def main(argv: list[str]) -> None:
    import uvicorn

    host, port, seed_file = argv[0], int(argv[1]), argv[2]
    with open(seed_file) as f:
        seed = json.load(f)
    # Chaos runs log hundreds of users in with one client within minutes: Zoho's grant-code
    # limits (10 per 10 minutes per client) are off, every other limit is Zoho's.
    app = create_app(seed, {"grant_limits": False})
    wrapped = TokenRequestLog(app, app.state.emulator)
    uvicorn.run(
        wrapped, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
