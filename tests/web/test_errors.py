"""The web app's one table from the error tree to HTTP, decided by type, never by wording."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from zohoauth import errors as z
from zohoauth.web import errors

from ..support.web import Browser, LiveApp


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
        (z.InvalidClientError("check the client secret"), 503, "app_misconfigured"),
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


# -- 422: field locations and plain messages, never the validator's internals ---------------
#: What FastAPI's own 422 body carries and ours must not: the input echoed back, the
#: validator's context and its documentation links, the JSON decoder's own words.
INTERNALS = ("input", "ctx", "url", "pydantic", "errors.pydantic.dev", "Expecting", "loc", "type")


def _plain(resp: httpx.Response) -> dict[str, str]:
    body: dict[str, str] = resp.json()
    assert set(body) == {"error", "message"}, body
    for word in INTERNALS:
        assert word not in body["message"], body
    return body


def test_malformed_json_and_wrong_types_are_answered_plainly(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    as_json = {"Content-Type": "application/json"}
    for broken in (b'{"data": [', b"{nope", b'{"data": [{"Last_Name": "x",}]}'):
        resp = b.post("/api/records/Leads", content=broken, headers=as_json)
        assert resp.status_code == 400
        assert _plain(resp)["error"] == "bad_json"
    wrong: list[tuple[str, str, dict[str, object], str]] = [
        ("POST", "/api/records/Leads", {"json": {"data": "Novak"}}, "data: "),
        ("POST", "/api/records/Leads", {"json": {"data": [7]}}, "data.0: "),
        ("POST", "/api/auth/logout", {"json": {"revoke": "perhaps-secret"}}, "revoke: "),
        ("POST", "/api/accounts/switch", {"json": {"id": ["x"]}}, "id: "),
        ("GET", "/api/records/Leads", {"params": {"per_page": "many"}}, "query.per_page: "),
    ]
    for method, path, kwargs, location in wrong:
        resp = b.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert resp.status_code == 422, resp.text
        body = _plain(resp)
        assert body["error"] == "invalid_request"
        assert body["message"].startswith("invalid request — ")
        assert location in body["message"], body
        assert "Novak" not in body["message"] and "perhaps-secret" not in body["message"]


def test_the_openapi_document_describes_the_422_we_send(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    spec = browser().get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    described = schemas["HTTPValidationError"]
    assert set(described["properties"]) == {"error", "message"}
    assert "ValidationError" not in schemas  # loc/msg/type/input/ctx: not what we answer
    callback = spec["paths"]["/api/auth/callback"]["post"]["responses"]["422"]
    ref = callback["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/HTTPValidationError"


def test_a_store_failure_is_answered_plainly_and_explained_in_the_log() -> None:
    """Chaos bug C: the store's message is the operator's (where the database is, which
    setting names it); the browser gets "unavailable, try again" and a Retry-After."""
    from sqlalchemy.engine import make_url

    from zohoauth.store.engine import to_store_error

    from ..support.logs import capture_logs

    url = make_url("postgresql+asyncpg://ops_user:s3cr3t@db.internal.example:6543/tokens_db")
    refused = ConnectionRefusedError(111, "Connect call failed ('10.0.0.7', 6543)")
    for exc in (
        to_store_error(refused, url, "connect", connecting=True),
        to_store_error(OSError("disk I/O error"), url, "save the login"),
        z.DecryptionError("no key of ZOHOAUTH_ENCRYPTION_KEYS opens this row"),
    ):
        with capture_logs() as logs:
            status, body, headers = _answer(exc)
        assert (status, body["error"]) == (503, "store_unavailable")
        assert body["message"] == "our token store is unavailable; try again in a moment"
        assert headers["retry-after"] == "5"
        assert [e["detail"] for e in logs if e.get("event") == "request failed"] == [str(exc)]
    assert "db.internal.example:6543" in str(logs) or "ZOHOAUTH_ENCRYPTION_KEYS" in str(logs)
    assert "s3cr3t" not in str(to_store_error(refused, url, "connect", connecting=True))
