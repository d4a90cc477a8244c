"""The Zoho emulator's throughput on ONE core: token requests and CRM record requests.

    uv run python -m bench.emulator [--seconds 2] [--rounds 3] [--connections 64] [--json FILE]

The emulator runs as its own process (`zohoauth.emulator.server.serve`, the function behind
`zohoauth emulator`: uvicorn with uvloop and httptools) pinned to one core with
`os.sched_setaffinity`. This process is the load generator, pinned to the other core: a fixed
number of kept-alive HTTP/1.1 connections on raw asyncio sockets (uvloop), each sending its
next request as soon as the previous response is complete (closed loop, no pipelining). Every
response is checked (status and a marker in the body); errors are counted and reported.

Workloads (all under `/us/`, as a client of a US user would call them):

- `health`: `GET /_emulator/health`, the framework's floor (no Zoho logic);
- `token`: `POST /oauth/v2/token` with `grant_type=refresh_token`. Zoho allows 10 refreshes per
  refresh token per 10 minutes; the bench lifts that through `POST /_emulator/config
  {"max_refreshes_per_window": 1000000000}` (it would otherwise measure "Access Denied");
- `org`: `GET /crm/v8/org`;
- `get`: `GET /crm/v8/Leads/{id}`;
- `list`: `GET /crm/v8/Leads?fields=Last_Name,Email,Company&per_page=10`;
- `search`: `GET /crm/v8/Leads/search?email=...` (a scan of the org's Leads).

For each: requests/s, latency p50/p90/p99 at that concurrency, and the CPU share of the
server, of this load generator, and of everything else on the machine during the run (so a
reader can tell whether the server's core was the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import httpx

from ._common import (
    free_port,
    machine,
    now_iso,
    percentile,
    process_cpu_seconds,
    system_busy_seconds,
    table,
    write_json,
)

HOST = "127.0.0.1"
TOKEN_CLIENT = ("1000.BENCHTOKENCLIENT000000000000000", "bench-token-secret")
CRM_CLIENT = ("1000.BENCHCRMCLIENT0000000000000000", "bench-crm-secret")
EMAIL = "ava@zylker.com"
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.settings.ALL"
MAX_REQUESTS = 2_000_000  # per measured phase: a hard bound besides the time limit

SERVER = """
import json, os, sys
os.sched_setaffinity(0, {int(sys.argv[3])})
seed = json.loads(open(sys.argv[4]).read()) if len(sys.argv) > 4 and sys.argv[4] else None
config = {"grant_limits": False}  # benches log in many times; Zoho's grant limits would refuse
if len(sys.argv) > 6:  # TLS: the same server as `serve`, with a certificate
    import uvicorn
    from zohoauth.emulator.app import create_app
    uvicorn.run(create_app(seed, config), host=sys.argv[1], port=int(sys.argv[2]),
                log_level="warning", access_log=False, lifespan="off",
                ssl_certfile=sys.argv[5], ssl_keyfile=sys.argv[6])
else:
    from zohoauth.emulator.server import serve
    serve(sys.argv[1], int(sys.argv[2]), seed, config)
