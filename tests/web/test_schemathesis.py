"""Schemathesis against /openapi.json of the live app: no request it generates gets a 5xx.

Every operation is fuzzed with data that fits the schema (positive) and data that does not
(negative), as a logged-in user with the CSRF proof, so the calls reach the records code and
the emulated Zoho behind it rather than stopping at 401/403. Bounded: a fixed number of examples
per operation, no shrinking database, so the run takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from zohoauth import Settings
from zohoauth.emulator import BackgroundEmulator
from zohoauth.web.session import SESSION_COOKIE

from ..support.web import CSRF, Browser, LiveApp

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
USER = "ava@zylker.com"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, Browser]]:
    """A private emulator and app for the module (fuzzing must not see other tests' resets)."""
    db = tmp_path_factory.mktemp("fuzz") / "web.db"
    # The fuzzer calls /login and the callback far faster than a person, and logs in again
    # after each logout it makes: the per-address login limits (test_ratelimit.py) are off,
    # and so are the emulated Zoho's grant limits (10 new grants per user per 10 minutes).
    unlimited = Settings.load(login_rate_limit="", callback_rate_limit="")
    with (
        BackgroundEmulator(config={"grant_limits": False}) as emu,
        LiveApp(emu.url, f"sqlite:///{db}", settings=unlimited) as app,
    ):
        browser = app.browser()
        browser.login(USER)
        yield app, browser
        browser.close()


def _credentials(browser: Browser) -> tuple[dict[str, str], dict[str, str]]:
    cookies = {SESSION_COOKIE: browser.cookies.get(SESSION_COOKIE) or "", CSRF: browser.csrf}
    return {"X-CSRF-Token": browser.csrf}, cookies


def _fuzz(op: Any, mode: GenerationMode, app: LiveApp, browser: Browser) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        headers, cookies = _credentials(browser)
        resp = case.call(base_url=app.url, headers=headers, cookies=cookies, timeout=30)
        if resp.status_code >= 500:
            found.append(
                f"{op.method.upper()} {op.path} ({mode.value}) → {resp.status_code} "
                f"{resp.text[:300]}\n  {case.as_curl_command(headers=headers)}"
            )
        if op.path == "/api/auth/logout" and resp.status_code == 200:
            browser.login(USER)  # stay logged in for the operations that follow

    try:
        run()
    except Unsatisfiable:
        # No invalid input exists for an operation without parameters or body.
        assert mode is GenerationMode.NEGATIVE, f"{op.method} {op.path}"
    return found


def test_no_generated_request_gets_a_server_error(
    target: tuple[LiveApp, Browser], tmp_path: Path
) -> None:
    app, browser = target
    schema = schemathesis.openapi.from_url(f"{app.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {f"{op.method.upper()} {op.path}" for op in operations}
    assert {
        "GET /login",
        "POST /api/auth/callback",
        "GET /api/me",
        "POST /api/auth/logout",
        "GET /api/modules",
        "GET /api/records/{module}",
        "POST /api/records/{module}",
        "PUT /api/records/{module}/{record_id}",
        "DELETE /api/records/{module}/{record_id}",
        "GET /api/records/{module}/search",
        "GET /healthz",
        "GET /metrics",
    } <= paths
    failures: list[str] = []
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(op, mode, app, browser)
    assert failures == [], "\n".join(failures[:10])
    # The session survived the fuzzing: the checks above ran as a logged-in user.
    assert browser.get("/api/me").json()["email"] == USER
