"""The web app under load: many logged-in users reading records at once, against the same reads
sent straight to the emulator.

Set-up: the emulator (a seed with `users` extra users over its orgs) in a process pinned to
core 0; `zohoauth serve` (one uvicorn worker, SQLite store, default logging: one access line
per request) in a process pinned to core 1, wired to the emulator through
ZOHOAUTH_ZOHO_ENDPOINTS with a client registered for its redirect URI. Each user logs in the way
a browser does: `GET /` (CSRF cookie), `GET /login`, the emulator's consent page,
`POST /api/auth/callback` with the redirect's parameters and the CSRF header. Their tokens are
then read from the app's store (decrypted with its key) for the direct reads.

The load generator is this process (unpinned: it shares the two cores with both servers and
with whatever else runs on the machine; its CPU is reported): one kept-alive HTTP/1.1
connection per user on raw asyncio sockets (uvloop), every response checked (status and
`"data"` in the body), a fixed number of requests and a deadline per run.

- `app`: `GET /api/records/Leads?fields=Last_Name,Email,Company&per_page=10` with the user's
  session cookie: session check, token lookup, the CRM call to the emulator, Zoho's JSON back;
- `direct`: the same read, `GET {api_domain}/crm/v8/Leads?...` with the user's token and org.

Two ways of loading, both bounded:
1. closed loop: every user sends its next request as soon as the previous answer is in
   (throughput, and latency at that concurrency: mostly queueing at the busiest process);
2. fixed rate: both paths get the same offered load (a share of the app's closed-loop
   throughput), each user on its own schedule; latency counts from the scheduled send time, so a
   slow answer is not hidden by the requests it delayed (no coordinated omission).
Runs alternate app / direct, and the median run is kept, with the range.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx

from zohoauth.config import Settings
from zohoauth.crypto import KeyRing
from zohoauth.oauth import OAuthClient
from zohoauth.store.sql import SQLTokenStore

from ._common import free_port, percentile, process_cpu_seconds, system_busy_seconds
from ._zoho import consent, seed_with_users
from .emulator import _event_loop_factory, emulator_process

HOST = "127.0.0.1"
QUERY = "fields=Last_Name,Email,Company&per_page=10"
MAX_REQUESTS = 200_000


@dataclass
class User:
    email: str
    cookie: str
    connection_id: str = ""
    token: str = ""
    api_domain: str = ""
    org_id: str = ""


# -- the app -----------------------------------------------------------------------------------


@contextlib.contextmanager
def web_app(
    emulator_url: str, workdir: Path, core: int, extra_env: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """`zohoauth serve` wired to the emulator, pinned to `core` (with `extra_env` on top of
    its settings); yields its URL, pid, keys, store URL and OAuth client."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    redirect = f"{url}/redirect.html"
    client = OAuthClient(
        client_id=f"1000.{secrets.token_hex(12).upper()}",
        client_secret=secrets.token_hex(20),
        redirect_uri=redirect,
    )
    httpx.post(
        f"{emulator_url}/_emulator/clients",
        json={
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uris": [redirect],
        },
        timeout=10,
    ).raise_for_status()
    keys = KeyRing.generate_key()
    db = workdir / f"web_{secrets.token_hex(3)}.db"
    env = {
        **os.environ,
        "ZOHOAUTH_CLIENT_ID": client.client_id,
        "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
        "ZOHOAUTH_REDIRECT_URI": redirect,
        "ZOHOAUTH_DATABASE_URL": f"sqlite:///{db}",
        "ZOHOAUTH_ENCRYPTION_KEYS": keys,
        "ZOHOAUTH_SESSION_SECRET": secrets.token_urlsafe(32),
        "ZOHOAUTH_ZOHO_ENDPOINTS": f"{emulator_url}/_emulator/endpoints",
        "ZOHOAUTH_DATA_DIR": str(workdir),
        # Every user logs in from this one address, faster than any person would: the login
        # rate limits (per client address) are for people, not for setting up a load test.
        "ZOHOAUTH_LOGIN_RATE_LIMIT": "",
        "ZOHOAUTH_CALLBACK_RATE_LIMIT": "",
        **(extra_env or {}),
    }
    exe = Path(sys.executable).with_name("zohoauth")
    command = [str(exe), "serve", "--host", HOST, "--port", str(port), "--migrate"]
    profile = os.environ.get("BENCH_PROFILE_WEB")  # a file: the app runs under pyinstrument
    if profile:
        command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "--show-all",
            "-o",
            profile,
            *command,
        ]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=log,
            preexec_fn=lambda: os.sched_setaffinity(0, {core}),  # only sets the CPU affinity
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"zohoauth serve exited {proc.returncode}: {log.read()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("zohoauth serve did not answer within 60 s")
                time.sleep(0.1)
            yield {
                "url": url,
                "pid": proc.pid,
                "keys": keys,
                "store_url": f"sqlite:///{db}",
                "client": client,
            }
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=120 if profile else 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def log_in(app_url: str, email: str) -> User:
    """One browser's login: page visit (CSRF cookie), /login, consent, the callback."""
    with httpx.Client(base_url=app_url, timeout=15, follow_redirects=False) as browser:
        browser.get("/").raise_for_status()
        start = browser.get("/login")
        if start.status_code != 302:
            raise RuntimeError(f"/login answered {start.status_code}")
        redirect = consent(start.headers["location"], email)
        params = dict(redirect.params)
        params["accounts_server"] = params.pop("accounts-server", "")
        csrf = browser.cookies.get("zohoauth_csrf") or ""
        done = browser.post("/api/auth/callback", json=params, headers={"X-CSRF-Token": csrf})
        if done.status_code != 200:
            raise RuntimeError(f"callback for {email} answered {done.status_code}: {done.text}")
        me = browser.get("/api/me").json()
        cookie = "; ".join(
            f"{name}={browser.cookies.get(name)}" for name in ("zohoauth_session", "zohoauth_csrf")
        )
        return User(email, cookie, connection_id=me["id"], org_id=me["org_id"])


