"""CRM call cost: the same sequential GET-record reads through four clients.

- raw httpx: one kept-alive `httpx.AsyncClient`, a fixed token in a prebuilt header dict,
  `GET {api}/crm/v8/Leads/{id}` and `json.loads` of the body (the baseline before zohoauth
  moved to aiohttp);
- raw aiohttp: the same with one kept-alive `aiohttp.ClientSession` (default connector, the
  same trust): the floor for a Python client, and what zohoauth's transport is built on;
- zohoauth: `CRMClient.get_record("Leads", id)` from `ZohoAuth.crm(connection)` (its
  `ZohoHTTP`, aiohttp underneath), with a real `TokenManager` (SQLite store, the user logged in
  through the consent page) whose cache is warm: token lookup, host check, headers, error
  mapping;
- the official SDK: `RecordOperations("Leads").get_record(id)` in a child process (its
  `Initializer` is process-global) with a FileStore, as its users run it: before each call it
  finds the token in the CSV, then sends the request with `requests` on a new connection and
  turns the JSON into `Record` objects.

The emulator runs in its own process pinned to core 0; the clients run one at a time, pinned
to core 1, in rounds (raw httpx, raw aiohttp, zohoauth, SDK, raw httpx, ...) so a burst of other
work on the machine hits them alike. Each round is `calls` reads after a warm-up; its figure is
µs per read; the result is the median round, with the spread.

Keys beside the per-client figures: `zohoauth_vs_raw_httpx` (wall, per-round ratios) and
`zohoauth_vs_raw_httpx_client_cpu`; `raw_aiohttp_us` (µs per read, spread over rounds) and
`zohoauth_vs_raw_aiohttp` = {"wall": spread, "client_cpu": spread} of the per-round ratios.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from zohoauth.crypto import KeyRing

from ._common import process_cpu_seconds, spread
from ._zoho import (
    SDK_PRELUDE,
    LineChild,
    login,
    make_auth,
    register_client,
    self_client_grant,
    self_signed_certificate,
    trusting,
)
from .emulator import emulator_process
from .storm import first_lead

WARMUP = 50

SDK_LOOP = (
    SDK_PRELUDE
    + r"""
for _ in range(int(job["warmup"])):
    read_lead()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    calls = int(line)
    if calls <= 0:
        break
    started = time.perf_counter()
    for _ in range(calls):
        read_lead()
    print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)
