"""10,000 rows of the official SDK's CSV through `zohoauth tokens import-sdk`, as a subprocess.

The emulator runs as its own process (`zohoauth emulator --seed`) with 3,000 users in three
DCs, so the importer and Zoho don't share a GIL. Row 2 of the file is the one the official SDK
wrote for ava (header and layout come from it); the other rows use the same layout, written the
way the SDK's FileStore writes (csv.writer, QUOTE_MINIMAL), with tokens the emulator issued:

- 2,000 users whose access token is valid        -> imported, identified with that token
- 1,000 users whose access token has expired     -> imported after one refresh each
- 2,000 rows with a refresh token Zoho never issued -> failed ("rejected the refresh token")
- 1,000 rows each of: grant token only, access token only, an unknown api_domain, too few
  columns, and another client's expired token (no --use-row-secrets) -> skipped, with reasons

The rows are shuffled (fixed seed) so every batch mixes outcomes. Nothing is asserted about
time (speed lives in bench/); the test prints how long each run took.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from zohoauth.oauth import OAuthClient

from ..support.cli import ALL_VARS, Env, make_env
from ..support.sdk import read_rows, run_sdk, write_rows
from ..support.zoho import refresh_requests, register_client

pytest.importorskip("zohocrmsdk", reason="the official SDK (dev dependency zohocrmsdk8-0)")

USERS = 3000
DCS = ("us", "eu", "in")
CLI = [sys.executable, "-c", "from zohoauth.cli import main; main()"]


def seed() -> dict[str, Any]:
    orgs = [
        {"zgid": str(81000000 + i), "company_name": f"Bulk {dc.upper()}", "dc": dc}
        for i, dc in enumerate(DCS)
    ]
    users = [
        {
            "email": f"user{i:05d}@bulk.example",
            "dc": DCS[i % 3],
            "orgs": [str(81000000 + i % 3)],
            "zuid": str(95000000 + i),
        }
        for i in range(USERS)
    ]
    # 3,000 grants for one client: far past Zoho's grant-code limit, which the set-up is not testing
    config = {"grant_limits": False}
    return {"orgs": orgs, "users": users, "clients": [], "generate_records": 0, "config": config}


@pytest.fixture(scope="module")
def bulk_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("bulk-emulator")
    (workdir / "seed.json").write_text(json.dumps(seed()))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*CLI, "emulator", "--port", str(port), "--seed", str(workdir / "seed.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/_emulator/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "no emulator"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class BulkFile:
    client: OAuthClient
    path: Path
    expected: Counter[str]


def mint_all(url: str, client: OAuthClient) -> list[dict[str, str]]:
    """A Self Client code and its exchange for every seeded user, over HTTP."""
    local = threading.local()

    def mint(i: int) -> dict[str, str]:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = httpx.Client(base_url=url, timeout=30)
        grant = http.post(
            "/_emulator/self-client/code",
            json={
                "client_id": client.client_id,
                "email": f"user{i:05d}@bulk.example",
                "scope": ",".join(client.all_scopes),
            },
        ).json()
        body: dict[str, str] = http.post(
            grant["accounts_server"] + "/oauth/v2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "code": grant["code"],
            },
        ).json()
        body["code"] = grant["code"]
        return body

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(mint, range(USERS)))


@pytest.fixture(scope="module")
def bulk_file(bulk_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> BulkFile:
    workdir = tmp_path_factory.mktemp("bulk")
    client = register_client(bulk_emulator)
    sdk_path = workdir / "sdk_tokens.txt"
    run_sdk(bulk_emulator, client, ["user00000@bulk.example"], workdir, csv_path=sdk_path)
    header, sdk_row = read_rows(sdk_path)
    api = httpx.get(bulk_emulator + "/_emulator/endpoints").json()
    minted = mint_all(bulk_emulator, client)
    fake = "1000." + "ab" * 16 + "." + "cd" * 16
    later = str(int((time.time() + 3000) * 1000))
    rows: list[tuple[str, list[str]]] = [("imported", sdk_row[1:])]  # id is set below

    def row(user: str, refresh: str, access: str, grant: str, expiry: str, dc: str) -> list[str]:
        domain = api[dc]["api_domain"] if dc in api else dc
        secret = client.client_secret
        return [user, client.client_id, secret, refresh, access, grant, expiry, "", domain]

    for i in range(1, USERS):
        t = minted[i]
        user = f"user{i:05d}@bulk.example:{81000000 + i % 3}"
        expiry = later if i < 2000 else "1600000000000"
        rows.append(
            (
                "imported",
                row(user, t["refresh_token"], t["access_token"], t["code"], expiry, DCS[i % 3]),
            )
        )
    for i in range(2000):
        rows.append(("failed", row(f"gone{i}@x.example:81000000", fake, fake, "", "1", "us")))
    for i in range(1000):
        rows.append(("skipped", row(f"grant{i}@x.example", "", "", fake, "", "eu")))
        rows.append(("skipped", row(f"access{i}@x.example", "", fake, "", later, "eu")))
        nowhere = "https://www.zohoapis.example"
        rows.append(("skipped", row(f"where{i}@x.example:1", fake, fake, "", later, nowhere)))
        rows.append(("skipped", [f"short{i}@x.example", client.client_id]))
        other = row(f"other{i}@x.example", fake, fake, "", "1", "in")
        other[1] = "1000.SOMEOTHERCLIENT"  # another client's expired row: needs its secret
        rows.append(("skipped", other))
    random.Random(7).shuffle(rows)
    assert len(rows) == 10_000
    write_rows(workdir / "bulk.csv", [header, *[[str(n), *r] for n, (_, r) in enumerate(rows, 1)]])
    return BulkFile(client, workdir / "bulk.csv", Counter(outcome for outcome, _ in rows))


def run_cli(env: Env, *args: str, tty: bool = False) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    child_env.update(env.vars, COLUMNS="120")
    if tty:  # let Rich draw its progress bar as on a terminal
        child_env.update(TTY_COMPATIBLE="1", TTY_INTERACTIVE="1")
    return subprocess.run(
        [*CLI, *args], env=child_env, capture_output=True, text=True, timeout=600, check=False
    )


def test_ten_thousand_rows(
    bulk_file: BulkFile, bulk_emulator: str, store_url: str, keys: str, tmp_path: Path
) -> None:
    env = make_env(bulk_emulator, store_url, keys, tmp_path)
    env.vars["ZOHOAUTH_CLIENT_ID"] = bulk_file.client.client_id
    env.vars["ZOHOAUTH_CLIENT_SECRET"] = bulk_file.client.client_secret
    report = tmp_path / "report.csv"
    refreshes_before = refresh_requests(bulk_emulator)

    started = time.monotonic()
    first = run_cli(
        env, "tokens", "import-sdk", "--csv", str(bulk_file.path), "--report", str(report), tty=True
    )
    took = time.monotonic() - started
    assert first.returncode == 3, first.stderr[-2000:]
    assert "importing" in first.stderr and "10000/10000" in first.stderr  # the progress bar
    reported = read_rows(report)[1:]
    assert sorted(int(r[0]) for r in reported) == list(range(2, 10_002))  # every row, once
    got = Counter(r[2] for r in reported)
    assert got == bulk_file.expected, got

    def rows_saying(words: str) -> int:
        return sum(1 for r in reported if r[2] != "imported" and words in r[3])

    assert rows_saying("grant token only; log in instead") == 1000
    assert rows_saying("no refresh token; log in instead") == 1000
    assert rows_saying("has 3 columns, not 10") == 1000
    assert rows_saying("needs the client secret") == 1000
    assert rows_saying("not an API host") == 1000
    assert rows_saying("rejected the refresh token") == 2000
    refreshed = sum(1 for r in reported if "refreshed once" in r[3])
    assert refreshed == 1000
    after = refresh_requests(bulk_emulator)
    assert after - refreshes_before == 1000 + 2000  # one per expired row, never more
    problems = [line for line in first.stdout.splitlines() if line.startswith("line ")]
    assert len(problems) == 10_000 - got["imported"]  # each one printed with its reason

    started = time.monotonic()
    second = run_cli(env, "tokens", "import-sdk", "--csv", str(bulk_file.path))
    took_again = time.monotonic() - started
    assert second.returncode == 3
    assert f"{got['imported']} unchanged" in second.stderr
    listed = run_cli(env, "tokens", "list", "--json")
    assert len(json.loads(listed.stdout)) == got["imported"]
    print(
        f"\n10,000 rows on {store_url.split(':')[0]}: import {took:.1f} s, rerun {took_again:.1f} s"
    )
