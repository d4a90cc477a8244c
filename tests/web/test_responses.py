"""Every JSON answer of the web app, whoever builds it, says `Cache-Control: no-store`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from zohoauth.web.responses import NO_STORE, json_response, send_json

from ..support.web import Browser, LiveApp


def test_json_response_adds_headers_to_no_store() -> None:
    resp = json_response({"a": 1}, 503, {"Retry-After": "5"})
    assert resp.status_code == 503
    assert json.loads(resp.body) == {"a": 1}
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["retry-after"] == "5"
    assert dict(NO_STORE) == {"Cache-Control": "no-store"}


async def test_send_json_answers_on_the_asgi_channel() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await send_json(send, 413, {"error": "too_large"})
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 413
    assert headers[b"cache-control"] == b"no-store"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body["body"])
    assert json.loads(body["body"]) == {"error": "too_large"}


@pytest.mark.parametrize(
    ("method", "path", "logged_in", "status"),
    [
        ("GET", "/healthz", False, 200),  # an ops route
        ("GET", "/readyz", False, 200),
        ("GET", "/api/session", False, 200),  # through context.respond
        ("GET", "/api/me", False, 401),  # built by the route
        ("GET", "/api/records/Leads?fields=Last_Name", True, 200),  # a records route
        ("GET", "/api/records/Nope", True, 404),  # the validation handler
        ("GET", "/api/nowhere", False, 404),  # the HTTP error handler
        ("GET", "/api/records/Leads", False, 401),  # the error tree's handler
        ("CSRF", "/api/auth/logout", False, 403),  # the CSRF middleware
        ("BIG", "/api/records/Leads", True, 413),  # the body-size middleware
    ],
)
def test_every_json_answer_is_no_store(
    live: LiveApp,
    browser: Callable[[], Browser],
    method: str,
    path: str,
    logged_in: bool,
    status: int,
) -> None:
    b = browser()
    if logged_in:
        b.login("ava@zylker.com")
    if method == "CSRF":
        resp = b.without_csrf("POST", path, json={})
    elif method == "BIG":
        resp = b.post(path, content=b"[" + b"0," * 600_000 + b"0]")
    else:
        resp = b.request(method, path)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["cache-control"] == "no-store"
    assert isinstance(resp.json(), dict)
