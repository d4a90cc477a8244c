"""Helpers the workloads share: the emulator's admin API, a bigger seed, clients, logins without
a browser, and the official SDK's child processes.

Nothing here imports from `tests/` (the bench must run from a plain checkout); the consent
driver is the same few lines the tests use.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from zohoauth.auth import ZohoAuth
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.emulator import testing
from zohoauth.emulator import tls as emulator_tls
from zohoauth.emulator.seed import DEFAULT_SEED
from zohoauth.manager import ManagerConfig
from zohoauth.oauth import OAuthClient
from zohoauth.sdk._formats import CSV_COLUMNS, DB_TABLE_DDL
from zohoauth.store.sql import SQLTokenStore

SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
)
HOUR = 3600.0
#: The SDK's FileStore columns, in its order (docs/zoho-reference.md §10); the importer's own list.
SDK_CSV_HEADER = list(CSV_COLUMNS)
#: `CREATE TABLE` exactly as the SDK's README has it (note `redirect_url`).
SDK_TABLE_DDL = DB_TABLE_DDL.format(table="oauthtoken")


# -- the emulator ------------------------------------------------------------------------------


def seed_with_users(extra_users: int, sign_in: str | None = None) -> dict[str, Any]:
    """The built-in seed plus `extra_users` users, spread over its orgs (one per DC); with
    `sign_in`, only over the DCs whose users sign in through that DC's accounts server (China
    is a Zoho of its own: the Multi-DC consent page does not know its users)."""
    from zohoauth.emulator import dcs as emulator_dcs

    seed = copy.deepcopy(DEFAULT_SEED)
    by_dc: dict[str, str] = {}
    for org in seed["orgs"]:
        if sign_in is None or emulator_dcs.same_sign_in(sign_in, org["dc"]):
            by_dc.setdefault(org["dc"], org["zgid"])
    dcs = sorted(by_dc)
    for i in range(extra_users):
        dc = dcs[i % len(dcs)]
        seed["users"].append(
            {
                "email": f"user{i}@bench-{dc}.example.com",
                "first_name": f"User{i}",
                "last_name": "Bench",
                "dc": dc,
                "orgs": [by_dc[dc]],
            }
        )
    return seed


def stats(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(url + "/_emulator/stats", timeout=10).json()
    return body


def refreshes(url: str) -> int:
    return int(stats(url)["token_requests"]["refresh_token"])


def advance_clock(url: str, seconds: float) -> None:
    httpx.post(
        url + "/_emulator/clock", json={"advance_seconds": seconds}, timeout=10
    ).raise_for_status()


def register_client(
    url: str, redirect_uri: str = "http://127.0.0.1:9/redirect.html"
) -> OAuthClient:
    """A fresh client at the emulator (all DCs), with its real secret."""
    client = OAuthClient(
        client_id=f"1000.{secrets.token_hex(12).upper()}",
        client_secret=secrets.token_hex(20),
        redirect_uri=redirect_uri,
        scopes=SCOPES,
    )
    testing.register_client(url, client.client_id, client.client_secret, [redirect_uri])
    return client


def self_client_grant(url: str, client: OAuthClient, email: str) -> dict[str, str]:
    """A Self Client code for `email` and the token URL / API base of the user's DC."""
    return testing.self_client_grant(url, client.client_id, email, ",".join(client.all_scopes))


def exchange(url: str, client: OAuthClient, email: str) -> dict[str, Any]:
    """Tokens for `email` straight from the token endpoint (a Self Client grant)."""
    g = self_client_grant(url, client, email)
    body: dict[str, Any] = httpx.post(
        g["token_url"],
        data={
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "code": g["code"],
        },
        timeout=10,
    ).json()
    return body


# -- logins ------------------------------------------------------------------------------------


def consent(auth_url: str, email: str) -> httpx.URL:
    """Answer the emulator's consent page as `email` (accept); the redirect URL it sends."""
    return testing.consent(auth_url, email)


