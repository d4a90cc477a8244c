"""The web app's one table from the error tree to HTTP, decided by type, never by wording."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from zohoauth import errors as z
from zohoauth.web import errors


def _answer(exc: Exception) -> tuple[int, dict[str, str], dict[str, str]]:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/boom")

    resp = asyncio.run(get())
    return resp.status_code, resp.json(), dict(resp.headers)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (z.NotFoundError("gone"), 401, "not_logged_in"),
        (z.ReauthRequiredError("log in"), 401, "reauth_required"),
        (
            z.NoPermissionError("ask the admin", code="NO_PERMISSION", status=403),
            403,
            "no_permission",
        ),
        (z.InvalidDataError("bad", code="INVALID_DATA", status=400), 422, "invalid_data"),
        (z.CRMError("odd", code="SOMETHING", status=405), 422, "invalid_data"),
        (z.CRMError("down", code="INTERNAL_ERROR", status=500), 503, "zoho_unavailable"),
        (z.ZohoUnavailableError("unreachable — try again later"), 503, "zoho_unavailable"),
        (z.LeaseTimeoutError("slow"), 503, "zoho_unavailable"),
        (z.StateMismatchError("again"), 400, "state_mismatch"),
        (z.DecryptionError("key"), 503, "store_unavailable"),
    ],
)
def test_each_kind_has_its_status_and_code(exc: Exception, status: int, code: str) -> None:
    got, body, _ = _answer(exc)
    assert (got, body["error"]) == (status, code)


def test_the_retry_advice_is_added_only_where_the_error_does_not_give_it() -> None:
    _, said, _ = _answer(z.ZohoUnavailableError("Zoho is down — try again later"))
    assert said["message"] == "Zoho is down — try again later"
    _, slow, _ = _answer(z.LeaseTimeoutError("another worker is refreshing; retry"))
    assert slow["message"] == "another worker is refreshing; retry — try again in a moment"
    _, crm, _ = _answer(z.CRMError("Zoho CRM failed (INTERNAL_ERROR)", status=500))
    assert crm["message"].endswith(" — try again in a moment")


def test_throttling_says_when_to_come_back() -> None:
    status, body, headers = _answer(
        z.ThrottledError("throttled; try again later", time.time() + 90)
    )
    assert (status, body["error"]) == (503, "throttled")
    assert body["message"] == "throttled; try again later"
    assert 85 <= int(headers["retry-after"]) <= 91