async def fill_tokens(users: list[User], store_url: str, keys: str) -> None:
    """Each user's token and API host, from the app's own store (what it sends to Zoho)."""
    store = SQLTokenStore(store_url, KeyRing.from_config(keys))
    await store.open()
    try:
        for u in users:
            pair = await store.get_connection_with_credential(u.connection_id)
            if pair is None or pair[1].tokens.access_token is None:
                raise RuntimeError(f"no stored token for {u.email}")
            u.token, u.api_domain = pair[1].tokens.access_token, pair[1].api_domain
    finally:
        await store.close()


def app_request(app_url: str, user: User) -> bytes:
    host = urlsplit(app_url).netloc
    return (
        f"GET /api/records/Leads?{QUERY} HTTP/1.1\r\nHost: {host}\r\nCookie: {user.cookie}\r\n\r\n"
    ).encode()


def direct_request(user: User) -> bytes:
    parts = urlsplit(user.api_domain)
    org = f"X-CRM-ORG: {user.org_id}\r\n" if user.org_id else ""
    return (
        f"GET {parts.path}/crm/v8/Leads?{QUERY} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Zoho-oauthtoken {user.token}\r\n{org}\r\n"
    ).encode()


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Run:
    """One bounded run over all connections: `limit` requests in all, or until `deadline`."""

    limit: int
    deadline: float
    interval: float = 0.0  # per connection; 0 = closed loop
    marker: bytes = b'"data"'  # a correct answer's body has this
    sent: int = 0
    done: int = 0
    errors: int = 0
    first_error: str = ""
    latencies_ns: list[int] = field(default_factory=list)


