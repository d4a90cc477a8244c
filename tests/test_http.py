"""The transport to Zoho (`zohoauth._http`): aiohttp, one session per event loop, a bounded
pool per host, timeouts, keep-alive surprises and TLS — every failure as zohoauth's typed error.

Most tests talk to the real emulator; what it cannot do (hold a request while counting
connections, drop a connection mid-answer, serve an untrusted certificate) is done by small
aiohttp servers on 127.0.0.1 — real HTTP, no mocks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import json
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from tests.support.crm import EmulatorTokens, login
from tests.support.tls import self_signed_certificate, server_context
from tests.support.zoho import login as zoho_login
from tests.support.zoho import register_client
from zohoauth import oauth
from zohoauth._http import (
    CA_BUNDLE_ENV,
    TLSVerificationError,
    TransportError,
    TransportTimeout,
    ZohoHTTP,
    as_http,
    crm_timeout,
    proxy_for,
)
from zohoauth._loop_thread import LoopThread
from zohoauth.auth import ZohoAuth
from zohoauth.crm import CRMClient
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.emulator import BackgroundEmulator
from zohoauth.errors import ConfigError, ZohoUnavailableError
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore

pytestmark = pytest.mark.timeout(60)

SECRET = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(
    handler: Handler, *, tls: ssl.SSLContext | None = None, keepalive_timeout: float = 75.0
) -> AsyncIterator[tuple[str, web.AppRunner]]:
    """An aiohttp server on a free loopback port answering every path with `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, keepalive_timeout=keepalive_timeout, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", runner
    finally:
        await runner.cleanup()


async def echo(request: web.Request) -> web.Response:
    form = dict(await request.post()) if request.content_type.endswith("urlencoded") else {}
    body = await request.json() if request.content_type == "application/json" else None
    return web.json_response(
        {
            "method": request.method,
            "query": dict(request.query),
            "form": {k: str(v) for k, v in form.items()},
            "json": body,
            "user_agent": request.headers.get("User-Agent", ""),
            "cookie": request.headers.get("Cookie"),
        },
        headers={"Set-Cookie": "lb=one-users-cookie; Path=/", "X-Answer": "42"},
    )


# -- requests and answers -------------------------------------------------------------------


async def test_a_request_and_its_answer_round_trip() -> None:
    criteria = r"(Last_Name:equals:O'Brien+Jr (a\b), x=y&z)"
    async with serve(echo) as (url, _), ZohoHTTP() as http:
        got = await http.request(
            "GET", f"{url}/crm/v8/Leads/search", params={"criteria": criteria, "per_page": 5}
        )
        posted = await http.request("POST", f"{url}/oauth/v2/token", data={"code": "a b+c&d"})
        sent = await http.request("PUT", f"{url}/crm/v8/Leads", json={"data": [{"Név": "Ő"}]})
        again = await http.request("GET", f"{url}/again")
    assert got.status == 200
    assert got.headers["x-answer"] == got.headers["X-ANSWER"] == "42"  # case-insensitive
    assert got.json()["query"] == {"criteria": criteria, "per_page": "5"}
    assert got.json()["user_agent"].startswith("zohoauth/")
    assert posted.json()["form"] == {"code": "a b+c&d"}
    assert (sent.json()["method"], sent.json()["json"]) == ("PUT", {"data": [{"Név": "Ő"}]})
    assert again.json()["cookie"] is None  # one pool serves many users: no cookie jar
    assert isinstance(got.body, bytes) and json.loads(got.body) == got.json()


async def test_redirects_are_answers_not_followed() -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/elsewhere")

    async with serve(redirect) as (url, _), ZohoHTTP() as http:
        resp = await http.request(
            "GET", url, headers={"Authorization": f"Zoho-oauthtoken {SECRET}"}
        )
    assert resp.status == 302  # an Authorization header never follows a redirect


async def test_the_emulator_through_the_transport(emulator: Any) -> None:
    async with ZohoHTTP() as http:
        health = await http.request("GET", f"{emulator.url}/_emulator/health")
    assert (health.status, health.json()) == (200, {"status": "ok"})


def test_http_argument_takes_a_transport_or_an_aiohttp_session() -> None:
    mine = ZohoHTTP()
    assert as_http(mine) is mine
    assert isinstance(as_http(None), ZohoHTTP)
    with pytest.raises(TypeError, match=r"ZohoHTTP or an aiohttp.ClientSession.*httpx"):
        as_http(httpx.AsyncClient())  # type: ignore[arg-type]


async def test_a_borrowed_session_stays_open(emulator: Any) -> None:
    async with aiohttp.ClientSession() as session:
        http = as_http(session)
        assert (await http.request("GET", f"{emulator.url}/_emulator/health")).status == 200
        await http.aclose()
        assert not session.closed


# -- one session per event loop --------------------------------------------------------------


def test_one_session_per_loop_each_closed_by_aclose(emulator: Any) -> None:
    http = ZohoHTTP()
    health = f"{emulator.url}/_emulator/health"

    async def use() -> aiohttp.ClientSession:
        assert (await http.request("GET", health)).status == 200
        first = http.session()
        assert (await http.request("GET", health)).status == 200
        assert http.session() is first  # same loop, same session and pool
        return first

    script_1 = asyncio.run(use())
    script_2 = asyncio.run(use())  # a second asyncio.run: a new loop, a new session
    assert script_2 is not script_1
    assert script_1.closed  # the dead loop's session was closed on the next request

    thread = LoopThread("test-http")
    try:
        on_thread = thread.run(use())

        async def main() -> aiohttp.ClientSession:
            mine = await use()
            await http.aclose()  # closes this loop's and the other thread's session
            return mine

        mine = asyncio.run(main())
        assert mine is not on_thread
        assert mine.closed and on_thread.closed and script_2.closed
        assert thread.run(use()) is not on_thread  # still usable: a fresh session
    finally:
        thread.run(http.aclose())
        thread.close()
        with warnings.catch_warnings():  # sockets of the two dead loops: the GC reaps them
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_threads_with_their_own_loops_each_get_their_own_session(emulator: Any) -> None:
    """SyncCRMClient and the SDK store run loops on threads beside the app's: used at once,
    one transport never hands a thread another loop's session."""
    http = ZohoHTTP()
    health = f"{emulator.url}/_emulator/health"

    async def hammer() -> set[int]:
        seen = set()
        for _ in range(30):
            assert (await http.request("GET", health)).status == 200
            seen.add(id(http.session()))
        return seen

    threads = [LoopThread(f"test-http-{i}") for i in range(3)]
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            seen = list(pool.map(lambda t: t.run(hammer()), threads))
        assert all(len(s) == 1 for s in seen)  # one session per loop, every time
        assert len(set.union(*seen)) == 3  # and not shared between loops
    finally:
        for t in threads:
            t.run(http.aclose())
            t.close()


# -- the pool ---------------------------------------------------------------------------------


async def test_the_pool_per_host_bounds_concurrent_connections() -> None:
    seen: set[Any] = set()
    live = {"now": 0, "max": 0, "max_open": 0}
    runner_box: list[web.AppRunner] = []

    async def slow(request: web.Request) -> web.Response:
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        server = runner_box[0].server
        assert server is not None
        live["max_open"] = max(live["max_open"], len(server.connections))
        seen.add(request.transport.get_extra_info("peername") if request.transport else None)
        await asyncio.sleep(0.05)
        live["now"] -= 1
        return web.Response(text="ok")

    async with serve(slow) as (url, runner), ZohoHTTP(limit_per_host=3) as http:
        runner_box.append(runner)
        answers = await asyncio.gather(*(http.request("GET", f"{url}/{i}") for i in range(20)))
    assert [a.status for a in answers] == [200] * 20
    assert live["max"] == 3  # reached, never exceeded
    assert live["max_open"] <= 3
    assert len(seen) <= 3  # kept alive and reused


async def test_the_pool_keeps_its_busiest_moment_while_busy_and_lets_it_go_when_idle() -> None:
    """Why the soak's descriptors climb in steps and are no leak: aiohttp hands out idle
    connections first in, first out, so steady traffic keeps every pooled connection warm and
    the pool holds as many as the most concurrent calls it has seen (never more than
    `limit_per_host`); only `keepalive_timeout` of idleness closes them."""
    burst = 6
    arrived = asyncio.Event()
    in_flight = {"now": 0}
    runner_box: list[web.AppRunner] = []

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/burst":  # held until all of the burst are in flight at once
            in_flight["now"] += 1
            if in_flight["now"] == burst:
                arrived.set()
            await asyncio.wait_for(arrived.wait(), 10)
        return web.Response(text="ok")

    def open_connections() -> int:
        server = runner_box[0].server
        assert server is not None
        return len(server.connections)

    async with (
        serve(handler) as (url, runner),
        ZohoHTTP(limit_per_host=8, keepalive_timeout=1.0) as http,
    ):
        runner_box.append(runner)
        await asyncio.gather(*(http.request("GET", f"{url}/burst") for _ in range(burst)))
        assert open_connections() == burst
        loop = asyncio.get_running_loop()
        steady_until = loop.time() + 2.5  # 2.5 keep-alive periods, one request at a time
        while loop.time() < steady_until:
            assert (await http.request("GET", f"{url}/steady")).status == 200
        assert open_connections() == burst  # one at a time, yet all six are kept
        await asyncio.gather(*(http.request("GET", f"{url}/x") for _ in range(30)))
        assert open_connections() <= 8  # the bound
        deadline = loop.time() + 10
        while open_connections() and loop.time() < deadline:
            await asyncio.sleep(0.2)  # idle: the pool lets them go after keepalive_timeout
        assert open_connections() == 0


# -- timeouts ---------------------------------------------------------------------------------


async def test_a_slow_server_is_a_timeout_not_an_aiohttp_error() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    async with serve(slow) as (url, _), ZohoHTTP(timeout=0.2) as http, ZohoHTTP() as other:
        with pytest.raises(TransportTimeout) as info:
            await http.request("GET", f"{url}/x?secret={SECRET}")
        with pytest.raises(TransportTimeout):  # a per-request timeout beats the default
            await other.request("GET", url, timeout=crm_timeout(0.2))
    assert isinstance(info.value, ZohoUnavailableError)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert SECRET not in str(info.value)


def test_crm_timeouts_keep_connect_at_most_ten_seconds() -> None:
    assert (crm_timeout(30).total, crm_timeout(30).sock_connect) == (30, 10)
    assert (crm_timeout(2).total, crm_timeout(2).sock_connect) == (2, 2)


async def test_slow_zoho_token_endpoint(admin: httpx.Client, emulator: Any) -> None:
    """Zoho's accounts server answers slowly: within the timeout that is just slow; beyond it,
    the token call fails as ZohoUnavailableError (which the manager retries)."""
    ava = login(admin, "ava@zylker.com")
    registry = DataCenterRegistry.load(f"{emulator.url}/_emulator/endpoints")
    client = OAuthClient("1000.CRMTESTCLIENT0000000000000000000", "crm-test-secret", "")
    admin.post("/_emulator/faults", json={"target": "accounts", "latency_ms": 300})
    dc = registry.get(ava.dc)
    async with ZohoHTTP(timeout=5) as http:
        grant = await oauth.refresh_access_token(http, registry, client, dc, ava.refresh_token, 0)
    assert grant.access_token
    async with ZohoHTTP(timeout=0.1) as http:
        with pytest.raises(ZohoUnavailableError, match="accounts server for us") as info:
            await oauth.refresh_access_token(http, registry, client, dc, ava.refresh_token, 0)
    assert isinstance(info.value.__cause__, TransportTimeout)
    assert ava.refresh_token not in str(info.value)


# -- keep-alive and dying connections -----------------------------------------------------------


async def test_server_closing_idle_connections_is_survived() -> None:
    peers: list[Any] = []

    async def ok(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(text="ok")

    async with serve(ok, keepalive_timeout=0.05) as (url, _), ZohoHTTP() as http:
        assert (await http.request("GET", url)).status == 200
        await asyncio.sleep(0.3)  # the server has closed the idle connection by now
        assert (await http.request("GET", url)).status == 200
        await asyncio.sleep(0.3)
        assert (await http.request("POST", url, data={"grant_type": "x"})).status == 200
    assert len(set(peers)) == 3  # each request needed (and got) a new connection


async def test_server_closing_right_after_an_answer_is_survived() -> None:
    """The server answers without `Connection: close` and then drops the connection: the
    next request, racing that close, still gets its answer."""

    async def answer_then_close(request: web.Request) -> web.StreamResponse:
        resp = web.Response(text="ok")
        await resp.prepare(request)
        await resp.write_eof()
        assert request.transport is not None
        request.transport.close()
        return resp

    async with serve(answer_then_close) as (url, _), ZohoHTTP() as http:
        for _ in range(5):
            assert (await http.request("GET", url)).status == 200  # no pause between them
        await asyncio.sleep(0.05)
        assert (await http.request("POST", url, json={})).status == 200


async def _dies_mid_answer(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = 10_000
    await resp.prepare(request)
    await resp.write(b'{"data": [{"id": "1"')
    await asyncio.sleep(0.01)
    assert request.transport is not None
    request.transport.close()
    return resp


async def test_a_connection_dying_mid_answer_is_a_typed_error() -> None:
    async with serve(_dies_mid_answer) as (url, _), ZohoHTTP() as http:
        with pytest.raises(TransportError) as info:
            await http.request("GET", f"{url}/crm/v8/Leads")
    assert isinstance(info.value, ZohoUnavailableError)
    assert not isinstance(info.value, aiohttp.ClientError)
    assert isinstance(info.value.__cause__, aiohttp.ClientError)  # kept for debugging
    assert "127.0.0.1" in str(info.value)


async def test_crm_call_whose_connection_dies_mid_answer(admin: httpx.Client) -> None:
    ava = login(admin, "ava@zylker.com")
    async with serve(_dies_mid_answer) as (url, _):
        tokens = EmulatorTokens(ava, api_domain=url)
        async with CRMClient(tokens, "ava") as crm:
            with pytest.raises(ZohoUnavailableError, match="could not reach Zoho CRM") as info:
                await crm.list_records("Leads", ["Last_Name"])
    assert type(info.value) is ZohoUnavailableError  # the CRM's message, the transport's cause
    assert isinstance(info.value.__cause__, TransportError)
    assert ava.access_token not in str(info.value)


# -- TLS --------------------------------------------------------------------------------------


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_an_untrusted_certificate_is_refused_naming_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    cert = self_signed_certificate(tmp_path)
    async with serve(_ok, tls=server_context(cert)) as (url, _):
        async with ZohoHTTP() as http:
            with pytest.raises(TLSVerificationError) as info:
                await http.request(
                    "GET",
                    f"{url}/crm/v8/org",
                    headers={"Authorization": f"Zoho-oauthtoken {SECRET}"},
                )
        message = str(info.value)
        assert "TLS certificate verification failed" in message
        assert CA_BUNDLE_ENV in message  # says how to trust a private CA
        assert SECRET not in message and SECRET not in repr(info.value)
        assert isinstance(info.value, ZohoUnavailableError)

        async with ZohoHTTP(ca_bundle=cert[0]) as http:  # the constructor argument
            assert (await http.request("GET", url)).status == 200
        trusting = ssl.create_default_context(cafile=cert[0])
        async with ZohoHTTP(ssl=trusting) as http:  # or a context of one's own
            assert (await http.request("GET", url)).status == 200
        monkeypatch.setenv(CA_BUNDLE_ENV, cert[0])  # or the setting
        async with ZohoHTTP() as http:
            assert (await http.request("GET", url)).status == 200


async def test_crm_over_untrusted_tls_says_so(
    tmp_path: Path, admin: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    ava = login(admin, "ava@zylker.com")
    cert = self_signed_certificate(tmp_path)
    async with (
        serve(_ok, tls=server_context(cert)) as (url, _),
        CRMClient(EmulatorTokens(ava, api_domain=url), "ava") as crm,
    ):
        with pytest.raises(ZohoUnavailableError, match="TLS certificate verification") as info:
            await crm.org()
    assert ava.access_token not in str(info.value)


async def test_login_and_crm_against_the_emulator_over_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zoho is https-only: the whole flow (endpoints, code exchange, identity, CRM, revoke)
    against the emulator serving https, trusted through the CA bundle setting."""
    cert = self_signed_certificate(tmp_path)
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    with BackgroundEmulator(tls=cert) as emu:
        assert emu.url.startswith("https://")
        with pytest.raises(ConfigError, match="could not read endpoints"):
            DataCenterRegistry.load(f"{emu.url}/_emulator/endpoints")  # not trusted
        monkeypatch.setenv("SSL_CERT_FILE", cert[0])  # for httpx, driving the consent page
        registry = DataCenterRegistry.load(f"{emu.url}/_emulator/endpoints", ca_bundle=cert[0])
        client = register_client(emu.url)
        store = SQLTokenStore(
            f"sqlite:///{tmp_path / 'z.db'}",
            KeyRing.from_config(KeyRing.generate_key()),
            auto_migrate=True,
        )
        async with (
            ZohoHTTP(ca_bundle=cert[0]) as http,  # given, so ours to close
            ZohoAuth(client=client, store=store, registry=registry, http=http) as auth,
        ):
            conn = await zoho_login(auth, "ava@zylker.com")
            assert (await auth.access_token(conn.id)).api_domain.startswith("https://")
            assert (await auth.crm(conn.id).org())["zgid"] == conn.org_id
            assert await auth.logout(conn.id, revoke=True)


# -- proxies ----------------------------------------------------------------------------------


def test_proxy_choice_follows_the_environment_rules() -> None:
    proxies = {"https": "http://proxy.corp:3128", "http": "http://proxy.corp:3128"}
    assert proxy_for("https://www.zohoapis.com/crm/v8/org", proxies) == "http://proxy.corp:3128"
    assert proxy_for("https://www.zohoapis.com/crm/v8/org", {}) is None
    no = {**proxies, "no": "localhost,127.0.0.1,.internal.example"}
    assert proxy_for("http://127.0.0.1:9090/us/api", no) is None
    assert proxy_for("https://zoho.internal.example/x", no) is None
    assert proxy_for("https://accounts.zoho.eu/oauth/v2/token", no) == "http://proxy.corp:3128"
    assert proxy_for("https://accounts.zoho.eu/", {"all": "http://p:1"}) == "http://p:1"


async def test_requests_go_through_the_configured_proxy(emulator: Any) -> None:
    """A plain-http proxy gets the request in absolute form and forwards it."""
    forwarded: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        forwarded.append(str(request.url))
        async with aiohttp.ClientSession() as upstream, upstream.get(str(request.url)) as resp:
            return web.Response(body=await resp.read(), status=resp.status)

    async with serve(proxy) as (proxy_url, _), ZohoHTTP(proxies={"http": proxy_url}) as http:
        resp = await http.request("GET", f"{emulator.url}/_emulator/health")
    assert resp.json() == {"status": "ok"}
    assert forwarded == [f"{emulator.url}/_emulator/health"]
