"""The web app in a child process that SIGKILLs itself at one step of login or refresh.

    ZOHOAUTH_TEST_CRASH_AT=<step> python -m tests.chaos.crash_child HOST PORT

Test-only: the crash hooks live here, never in `src/`. Before serving (one uvicorn process, the
app built by `app_factory` from ZOHOAUTH_* variables exactly as `zohoauth serve` builds it),
this module replaces one library function with a wrapper that kills the process with SIGKILL —
no `finally`, no lease release, no response — at the named step:

    login:before_exchange     the code is about to be redeemed at Zoho
    login:before_store        redeemed and the user identified; nothing stored yet
    login:before_response     the credential and connection stored; no session cookie sent yet
    refresh:before_exchange   the lease is taken; the refresh request is about to be sent
    refresh:before_store      Zoho minted a new access token; it is not written yet
    refresh:before_response   the new token is written and the lease released; no answer yet

Without ZOHOAUTH_TEST_CRASH_AT it is the same app, unharmed (the "next process").

Every process started here runs with a 3-second refresh lease instead of 60 s (`LEASE_TTL`), so
a test needn't wait a minute for a dead holder's lease to expire; what happens at expiry is the
same.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from zohoauth import oauth, wiring
from zohoauth.store.sql import SQLTokenStore
from zohoauth.web.app import uvicorn_options

STEP_ENV = "ZOHOAUTH_TEST_CRASH_AT"
LEASE_TTL = 3.0
STEPS = (
    "login:before_exchange",
    "login:before_store",
    "login:before_response",
    "refresh:before_exchange",
    "refresh:before_store",
    "refresh:before_response",
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def before(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kw: Any) -> Any:
        die()

    return wrapper


def after(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kw: Any) -> Any:
        await fn(*args, **kw)
        die()

    return wrapper


def install(step: str) -> None:
    """Replace the function at `step` (module attributes the library calls through)."""
    if step == "login:before_exchange":
        oauth.exchange_code = before(oauth.exchange_code)  # type: ignore[assignment]
    elif step == "login:before_store":
        SQLTokenStore.save_login = before(SQLTokenStore.save_login)  # type: ignore[method-assign]
    elif step == "login:before_response":
        SQLTokenStore.save_login = after(SQLTokenStore.save_login)  # type: ignore[method-assign]
    elif step == "refresh:before_exchange":
        oauth.refresh_access_token = before(oauth.refresh_access_token)  # type: ignore[assignment]
    elif step == "refresh:before_store":
        SQLTokenStore.save_refreshed = before(SQLTokenStore.save_refreshed)  # type: ignore[method-assign]
    elif step == "refresh:before_response":
        SQLTokenStore.save_refreshed = after(SQLTokenStore.save_refreshed)  # type: ignore[method-assign]
    elif step:
        raise SystemExit(f"unknown {STEP_ENV}={step!r}; one of {', '.join(STEPS)}")


def short_lease() -> None:
    original = wiring.manager_config

    def config(s: Any) -> Any:
        return dataclasses.replace(original(s), lease_ttl=LEASE_TTL)

    wiring.manager_config = config  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    short_lease()
    install(os.environ.get(STEP_ENV, ""))
    uvicorn.run(
        "zohoauth.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=1,
        log_level="warning",
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
