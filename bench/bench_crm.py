"""CRMClient overhead against a raw aiohttp call with a fixed token (target: ≤ 1.15×).

    uv run python -m bench.bench_crm [--calls 2000] [--rounds 5] [--check]

The raw sides use one kept-alive `aiohttp.ClientSession` (what zohoauth's transport is built
on) and, for reference, one `httpx.AsyncClient`, against a local emulator, and parse the JSON;
CRMClient (over its own `ZohoHTTP`) adds its token lookup, host check, headers, error handling
and `Page`. Rounds are interleaved so drift in the machine's load hits all alike; the best
round of each counts, wall time and the process's CPU time. `--check` exits 1 when CRMClient /
raw aiohttp (wall) is over the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp
import httpx

from zohoauth.crm import CRMClient
from zohoauth.emulator import BackgroundEmulator
from zohoauth.manager import AccessToken

TARGET = 1.15
CLIENT_ID, SECRET = "1000.BENCHCLIENT00000000000000000000", "bench-secret"


class FixedToken:
    """A TokenProvider that always returns the same token (what a warm TokenManager does)."""

    def __init__(self, token: AccessToken) -> None:
        self.token = token

    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken:
        return self.token


def login(url: str) -> tuple[str, str]:
    with httpx.Client(base_url=url) as admin:
        admin.post(
            "/_emulator/clients",
            json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uris": []},
        ).raise_for_status()
        g = admin.post(
            "/_emulator/self-client/code",
            json={
                "client_id": CLIENT_ID,
                "email": "ava@zylker.com",
                "scope": "ZohoCRM.modules.ALL",
            },
        ).json()
        body = admin.post(
            g["accounts_server"] + "/oauth/v2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "code": g["code"],
            },
        ).json()
    return body["access_token"], body["api_domain"]


async def run(url: str, calls: int, rounds: int) -> dict[str, tuple[float, float]]:
    """name -> (best wall seconds per call, best CPU seconds per call)."""
    token, api_domain = login(url)
    params = {"fields": "Last_Name,Email", "per_page": 10}
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    raw_url = f"{api_domain}/crm/v8/Leads"
    tokens = FixedToken(AccessToken(token, api_domain, time.time() + 3600, "bench", "", "us"))
    async with (
        httpx.AsyncClient() as http,
        aiohttp.ClientSession() as session,
        CRMClient(tokens, "bench") as crm,
    ):

        async def raw_httpx() -> None:
            resp = await http.get(raw_url, params=params, headers=headers)
            resp.raise_for_status()
            json.loads(resp.content)

        async def raw_aiohttp() -> None:
            async with session.get(raw_url, params=params, headers=headers) as resp:
                resp.raise_for_status()
                body = await resp.read()
            json.loads(body)

        async def crm_client() -> None:
            await crm.list_records("Leads", ["Last_Name", "Email"], per_page=10)

        fns = (raw_httpx, raw_aiohttp, crm_client)
        for fn in fns:  # warm up connections and caches
            for _ in range(50):
                await fn()
        best = {fn.__name__: (float("inf"), float("inf")) for fn in fns}
        for _ in range(rounds):
            for fn in fns:
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    await fn()
                wall, used = time.perf_counter() - start, time.process_time() - cpu
                old = best[fn.__name__]
                best[fn.__name__] = (min(old[0], wall / calls), min(old[1], used / calls))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with BackgroundEmulator() as emu:  # in this process: its CPU counts in process_time
        best = asyncio.run(run(emu.url, args.calls, args.rounds))
    print("                 wall µs/call   CPU µs/call (client + emulator)")
    for name, label in (
        ("raw_httpx", "raw httpx"),
        ("raw_aiohttp", "raw aiohttp"),
        ("crm_client", "CRMClient"),
    ):
        wall, cpu = best[name]
        print(f"{label:<12} {wall * 1e6:12.1f} {cpu * 1e6:13.1f}")
    ratio = best["crm_client"][0] / best["raw_aiohttp"][0]
    print(f"CRMClient / raw aiohttp: {ratio:.3f}  (target ≤ {TARGET})")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
