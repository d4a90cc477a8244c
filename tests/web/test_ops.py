"""Pages, operations endpoints, request ids, headers, and no secret in logs, pages or answers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from zohoauth import ConfigError, Settings
from zohoauth.emulator import BackgroundEmulator

from ..support.web import Browser, LiveApp, free_port
from ..support.zoho import advance_clock, refresh_requests


@pytest.mark.parametrize(
    ("path", "kind", "cache"),
    [
        ("/", "text/html", "no-cache"),
        ("/index.html", "text/html", "no-cache"),
        ("/redirect.html", "text/html", "no-store"),
        ("/script.js", "text/javascript", "no-cache"),
        ("/js/redirect.js", "text/javascript", "no-cache"),
        ("/styles.css", "text/css", "no-cache"),
        ("/favicon.svg", "image/svg+xml", "no-cache"),
    ],
)
def test_pages_are_served_with_strict_headers(
    live: LiveApp, browser: Callable[[], Browser], path: str, kind: str, cache: str
) -> None:
    resp = browser().get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(kind)
    assert resp.headers["cache-control"] == cache
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"


def test_the_pages_carry_the_documented_hooks(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    index = b.get("/").text
    for hook in ("login", "user-email", "logout", "record-form", "create-record"):
        assert f'data-testid="{hook}"' in index
    # The rows and banners are drawn by the modules script.js imports (test_static.py).
    scripts = "".join(b.get(f"/js/{name}.js").text for name in ("records", "notices"))
    for hook in ("record-row", "error"):
        assert f'"data-testid": "{hook}"' in scripts
    assert "<script>" not in index  # no inline script: the CSP forbids it
    assert 'type="module" src="/script.js"' in index
    assert 'type="module" src="/js/redirect.js"' in b.get("/redirect.html").text


def test_etag_revalidation(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    etag = b.get("/script.js").headers["etag"]
    assert b.get("/script.js", headers={"If-None-Match": etag}).status_code == 304


def test_health_ready_metrics_and_openapi(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    assert b.get("/healthz").json() == {"status": "ok"}
    assert b.get("/readyz").json() == {"status": "ok"}
    b.login("ava@zylker.com")
    metrics = b.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'zohoauth_logins_total{outcome="ok"}' in metrics.text
    spec = b.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/me", "/api/auth/callback", "/api/records/{module}/{record_id}"):
        assert path in spec["paths"]


def test_request_ids_are_echoed_or_made(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    assert b.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == (
        "abc-123"
    )
    weird = "<script>" + "x" * 80  # not an id shape: replaced by one of ours
    made = b.get("/healthz", headers={"X-Request-ID": weird}).headers["x-request-id"]
    assert made != weird and len(made) == 16
    assert b.get("/api/me").headers["x-request-id"]  # errors too


def test_readyz_says_when_the_store_is_gone(live: LiveApp, browser: Callable[[], Browser]) -> None:
    b = browser()
    store: Any = live.auth.store
    original = store.get_connection

    async def broken(connection_id: str) -> None:
        raise RuntimeError("database is down")

    store.get_connection = broken
    try:
        resp = b.get("/readyz")
    finally:
        store.get_connection = original
    assert resp.status_code == 503
    assert resp.json()["error"] == "store_unavailable"


def test_an_unexpected_error_is_a_json_500_without_a_trace(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    b.login("ava@zylker.com")
    auth: Any = live.auth

    def boom(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("secret internals at /srv/app.py line 42")

    original = auth.crm
    auth.crm = boom
    try:
        resp = b.get("/api/records/Leads")
    finally:
        auth.crm = original
    assert resp.status_code == 500
    assert resp.json()["error"] == "internal"
    assert "internals" not in resp.text and "Traceback" not in resp.text


def test_no_token_code_or_secret_in_logs_pages_or_answers(
    live: LiveApp,
    browser: Callable[[], Browser],
    emulator: BackgroundEmulator,
    admin: httpx.Client,
    log_output: io.StringIO,
) -> None:
    issued: Any = emulator.state  # every token the emulated Zoho handed out
    seen: set[str] = {live.client.client_secret, live.keys, live.session_secret}
    b = browser()
    params = b.callback_params("ava@zylker.com")
    seen.update({params["code"], params["state"]})
    answers = [b.post("/api/auth/callback", json=params)]
    answers += [
        b.get("/api/me"),
        b.get("/api/records/Leads"),
        b.post("/api/records/Leads", json={"data": [{"Last_Name": "Quiet"}]}),
        b.get("/api/records/Nope"),
        b.get("/redirect.html", params={"code": params["code"], "state": params["state"]}),
    ]
    advance_clock(admin.base_url, 4000)
    answers.append(b.get("/api/records/Leads"))  # a refresh happens on the way
    assert refresh_requests(admin.base_url) == 1
    seen.update(issued.access_tokens, issued.refresh_tokens)
    answers.append(b.post("/api/auth/logout", json={"revoke": True}))

    logs = log_output.getvalue()
    assert '"path": "/redirect.html"' in logs  # the request was logged, without its query
    bodies = "".join(r.text for r in answers)
    cookies = json.dumps(dict(b.cookies.items()))
    leaked = [s for s in seen if s and s in logs + bodies + cookies]
    assert leaked == []
    assert "1000." not in bodies  # no Zoho-shaped token in any answer


# -- /metrics: on the app's port (default), behind a token, or on a port of its own -----------


def test_metrics_behind_a_bearer_token(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    settings = Settings.load(metrics_token="scrape-me-0123456789")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        b = app.browser()
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            refused = b.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["error"] == "unauthorized"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "zohoauth_" not in refused.text
        ok = b.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert ok.status_code == 200
        assert "zohoauth_logins_total" in ok.text


def test_metrics_on_a_port_of_their_own(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings.load(metrics_port=str(port))
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        b = app.browser()
        gone = b.get("/metrics")
        assert gone.status_code == 404
        assert gone.json()["error"] == "not_found"
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert "zohoauth_logins_total" in scraped.text
        assert b.get("/healthz").status_code == 200  # the app itself is unchanged
    with pytest.raises(httpx.ConnectError):  # stopped with the app
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_metrics_settings() -> None:
    defaults = Settings.model_construct()
    assert defaults.metrics_port is None  # the app's own port, as the demo has it
    assert defaults.metrics_host == "127.0.0.1"
    assert Settings.load(metrics_port="").metrics_port is None
    assert Settings.load(metrics_host=" ").metrics_host == "127.0.0.1"  # never "all interfaces"
    with pytest.raises(ConfigError, match="ZOHOAUTH_METRICS_PORT"):
        Settings.load(metrics_port="70000")