class Client(asyncio.Protocol):
    """One user's kept-alive connection (no pipelining)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.due = 0  # perf_counter_ns the current request counts from
        self.run: Run | None = None
        self.finished: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(ConnectionError(f"connection closed: {exc}"))

    def start(self, run: Run, offset: float) -> asyncio.Future[None]:
        self.run = run
        self.finished = self.loop.create_future()
        self.due = time.perf_counter_ns() + int(offset * 1e9)
        self._schedule()
        return self.finished

    def _schedule(self) -> None:
        run = self.run
        assert run is not None
        assert self.finished is not None
        if run.sent >= run.limit or time.monotonic() >= run.deadline:
            self.finished.set_result(None)
            return
        run.sent += 1
        wait = (self.due - time.perf_counter_ns()) / 1e9
        if wait > 0:
            self.loop.call_later(wait, self._send)
        else:
            self._send()

    def _send(self) -> None:
        assert self.transport is not None
        assert self.run is not None
        if self.run.interval == 0:
            self.due = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = _complete(self.buf)
        if end is None:
            return
        now = time.perf_counter_ns()
        response = bytes(self.buf[:end])
        del self.buf[:end]
        run = self.run
        assert run is not None
        run.done += 1
        run.latencies_ns.append(now - self.due)
        if int(response[9:12]) != 200 or run.marker not in response:
            run.errors += 1
            if not run.first_error:
                run.first_error = response[:300].decode("latin-1")
        if run.interval:
            self.due += int(run.interval * 1e9)
        self._schedule()


def _complete(buf: bytearray) -> int | None:
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        total = head_end + 4 + int(head[at + 17 : line_end if line_end >= 0 else None])
        return total if len(buf) >= total else None
    if b"transfer-encoding: chunked" in head:
        tail = buf.find(b"\r\n0\r\n\r\n", head_end)
        return tail + 7 if tail >= 0 else None
    return head_end + 4


async def load(
    target: str,
    requests: list[bytes],
    total: int,
    seconds: float,
    rate: float,
    pids: list[int],
    marker: bytes = b'"data"',
) -> dict[str, Any]:
    """`total` requests over one connection per user (closed loop, or `rate` req/s in all);
    an answer counts as correct with status 200 and `marker` in it."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(target)
    conns: list[Client] = []
    for req in requests:
        _, proto = await asyncio.wait_for(
            loop.create_connection(lambda r=req: Client(r), parts.hostname, parts.port), 10
        )
        conns.append(proto)
    try:
        interval = len(conns) / rate if rate else 0.0
        run = Run(min(total, MAX_REQUESTS), time.monotonic() + seconds, interval, marker=marker)
        cpu = [process_cpu_seconds(p) for p in pids]
        own, busy, started = time.process_time(), system_busy_seconds(), time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(c.start(run, interval * i / len(conns)) for i, c in enumerate(conns))),
            seconds + 60,
        )
        wall = time.perf_counter() - started
        servers = [(process_cpu_seconds(p) - c) / wall for p, c in zip(pids, cpu, strict=True)]
        loadgen = (time.process_time() - own) / wall
        everything = (system_busy_seconds() - busy) / wall
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
        await asyncio.wait([c.lost for c in conns], timeout=5)
    lat = sorted(ns / 1e6 for ns in run.latencies_ns)
    return {
        "requests": run.done,
        "errors": run.errors,
        "first_error": run.first_error or None,
        "seconds": round(wall, 3),
        "rps": run.done / wall,
        "offered_rps": rate or None,
        "p50_ms": percentile(lat, 50),
        "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else float("nan"),
        "cpu_servers": servers,  # cores, in the order of `pids`
        "cpu_loadgen": loadgen,
        "cpu_others": max(0.0, everything - sum(servers) - loadgen),
    }


def _go(coro: Any) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        result: dict[str, Any] = runner.run(coro)
        return result