"""


# -- the emulator process ------------------------------------------------------------------


@contextlib.contextmanager
def emulator_process(
    core: int, seed: dict[str, Any] | None = None, tls: tuple[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """The emulator in a child process pinned to `core` (with `seed`, else the built-in seed;
    over https with `tls` = (certificate file, key file)); yields (base URL, pid)."""
    port = free_port()
    with (
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("w", suffix=".json") as sf,
    ):
        extra = [""]
        if seed is not None:
            sf.write(json.dumps(seed))
            sf.flush()
            extra = [sf.name]
        if tls is not None:
            extra += list(tls)
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, HOST, str(port), str(core), *extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        url = f"{'https' if tls else 'http'}://{HOST}:{port}"
        verify: Any = tls[0] if tls else True
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    err.seek(0)
                    raise RuntimeError(f"the emulator exited {proc.returncode}: {err.read()}")
                with contextlib.suppress(httpx.HTTPError):
                    health = httpx.get(url + "/_emulator/health", timeout=1, verify=verify)
                    if health.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not answer within 30 s")
                time.sleep(0.05)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@dataclass
class Setup:
    refresh_token: str
    access_token: str
    api: str  # e.g. http://127.0.0.1:PORT/us/api
    accounts: str
    lead_id: str
    lead_email: str


def prepare(url: str) -> Setup:
    """Clients, tokens and a known Lead, through the admin API and the real endpoints.

    Two clients, so the refresh workload's 15-live-access-token cap (per refresh token) never
    evicts the access token the CRM workloads use."""
    with httpx.Client(base_url=url, timeout=10) as admin:
        admin.post(
            "/_emulator/config", json={"max_refreshes_per_window": 1_000_000_000}
        ).raise_for_status()
        tokens = []
        for client_id, secret in (TOKEN_CLIENT, CRM_CLIENT):
            admin.post(
                "/_emulator/clients",
                json={"client_id": client_id, "client_secret": secret, "redirect_uris": []},
            ).raise_for_status()
            grant = admin.post(
                "/_emulator/self-client/code",
                json={"client_id": client_id, "email": EMAIL, "scope": SCOPES},
            ).json()
            body = admin.post(
                grant["accounts_server"] + "/oauth/v2/token",
                data={
                    "grant_type": "authorization_code",
                    "client_id": client_id,
                    "client_secret": secret,
                    "code": grant["code"],
                },
            ).json()
            tokens.append(body)
        api = tokens[1]["api_domain"]
        leads = admin.get(
            f"{api}/crm/v8/Leads",
            params={"fields": "Email", "per_page": 50},
            headers={"Authorization": f"Zoho-oauthtoken {tokens[1]['access_token']}"},
        ).json()["data"]
        lead = next(r for r in leads if r.get("Email"))
    return Setup(
        refresh_token=tokens[0]["refresh_token"],
        access_token=tokens[1]["access_token"],
        api=api,
        accounts=grant["accounts_server"],
        lead_id=str(lead["id"]),
        lead_email=lead["Email"],
    )


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    request: bytes
    status: int
    marker: bytes  # must appear in the body of a good response


def _get(url: str, token: str | None, marker: bytes) -> tuple[bytes, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    auth = f"Authorization: Zoho-oauthtoken {token}\r\n" if token else ""
    head = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{auth}\r\n"
    return head.encode(), 200, marker


def workloads(s: Setup) -> list[Workload]:
    crm = f"{s.api}/crm/v8"
    form = urlencode(
        {
            "grant_type": "refresh_token",
            "client_id": TOKEN_CLIENT[0],
            "client_secret": TOKEN_CLIENT[1],
            "refresh_token": s.refresh_token,
        }
    ).encode()
    token_url = urlsplit(s.accounts + "/oauth/v2/token")
    token_req = (
        f"POST {token_url.path} HTTP/1.1\r\nHost: {token_url.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    base = f"http://{urlsplit(s.api).netloc}"
    lead_fields = "fields=Last_Name,Email,Company&per_page=10"
    return [
        Workload("health", *_get(f"{base}/_emulator/health", None, b'"ok"')),
        Workload("token", token_req, 200, b'"access_token"'),
        Workload("org", *_get(f"{crm}/org", s.access_token, b'"zgid"')),
        Workload("get", *_get(f"{crm}/Leads/{s.lead_id}", s.access_token, s.lead_id.encode())),
        Workload("list", *_get(f"{crm}/Leads?{lead_fields}", s.access_token, b'"more_records"')),
        Workload(
            "search",
            *_get(f"{crm}/Leads/search?email={s.lead_email}", s.access_token, s.lead_id.encode()),
        ),
    ]


# -- the load generator ----------------------------------------------------------------------


@dataclass
class Phase:
    """One timed run across all connections: stop at `deadline` or after `limit` requests."""

    deadline: float
    limit: int
    record: bool
    latencies_ns: list[int] = field(default_factory=list)
    done: int = 0
    errors: int = 0
    first_error: str = ""


class Connection(asyncio.Protocol):
    """One kept-alive connection: request, whole response, next request (no pipelining)."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.sent_at = 0
        self.phase: Phase | None = None
        self.finished: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    def start(self, phase: Phase) -> asyncio.Future[None]:
        self.phase = phase
        self.finished = asyncio.get_running_loop().create_future()
        self._send()
        return self.finished

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.workload.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self._complete()
        if end is None:
            return
        took = time.perf_counter_ns() - self.sent_at
        response = bytes(self.buf[:end])
        del self.buf[:end]
        phase = self.phase
        assert phase is not None
        assert self.finished is not None
        phase.done += 1
        status = int(response[9:12])
        if status != self.workload.status or self.workload.marker not in response:
            phase.errors += 1
            if not phase.first_error:
                phase.first_error = response[:300].decode("latin-1")
        if phase.record:
            phase.latencies_ns.append(took)
        if phase.done >= phase.limit or time.monotonic() >= phase.deadline:
            self.finished.set_result(None)
        else:
            self._send()

    def _complete(self) -> int | None:
        """Length of the first complete response in the buffer, or None if not yet whole."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = bytes(self.buf[:head_end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else None])
            total = head_end + 4 + length
            return total if len(self.buf) >= total else None
        if b"transfer-encoding: chunked" in head:
            tail = self.buf.find(b"\r\n0\r\n\r\n", head_end)
            return tail + 7 if tail >= 0 else None
        return head_end + 4  # no body (e.g. 204)


async def run_phase(conns: list[Connection], seconds: float, record: bool) -> Phase:
    phase = Phase(time.monotonic() + seconds, MAX_REQUESTS, record)
    await asyncio.wait_for(asyncio.gather(*(c.start(phase) for c in conns)), seconds + 30)
    return phase


async def measure(
    url: str, workload: Workload, connections: int, seconds: float, warmup: float, server: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    port = int(urlsplit(url).port or 80)
    conns: list[Connection] = []
    for _ in range(connections):
        _, proto = await asyncio.wait_for(
            loop.create_connection(lambda: Connection(workload), HOST, port), 10
        )
        conns.append(proto)
    try:
        await run_phase(conns, warmup, record=False)
        cpu_server, cpu_self = process_cpu_seconds(server), time.process_time()
        busy, started = system_busy_seconds(), time.perf_counter()
        phase = await run_phase(conns, seconds, record=True)
        wall = time.perf_counter() - started
        server_cpu = (process_cpu_seconds(server) - cpu_server) / wall
        self_cpu = (time.process_time() - cpu_self) / wall
        all_cpu = (system_busy_seconds() - busy) / wall
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
        await asyncio.wait([c.lost for c in conns], timeout=5)
    lat = sorted(ns / 1e6 for ns in phase.latencies_ns)
    return {
        "workload": workload.name,
        "connections": connections,
        "seconds": round(wall, 3),
        "requests": phase.done,
        "errors": phase.errors,
        "first_error": phase.first_error or None,
        "rps": phase.done / wall,
        "p50_ms": percentile(lat, 50),
        "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else float("nan"),
        "cpu_server": server_cpu,  # cores (1.0 = one core fully busy)
        "cpu_loadgen": self_cpu,
        "cpu_others": max(0.0, all_cpu - server_cpu - self_cpu),
    }


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def pick(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput, plus the range over all rounds."""
    ordered = sorted(rounds, key=lambda r: r["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rps_rounds"] = [round(r["rps"], 1) for r in rounds]
    chosen["errors"] = sum(r["errors"] for r in rounds)
    chosen["first_error"] = next((r["first_error"] for r in rounds if r["first_error"]), None)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per workload (median kept)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument("--json", dest="json_path", help="write the results here")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600 or not 1 <= args.connections <= 512:
        parser.error("--seconds must be in (0, 600] and --connections in [1, 512]")
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be in [1, 50]")

    cores = sorted(os.sched_getaffinity(0))
    server_core, gen_core = cores[0], cores[-1]
    info = machine()
    print(
        f"{info['cpus']} x {info['cpu_model']}, load average {info['loadavg_at_start'][0]:.2f}; "
        f"emulator pinned to core {server_core}, load generator to core {gen_core}",
        file=sys.stderr,
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    with emulator_process(server_core) as (url, pid):
        os.sched_setaffinity(0, {gen_core})
        setup = prepare(url)
        chosen = [w for w in workloads(setup) if not args.only or w.name in args.only.split(",")]
        # Rounds interleave the workloads, so a burst of other work on the machine is spread
        # over all of them instead of sinking one.
        for n in range(args.rounds):
            for workload in chosen:
                with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
                    result = runner.run(
                        measure(url, workload, args.connections, args.seconds, args.warmup, pid)
                    )
                runs.setdefault(workload.name, []).append(result)
                print(
                    f"  round {n + 1} {workload.name}: {result['rps']:,.0f} req/s, "
                    f"server {result['cpu_server']:.0%} of a core, {result['errors']} errors",
                    file=sys.stderr,
                )
        with httpx.Client(timeout=10) as check:
            stats = check.get(url + "/_emulator/stats").json()
    os.sched_setaffinity(0, set(cores))
    results = [pick(r) for r in runs.values()]

    headers = ["workload", "req/s", "range", "per core", "p50 ms", "p99 ms", "errors"]
    headers += ["server", "loadgen", "others"]
    rows = [
        [
            r["workload"],
            r["rps"],
            f"{min(r['rps_rounds']):,.0f}-{max(r['rps_rounds']):,.0f}",
            r["rps"] / r["cpu_server"] if r["cpu_server"] else float("nan"),
            r["p50_ms"],
            r["p99_ms"],
            r["errors"],
            f"{r['cpu_server']:.0%}",
            f"{r['cpu_loadgen']:.0%}",
            f"{r['cpu_others']:.0%}",
        ]
        for r in results
    ]
    print(table(headers, rows))
    print(
        f"{args.connections} keep-alive connections; median of {args.rounds} runs of "
        f"{args.seconds:g} s. 'per core' = req/s divided by the server's CPU share (its rate on "
        "a core of its own); server/loadgen/others = CPU used, in cores, by the emulator, this "
        "load generator and every other process on the machine."
    )
    print(
        "refresh throttle lifted for the bench: POST /_emulator/config "
        '{"max_refreshes_per_window": 1000000000}'
    )
    bad = [r for r in results if r["errors"]]
    for r in bad:
        print(f"{r['workload']}: {r['errors']} bad responses, first: {r['first_error']!r}")
    write_json(
        args.json_path,
        {
            "benchmark": "emulator",
            "when": now_iso(),
            "machine": info | {"loadavg_at_end": list(os.getloadavg())},
            "server": "zohoauth.emulator.server.serve (uvicorn, uvloop, httptools), one process",
            "server_core": server_core,
            "loadgen_core": gen_core,
            "connections": args.connections,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "throttle_lifted": {"max_refreshes_per_window": 1_000_000_000},
            "emulator_stats": stats,
            "results": results,
            "all_runs": runs,
        },
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
