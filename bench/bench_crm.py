"""CRMClient overhead against a raw httpx call with a fixed token (target: ≤ 1.15×).

    uv run python -m bench.bench_crm [--calls 2000] [--rounds 5] [--check]

Both sides use one kept-alive `httpx.AsyncClient` against a local emulator and parse the JSON;
CRMClient adds its token lookup, host check, headers, error handling and `Page`. Rounds are
interleaved so drift in the machine's load hits both equally; the best round of each counts.
`--check` exits 1 when the ratio is over the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

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

    async def access_token(self, connection_id: str, *, stale: str | None = None) -> AccessToken:
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


async def run(url: str, calls: int, rounds: int) -> tuple[float, float]:
    token, api_domain = login(url)
    params = {"fields": "Last_Name,Email", "per_page": 10}
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    raw_url = f"{api_domain}/crm/v8/Leads"
    tokens = FixedToken(AccessToken(token, api_domain, time.time() + 3600, "bench", "", "us"))
    async with httpx.AsyncClient() as http, CRMClient(tokens, "bench", http=http) as crm:

        async def raw() -> None:
            resp = await http.get(raw_url, params=params, headers=headers)
            resp.raise_for_status()
            json.loads(resp.content)

        async def ours() -> None:
            await crm.list_records("Leads", ["Last_Name", "Email"], per_page=10)

        for fn in (raw, ours):  # warm up connections and caches
            for _ in range(50):
                await fn()
        best = {raw: float("inf"), ours: float("inf")}
        for _ in range(rounds):
            for fn in (raw, ours):
                start = time.perf_counter()
                for _ in range(calls):
                    await fn()
                best[fn] = min(best[fn], time.perf_counter() - start)
    return best[raw] / calls, best[ours] / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with BackgroundEmulator() as emu:
        raw, ours = asyncio.run(run(emu.url, args.calls, args.rounds))
    ratio = ours / raw
    print(f"raw httpx: {raw * 1e6:8.1f} µs/call")
    print(f"CRMClient: {ours * 1e6:8.1f} µs/call")
    print(f"ratio:     {ratio:8.3f}  (target ≤ {TARGET})")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