def _pick(runs: list[dict[str, Any]], key: str = "p99_ms") -> dict[str, Any]:
    """The median run by `key`, with every run's throughput, p50 and p99 alongside."""
    ordered = sorted(runs, key=lambda r: r[key])
    chosen = dict(ordered[len(ordered) // 2])
    for k in ("rps", "p50_ms", "p99_ms"):
        chosen[f"{k}_runs"] = [round(r[k], 3) for r in runs]
    chosen["errors"] = sum(r["errors"] for r in runs)
    return chosen


def run(
    users: int,
    requests: int,
    rounds: int,
    seconds: float,
    workdir: Path,
    rate_share: float = 0.5,
    paced_rounds: int | None = None,
) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    emu_core, app_core = cores[0], cores[-1]
    # Every user logs in through the web app's /login, i.e. the Multi-DC accounts server, and
    # 32 consents in a minute are far over Zoho's 10 grant codes per client per 10 minutes,
    # which the emulator now enforces by default: the limits are tested in tests/emulator.
    seed = seed_with_users(users, sign_in="us")
    seed["config"] = {**seed.get("config", {}), "grant_limits": False}
    emails = [u["email"] for u in seed["users"]][-users:]
    with (
        emulator_process(emu_core, seed) as (emu_url, emu_pid),
        web_app(emu_url, workdir, app_core) as app,
    ):
        started = time.perf_counter()
        logged = [log_in(app["url"], e) for e in emails]
        login_s = time.perf_counter() - started
        asyncio.run(fill_tokens(logged, app["store_url"], app["keys"]))
        paths = {
            "app": (app["url"], [app_request(app["url"], u) for u in logged]),
            "direct": (emu_url, [direct_request(u) for u in logged]),
        }
        pids = [emu_pid, app["pid"]]
        for target, reqs in paths.values():  # warm both paths
            _go(load(target, reqs, min(requests, 500), seconds, 0, pids))
        closed: dict[str, list[dict[str, Any]]] = {"app": [], "direct": []}
        for n in range(rounds):
            for name, (target, reqs) in paths.items():
                closed[name].append(_go(load(target, reqs, requests, seconds, 0, pids)))
            print(
                f"  web closed loop {n + 1}/{rounds}: "
                + ", ".join(
                    f"{k} {v[-1]['rps']:,.0f} req/s p99 {v[-1]['p99_ms']:.1f} ms"
                    for k, v in closed.items()
                ),
                file=sys.stderr,
            )
        app_rps = statistics.median(r["rps"] for r in closed["app"])
        rate = round(app_rps * rate_share, 1)
        paced_total = max(200, int(rate * seconds * 0.6))
        paced: dict[str, list[dict[str, Any]]] = {"app": [], "direct": []}
        paced_rounds = paced_rounds or rounds
        for n in range(paced_rounds):
            for name, (target, reqs) in paths.items():
                paced[name].append(_go(load(target, reqs, paced_total, seconds, rate, pids)))
            print(
                f"  web at {rate:,.0f} req/s {n + 1}/{paced_rounds}: "
                + ", ".join(
                    f"{k} p50 {v[-1]['p50_ms']:.2f} p99 {v[-1]['p99_ms']:.2f} ms"
                    for k, v in paced.items()
                ),
                file=sys.stderr,
            )
    closed_pick = {k: _pick(v) for k, v in closed.items()}
    paced_pick = {k: _pick(v) for k, v in paced.items()}
    return {
        "users": users,
        "connections": users,
        "requests_per_run": requests,
        "rounds": rounds,
        "fixed_rate_rounds": paced_rounds,
        "login_seconds": round(login_s, 2),
        "emulator_core": emu_core,
        "app_core": app_core,
        "cpu_servers_order": ["emulator", "web app"],
        "closed_loop": closed_pick,
        "fixed_rate": {"rps": rate, "share_of_app_throughput": rate_share, **paced_pick},
        "runs": {"closed_loop": closed, "fixed_rate": paced},
        "p99_vs_emulator_direct": paced_pick["app"]["p99_ms"] / paced_pick["direct"]["p99_ms"],
        "p99_vs_emulator_direct_closed_loop": closed_pick["app"]["p99_ms"]
        / closed_pick["direct"]["p99_ms"],
        "throughput_vs_emulator_direct": closed_pick["app"]["rps"] / closed_pick["direct"]["rps"],
        "app_scopes": Settings.model_fields["scopes"].default,
    }