def make_auth(
    url: str,
    store_url: str,
    keys: str,
    client: OAuthClient,
    *,
    clock: Callable[[], float] = time.time,
    config: ManagerConfig | None = None,
) -> ZohoAuth:
    store = SQLTokenStore(store_url, KeyRing.from_config(keys), auto_migrate=True)
    registry = DataCenterRegistry.load(f"{url}/_emulator/endpoints")
    return ZohoAuth(
        client=client, store=store, registry=registry, manager_config=config, clock=clock
    )


async def login(auth: ZohoAuth, email: str) -> str:
    """Login with Zoho through the consent page; the new connection's id."""
    pending = auth.start_login()
    redirect = consent(pending.url, email)
    conn = await auth.complete_login(pending, str(redirect))
    return conn.id


# -- the official SDK, in child processes ------------------------------------------------------


def sdk_available() -> str | None:
    """None if the official SDK can be imported, else why not."""
    probe = subprocess.run(
        [sys.executable, "-c", "import zohocrmsdk.src.com.zoho.crm.api.initializer"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode:
        return "the official SDK (zohocrmsdk8-0, a dev dependency) is not importable"
    return None


def run_child(
    script: str, job: dict[str, Any], *, timeout: float, cwd: Path, core: int | None = None
) -> dict[str, Any]:
    """Run `script` in a fresh interpreter with `job` as JSON on stdin; its last JSON line."""
    pre = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        preexec_fn=pre,  # only sets the CPU affinity
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"SDK child exited {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class LineChild:
    """A child interpreter running `script`, spoken to by lines: JSON job on its first stdin
    line, then `send()`; `line()` is its next JSON stdout line, waited for `timeout` s at most."""

    def __init__(
        self, script: str, job: dict[str, Any], *, cwd: Path, core: int | None = None
    ) -> None:
        import queue
        import tempfile
        import threading

        pre = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
        self._err = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            cwd=cwd,
            preexec_fn=pre,  # only sets the CPU affinity
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.send(json.dumps(job))

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw)
        self._lines.put(None)

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def line(self, timeout: float = 300) -> dict[str, Any]:
        import queue

        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"SDK child silent for {timeout} s: {self.errors()}") from None
            if raw is None:
                self.proc.wait(timeout=10)
                raise RuntimeError(f"SDK child exited {self.proc.returncode}: {self.errors()}")
            if raw.startswith("{"):
                parsed: dict[str, Any] = json.loads(raw)
                return parsed

    def errors(self) -> str:
        self._err.seek(0)
        return self._err.read()[-3000:]

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._err.close()

    def __enter__(self) -> LineChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Initializes the official SDK from a job's Self Client grant with a FileStore; `ops` reads.
SDK_PRELUDE = r"""
import json, os, sys, threading, time
job = json.loads(sys.stdin.readline())
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations, ResponseWrapper

Initializer.initialize(
    environment=DataCenter.Environment(job["api_base"], job["token_url"], job["api_base"]),
    token=OAuthToken(client_id=job["client_id"], client_secret=job["client_secret"],
                     grant_token=job["code"]),
    store=FileStore(job["csv"]),
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=job["workdir"],
)
ops = RecordOperations("Leads")

def read_lead():
    body = ops.get_record(int(job["lead_id"])).get_object()
    if not isinstance(body, ResponseWrapper):
        raise RuntimeError(f"SDK get_record answered {type(body).__name__}")
    record = body.get_data()[0]
    if str(record.get_id()) != job["lead_id"]:
        raise RuntimeError("SDK get_record returned another record")
    return record
"""


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that is its own CA (for an https emulator); (cert, key)."""
    return emulator_tls.self_signed_certificate(directory, name="zohoauth bench emulator")


@contextlib.contextmanager
def trusting(cert_file: str | None) -> Any:
    """While inside, zohoauth (ZOHOAUTH_CA_BUNDLE), httpx and aiohttp's default contexts
    (SSL_CERT_FILE) and requests (REQUESTS_CA_BUNDLE), here and in child processes, trust
    `cert_file`; nothing changes when it is None."""
    names = ("ZOHOAUTH_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    saved = {n: os.environ.get(n) for n in names}
    if cert_file:
        for n in names:
            os.environ[n] = cert_file
    try:
        yield
    finally:
        for n, value in saved.items():
            if value is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = value
