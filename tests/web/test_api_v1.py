"""`/api/v1`, the token service, against the live app and the emulator over HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.crypto import KeyRing
from zohoauth.emulator import BackgroundEmulator
from zohoauth.service import ServiceConfig
from zohoauth.store import schema
from zohoauth.store.sql import SQLTokenStore
from zohoauth.store.urls import normalize_url

from ..support.aio import arun
from ..support.service import api, make_key, raw_get, receiver, with_service
from ..support.web import LiveApp, free_port
from ..support.zoho import emulator_stats, refresh_requests


def _login(live: LiveApp, email: str = "ava@zylker.com") -> str:
    b = live.browser()
    try:
        cid: str = b.login(email)["me"]["id"]
    finally:
        b.close()
    return cid


def _refresh_token(live: LiveApp, cid: str) -> str:
    async def go() -> str:
        async with SQLTokenStore(live.store_url, KeyRing.from_config(live.keys)) as store:
            pair = await store.get_connection_with_credential(cid)
            assert pair is not None
            return pair[1].tokens.refresh_token

    return arun(go)


def _expire(live: LiveApp) -> None:
    async def go() -> None:
        engine = create_async_engine(normalize_url(live.store_url))
        async with engine.begin() as conn:
            await conn.execute(update(schema.credentials).values(expires_at=time.time() - 10))
        await engine.dispose()

    arun(go)


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "message"} and body["error"] == code


def test_keys_that_must_be_refused_are(live: LiveApp) -> None:
    cid = _login(live)
    good = make_key(live, "billing")
    revoked = make_key(live, "old")
    assert with_service(live, lambda s: s.revoke_key("old"))
    expired = make_key(live, "temp", expires_in=-1)
    reader = make_key(live, "reader", "read")
    other = make_key(live, "other-conn", connections=("conn_someoneelse",))
    url = f"/api/v1/connections/{cid}/token"
    with api(live, None) as c:
        _error(c.get(url), 401, "invalid_key")
    for key in ("zas_notakey", good[:-1] + ("x" if good[-1] != "x" else "y"), revoked, expired):
        with api(live, key) as c:
            _error(c.get(url), 401, "invalid_key")
    with api(live, reader) as c:
        _error(c.get(url), 403, "forbidden")
        assert c.get(f"/api/v1/connections/{cid}").status_code == 200  # read is fine
    with api(live, other) as c:
        _error(c.get(url), 403, "forbidden")
        assert c.get("/api/v1/connections").json()["data"] == []
    with api(live, good) as c:
        assert c.get(url).status_code == 200
    # Every refused call is in the audit log: by the key when it is known, anonymously when
    # not, and never with anything of a key presented.
    rows = _audit_until(live, lambda rows: len(rows) >= 8, connection_id=cid)
    seen = sorted((r.key_name, r.action, r.outcome, r.detail) for r in rows)
    assert seen == sorted(
        [
            ("-", "token", "invalid_key", "no service key"),
            ("-", "token", "invalid_key", "malformed key"),
            ("-", "token", "invalid_key", "malformed key"),
            ("old", "token", "invalid_key", "revoked"),
            ("temp", "token", "invalid_key", "expired"),
            ("reader", "token", "forbidden", "scope read"),
            ("other-conn", "token", "forbidden", "connection not allowed"),
            ("billing", "token", "ok", ""),
        ]
    ), seen
    dumped = json.dumps([r.row() for r in rows])
    for key in (good, revoked, expired, reader, other):
        assert key not in dumped and key[4:44] not in dumped


def _audit_until(live: LiveApp, done: Any, **filters: Any) -> list[Any]:
    """The audit log (rows are written about once a second) once `done(rows)`, or what is there
    after 10 s."""
    deadline = time.monotonic() + 10
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = with_service(live, lambda s: s.audit_log(**filters))
        if done(rows):
            break
        time.sleep(0.2)
    return rows


def test_a_keys_last_use_is_recorded_at_most_once_a_minute(live: LiveApp) -> None:
    cid = _login(live)
    key = make_key(live, "billing")
    idle = make_key(live, "idle")
    assert idle

    def listed() -> dict[str, float | None]:
        return {k.name: k.last_used_at for k in with_service(live, lambda s: s.list_keys())}

    assert listed() == {"billing": None, "idle": None}
    before = time.time()
    with api(live, key) as c:
        assert c.get(f"/api/v1/connections/{cid}/token").status_code == 200
    deadline = time.monotonic() + 10
    while listed()["billing"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first = listed()["billing"]
    assert first is not None and before - 1 <= first <= time.time()
    with api(live, key) as c:  # used again within the minute: not written again
        assert c.get(f"/api/v1/connections/{cid}/token").status_code == 200
    _audit_until(live, lambda rows: len(rows) >= 2, key="billing")
    time.sleep(1.5)  # past the next flush
    assert listed() == {"billing": first, "idle": None}


def test_connections_are_listed_filtered_and_paged(live: LiveApp) -> None:
    ava = _login(live, "ava@zylker.com")
    clara = _login(live, "clara@brightwave.eu")
    with api(live, make_key(live, "ops", "read")) as c:
        page = c.get("/api/v1/connections", params={"limit": 1}).json()
        assert len(page["data"]) == 1 and page["next_cursor"]
        rest = c.get("/api/v1/connections", params={"cursor": page["next_cursor"]}).json()
        assert {page["data"][0]["id"], rest["data"][0]["id"]} == {ava, clara}
        eu = c.get("/api/v1/connections", params={"dc": "eu"}).json()["data"]
        assert [x["id"] for x in eu] == [clara]
        by_email = c.get("/api/v1/connections", params={"email": "AVA@zylker.com"}).json()
        assert [x["id"] for x in by_email["data"]] == [ava]
        [clara_row] = eu
        for name, value in (("zuid", clara_row["zuid"]), ("org", clara_row["org_id"])):
            found = c.get("/api/v1/connections", params={name: value}).json()["data"]
            assert [x["id"] for x in found] == [clara], name
        assert c.get("/api/v1/connections", params={"status": "reauth_required"}).json() == {
            "data": [],
            "next_cursor": None,
        }
        _error(c.get("/api/v1/connections/conn_nope"), 404, "not_found")


def test_a_thousand_callers_cause_one_refresh_and_no_refresh_token_leaks(
    live: LiveApp, emulator: BackgroundEmulator, log_output: io.StringIO
) -> None:
    cid = _login(live)
    refresh_token = _refresh_token(live, cid)
    keys = [make_key(live, f"service-{n}") for n in range(3)]
    _expire(live)
    before = refresh_requests(emulator.url)

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as c:
            calls = [
                c.get(
                    f"/api/v1/connections/{cid}/token",
                    headers={"Authorization": f"Bearer {key}"},
                )
                for key in keys
                for _ in range(100)
            ]
            return await asyncio.gather(*calls)

    answers = arun(storm)
    assert [r.status_code for r in answers] == [200] * 300
    assert refresh_requests(emulator.url) - before == 1
    bodies = [r.json() for r in answers]
    assert len({b["access_token"] for b in bodies}) == 1
    assert set(bodies[0]) == {"access_token", "api_domain", "expires_at", "org_id", "dc"}
    assert bodies[0]["expires_at"] - time.time() >= 300
    for r in answers:
        assert refresh_token not in r.text
    # The audit log: one row per token handed out, never a token.
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline:
        rows = with_service(live, lambda s: s.audit_log(connection_id=cid, limit=1000))
        if len(rows) >= 300:
            break
        time.sleep(0.2)
    assert len(rows) == 300
    assert {(r.action, r.outcome) for r in rows} == {("token", "ok")}
    assert {r.key_name for r in rows} == {"service-0", "service-1", "service-2"}
    dumped = json.dumps([r.row() for r in rows])
    assert refresh_token not in dumped and bodies[0]["access_token"] not in dumped
    assert refresh_token not in log_output.getvalue()
    assert bodies[0]["access_token"] not in log_output.getvalue()
    for key in keys:
        assert key not in log_output.getvalue()


def test_refresh_and_delete_need_admin_and_skip_csrf(
    live: LiveApp, emulator: BackgroundEmulator
) -> None:
    cid = _login(live)
    with api(live, make_key(live, "tok")) as c:
        _error(c.post(f"/api/v1/connections/{cid}/refresh"), 403, "forbidden")
    with api(live, make_key(live, "admin", "admin")) as c:
        first = c.get(f"/api/v1/connections/{cid}/token").json()["access_token"]
        before = refresh_requests(emulator.url)
        resp = c.post(f"/api/v1/connections/{cid}/refresh")  # no CSRF token, no cookie
        assert resp.status_code == 200, resp.text
        assert resp.json()["access_token"] != first
        assert refresh_requests(emulator.url) - before == 1
        gone = c.delete(f"/api/v1/connections/{cid}", params={"revoke": "true"})
        assert gone.status_code == 200 and gone.json() == {"deleted": [cid], "revoked": True}
        _error(c.get(f"/api/v1/connections/{cid}"), 404, "not_found")


def test_the_proxy_passes_zoho_through_and_refuses_other_places(live: LiveApp) -> None:
    cid = _login(live)
    key = make_key(live, "proxy", "proxy")
    with api(live, key) as c:
        resp = c.get(f"/api/v1/proxy/{cid}/crm/v8/Leads", params={"fields": "Last_Name"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["data"] and "Last_Name" in resp.json()["data"][0]
        missing = c.get(f"/api/v1/proxy/{cid}/crm/v8/NoSuchModule")
        assert missing.status_code == 400 and missing.json()["code"] == "INVALID_MODULE"
        for bad in (
            "crm/v8/%2e%2e/%2e%2e/oauth/v2/token",
            "crm/v8/Leads%2f..%2fx",
            "crm/v8/user@evil.example/x",
            "crm/v8/Leads%5c..",
            "http:%2f%2fevil.example/crm/v8/Leads",
            "oauth/v2/token",
        ):
            _error(c.get(f"/api/v1/proxy/{cid}/{bad}"), 400, "bad_proxy_path")
        _error(c.get(f"/api/v1/connections/{cid}/token"), 403, "forbidden")  # no raw tokens
    for target in (f"/api/v1/proxy/{cid}/crm/v8/../../oauth/v2/token", "/api/v1/proxy/x/..\\y"):
        status, body = raw_get(live.url, target, key)
        assert status in (400, 404) and json.loads(body)["error"] in ("bad_proxy_path", "not_found")
    # Audit rows are written about once a second, off the request path.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = with_service(live, lambda s: s.audit_log(key="proxy"))
        if any(r.action == "proxy" and r.detail.endswith("-> 200") for r in rows):
            break
        time.sleep(0.2)
    else:
        pytest.fail("no audit row for the proxied call")


def test_a_key_over_its_rate_gets_429_with_retry_after(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    config = ServiceConfig(rate=0.5, burst=2)
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'r.db'}", service_config=config) as live:
        c = api(live, make_key(live, "greedy", "read"))
        codes = [c.get("/api/v1/connections").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        resp = c.get("/api/v1/connections")
        c.close()
        _error(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
        # Reads are not audited; the two refused calls are.
        rows = _audit_until(live, lambda rows: len(rows) >= 2, key="greedy")
        assert [(r.action, r.outcome) for r in rows] == [("read", "rate_limited")] * 2


def test_api_only_serves_the_api_and_health_but_no_pages(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'a.db'}", api_only=True) as live:
        c = api(live, make_key(live, "k", "read"))
        assert c.get("/api/v1/connections").status_code == 200
        assert c.get("/healthz").status_code == 200
        assert c.get("/").status_code == 404
        assert c.get("/api/me").status_code == 404
        spec = c.get("/openapi.json").json()
        c.close()
        assert "/api/v1/connections/{connection_id}/token" in spec["paths"]
        assert "serviceKey" in spec["components"]["securitySchemes"]


def test_openapi_documents_every_api_v1_route(live: LiveApp) -> None:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1")}
    assert paths == {
        "/api/v1/connections",
        "/api/v1/connections/{connection_id}",
        "/api/v1/connections/{connection_id}/token",
        "/api/v1/connections/{connection_id}/refresh",
        "/api/v1/proxy/{connection_id}/{path}",
    }
    token = spec["paths"]["/api/v1/connections/{connection_id}/token"]["get"]
    assert token["security"] == [{"serviceKey": []}]
    assert "refresh_token" not in json.dumps(spec)


@pytest.mark.parametrize("path", ["/api/v1/connections"])
def test_bearer_api_sets_no_cookies(live: LiveApp, path: str) -> None:
    with api(live, make_key(live, "k", "read")) as c:
        assert "set-cookie" not in c.get(path).headers


def _set_api_domain(live: LiveApp, api_domain: str) -> None:
    async def go() -> None:
        engine = create_async_engine(normalize_url(live.store_url))
        async with engine.begin() as conn:
            await conn.execute(update(schema.credentials).values(api_domain=api_domain))
        await engine.dispose()

    arun(go)


def test_the_proxy_never_leaves_the_connections_own_api_domain(live: LiveApp) -> None:
    cid = _login(live)
    key = make_key(live, "proxy", "proxy")
    for target in (
        f"/api/v1/proxy/{cid}/https://evil.example/crm/v8/Leads",  # an absolute URL
        f"/api/v1/proxy/{cid}//evil.example/crm/v8/Leads",  # scheme-relative
        f"/api/v1/proxy/{cid}/crm/v8/Leads@evil.example",
        f"/api/v1/proxy/{cid}/crm/v8/Leads%2F..%2F..%2Foauth%2Fv2%2Ftoken",
    ):
        status, body = raw_get(live.url, target, key)
        assert (status, json.loads(body)["error"]) == (400, "bad_proxy_path"), target
    # A stored API host of another DC (a tampered row, a mixed-up login): refused before any
    # request leaves, and the caller is told to log in again.
    endpoints = httpx.get(f"{live.emulator_url}/_emulator/endpoints").json()
    _set_api_domain(live, endpoints["eu"]["api_domain"])
    live.auth.manager.forget(cid)
    before = emulator_stats(live.emulator_url)["api_requests"]
    with api(live, key) as c:
        _error(c.get(f"/api/v1/proxy/{cid}/crm/v8/Leads"), 401, "reauth_required")
    assert emulator_stats(live.emulator_url)["api_requests"] == before


def test_no_answer_log_line_audit_row_or_webhook_carries_the_refresh_token(
    emulator: BackgroundEmulator, tmp_path: Path, log_output: io.StringIO
) -> None:
    port = free_port()
    fast = ServiceConfig(webhook_poll=0.1, webhook_backoff=0.2)
    with (
        receiver(port) as delivered,
        LiveApp(emulator.url, f"sqlite:///{tmp_path / 'l.db'}", service_config=fast) as live,
    ):
        with_service(
            live,
            lambda s: s.add_webhook(f"http://127.0.0.1:{port}/h", ("login", "refreshed", "logout")),
        )
        cid = _login(live)
        refresh_token = _refresh_token(live, cid)
        admin = make_key(live, "admin", "admin")
        answers: list[httpx.Response] = []
        with api(live, admin) as c:
            for method, path in (
                ("GET", "/api/v1/connections"),
                ("GET", f"/api/v1/connections/{cid}"),
                ("GET", f"/api/v1/connections/{cid}/token"),
                ("POST", f"/api/v1/connections/{cid}/refresh"),
                ("GET", f"/api/v1/proxy/{cid}/crm/v8/users?type=CurrentUser"),
                ("GET", f"/api/v1/proxy/{cid}/crm/v8/NoSuchModule"),
                ("GET", "/api/v1/connections/conn_nope/token"),
                ("GET", "/openapi.json"),
                ("DELETE", f"/api/v1/connections/{cid}"),
            ):
                answers.append(c.request(method, path))
        assert [r.status_code for r in answers] == [200, 200, 200, 200, 200, 400, 404, 200, 200]
        rows = _audit_until(live, lambda rows: len(rows) >= 5)
        _wait_for(lambda: len(delivered) >= 3)  # login, refreshed, logout
    everything = [
        *(r.text + json.dumps(dict(r.headers)) for r in answers),
        json.dumps([r.row() for r in rows]),
        *(body.decode() for _, body in delivered),
        log_output.getvalue(),
    ]
    assert {json.loads(body)["type"] for _, body in delivered} >= {"login", "refreshed", "logout"}
    for text in everything:
        assert refresh_token not in text
        assert refresh_token.split(".")[-1] not in text  # not even its tail


def _wait_for(cond: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_the_proxy_answers_invalid_token_with_one_refresh_and_one_retry(
    live: LiveApp, emulator: BackgroundEmulator
) -> None:
    cid = _login(live)
    with api(live, make_key(live, "admin", "admin")) as c:
        token = c.get(f"/api/v1/connections/{cid}/token").json()["access_token"]
    accounts = httpx.get(f"{emulator.url}/_emulator/endpoints").json()["us"]["accounts_server"]
    httpx.post(f"{accounts}/oauth/v2/token/revoke", data={"token": token}).raise_for_status()
    before = refresh_requests(emulator.url)
    with api(live, make_key(live, "proxy", "proxy")) as c:
        resp = c.get(f"/api/v1/proxy/{cid}/crm/v8/users", params={"type": "CurrentUser"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["users"][0]["email"] == "ava@zylker.com"
    assert refresh_requests(emulator.url) - before == 1


def test_min_valid_refreshes_a_token_that_would_expire_too_soon(
    live: LiveApp, emulator: BackgroundEmulator
) -> None:
    cid = _login(live)

    async def expire_in(seconds: float) -> None:
        engine = create_async_engine(normalize_url(live.store_url))
        async with engine.begin() as conn:
            values = {"expires_at": time.time() + seconds}
            await conn.execute(update(schema.credentials).values(**values))
        await engine.dispose()

    arun(lambda: expire_in(1000))
    live.auth.manager.forget(cid)
    before = refresh_requests(emulator.url)
    with api(live, make_key(live, "billing")) as c:
        url = f"/api/v1/connections/{cid}/token"
        enough = c.get(url, params={"min_valid": 600}).json()
        assert refresh_requests(emulator.url) == before  # 1000 s left is enough for 600
        assert 900 < enough["expires_at"] - time.time() <= 1000
        longer = c.get(url, params={"min_valid": 2000}).json()
        assert refresh_requests(emulator.url) - before == 1
        assert longer["expires_at"] - time.time() >= 2000
        assert longer["access_token"] != enough["access_token"]
        _error(c.get(url, params={"min_valid": 3001}), 422, "invalid_request")