"""
)


async def _zohoauth_and_raw(
    url: str, store_url: str, calls: int, rounds: int, sdk: LineChild | None, emu_pid: int
) -> dict[str, Any]:
    client = register_client(url)
    keys = KeyRing.generate_key()
    samples: dict[str, list[float]] = {
        "raw_httpx": [],
        "raw_aiohttp": [],
        "zohoauth": [],
        "sdk": [],
    }
    server_cpu: dict[str, list[float]] = {k: [] for k in samples}
    client_cpu: dict[str, list[float]] = {k: [] for k in samples}
    async with make_auth(url, store_url, keys, client) as auth:
        cid = await login(auth, "ava@zylker.com")
        tok = await auth.access_token(cid)
        lead_id = first_lead(url, tok.token, tok.api_domain)
        crm = auth.crm(cid)
        raw_url = f"{tok.api_domain}/crm/v8/Leads/{lead_id}"
        headers = {"Authorization": f"Zoho-oauthtoken {tok.token}", "X-CRM-ORG": tok.org_id}

        # A plain session: aiohttp's own defaults but for the CA, which (like httpx's and
        # zohoauth's) comes from SSL_CERT_FILE when the emulator serves https.
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context())
        async with (
            httpx.AsyncClient(timeout=30) as http,
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=30)
            ) as session,
        ):

            async def raw() -> None:
                resp = await http.get(raw_url, headers=headers)
                resp.raise_for_status()
                if json.loads(resp.content)["data"][0]["id"] != lead_id:
                    raise AssertionError("raw read returned another record")

            async def raw_aio() -> None:
                async with session.get(raw_url, headers=headers) as resp:
                    resp.raise_for_status()
                    body = await resp.read()
                if json.loads(body)["data"][0]["id"] != lead_id:
                    raise AssertionError("raw aiohttp read returned another record")

            async def ours() -> None:
                if (await crm.get_record("Leads", lead_id))["id"] != lead_id:
                    raise AssertionError("CRMClient read returned another record")

            for fn in (raw, raw_aio, ours):
                for _ in range(WARMUP):
                    await fn()
            for n in range(rounds):
                for name, fn in (("raw_httpx", raw), ("raw_aiohttp", raw_aio), ("zohoauth", ours)):
                    cpu, own = process_cpu_seconds(emu_pid), time.process_time()
                    started = time.perf_counter()
                    for _ in range(calls):
                        await fn()
                    took = time.perf_counter() - started
                    samples[name].append(took / calls * 1e6)
                    server_cpu[name].append((process_cpu_seconds(emu_pid) - cpu) / calls * 1e6)
                    client_cpu[name].append((time.process_time() - own) / calls * 1e6)
                if sdk is not None:
                    cpu, own = process_cpu_seconds(emu_pid), process_cpu_seconds(sdk.proc.pid)
                    sdk.send(str(calls))
                    took = sdk.line(timeout=600)["seconds"]
                    samples["sdk"].append(took / calls * 1e6)
                    server_cpu["sdk"].append((process_cpu_seconds(emu_pid) - cpu) / calls * 1e6)
                    client_cpu["sdk"].append(
                        (process_cpu_seconds(sdk.proc.pid) - own) / calls * 1e6
                    )
                print(
                    f"  crm round {n + 1}/{rounds}: "
                    + ", ".join(f"{k} {v[-1]:.0f} µs" for k, v in samples.items() if v),
                    file=sys.stderr,
                )
    return {
        "samples": samples,
        "server_cpu_us": server_cpu,
        "client_cpu_us": client_cpu,
        "lead_id": lead_id,
    }


def run(
    calls: int, rounds: int, workdir: Path, sdk_skip: str | None, *, tls: bool = False
) -> dict[str, Any]:
    """The three clients against one emulator; with `tls`, the emulator serves https (as Zoho
    does) with a certificate all three clients trust."""
    cert = self_signed_certificate(workdir) if tls else None
    with trusting(cert[0] if cert else None):
        result = _run(calls, rounds, workdir, sdk_skip, cert)
    result["transport"] = "https (TLS 1.3, loopback)" if tls else "plain http (loopback)"
    return result


def _run(
    calls: int, rounds: int, workdir: Path, sdk_skip: str | None, cert: tuple[str, str] | None
) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    root = Path(__file__).resolve().parent.parent
    with emulator_process(server_core, tls=cert) as (url, pid):
        os.sched_setaffinity(0, {client_core})
        try:
            sdk: LineChild | None = None
            if sdk_skip is None:
                client = register_client(url)
                grant = self_client_grant(url, client, "ava@zylker.com")
                token = httpx.post(
                    grant["token_url"],
                    data={
                        "grant_type": "authorization_code",
                        "client_id": client.client_id,
                        "client_secret": client.client_secret,
                        "code": self_client_grant(url, client, "ava@zylker.com")["code"],
                    },
                    timeout=10,
                ).json()
                lead = first_lead(url, token["access_token"], grant["api_base"])
                sdk_dir = Path(tempfile.mkdtemp(prefix="sdk_crm_", dir=workdir))
                sdk = LineChild(
                    SDK_LOOP,
                    {
                        **grant,
                        "client_id": client.client_id,
                        "client_secret": client.client_secret,
                        "csv": str(sdk_dir / "tokens.csv"),
                        "workdir": str(sdk_dir),
                        "lead_id": lead,
                        "warmup": WARMUP,
                    },
                    cwd=root,
                    core=client_core,
                )
                sdk.line(timeout=180)
            try:
                store_url = f"sqlite:///{workdir / 'crm_cost.db'}"
                got = asyncio.run(_zohoauth_and_raw(url, store_url, calls, rounds, sdk, pid))
            finally:
                if sdk is not None:
                    sdk.send("0")
                    sdk.close()
        finally:
            os.sched_setaffinity(0, set(cores))
    samples = got["samples"]
    result: dict[str, Any] = {
        "calls_per_round": calls,
        "rounds": rounds,
        "server_core": server_core,
        "client_core": client_core,
        "per_call_us": {k: spread(v) for k, v in samples.items() if v},
        "emulator_cpu_per_call_us": {
            k: statistics.median(v) for k, v in got["server_cpu_us"].items() if v
        },
        "client_cpu_per_call_us": {k: spread(v) for k, v in got["client_cpu_us"].items() if v},
        "runs_us": samples,
    }
    raw, ours = samples["raw_httpx"], samples["zohoauth"]
    # Ratios per round (each round's clients ran back to back), then the median ratio.
    result["zohoauth_vs_raw_httpx"] = spread([o / r for o, r in zip(ours, raw, strict=True)])
    if samples["sdk"]:
        result["sdk_vs_zohoauth"] = spread(
            [s / o for s, o in zip(samples["sdk"], ours, strict=True)]
        )
        cpu = got["client_cpu_us"]
        result["sdk_vs_zohoauth_client_cpu"] = statistics.median(cpu["sdk"]) / statistics.median(
            cpu["zohoauth"]
        )
    else:
        result["skipped_sdk"] = sdk_skip
    cpu = got["client_cpu_us"]
    result["zohoauth_vs_raw_httpx_client_cpu"] = statistics.median(
        cpu["zohoauth"]
    ) / statistics.median(cpu["raw_httpx"])
    aio = samples["raw_aiohttp"]
    result["raw_aiohttp_us"] = spread(aio)
    result["zohoauth_vs_raw_aiohttp"] = {
        "wall": spread([o / r for o, r in zip(ours, aio, strict=True)]),
        "client_cpu": spread(
            [o / r for o, r in zip(cpu["zohoauth"], cpu["raw_aiohttp"], strict=True)]
        ),
    }
    return result
