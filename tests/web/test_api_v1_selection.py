"""A service key limited by selectors, end to end: keys made with `zohoauth keys service create
--connections dc:eu` / `--connections org:...`, used against a real `zohoauth serve` subprocess
and the emulator, with users in two DCs and orgs. The key sees and uses only its connections;
every other call answers 403 `forbidden` and is audited as refused (`zohoauth audit`)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from zohoauth.crypto import KeyRing
from zohoauth.emulator import BackgroundEmulator
from zohoauth.store.migrate import upgrade_async

from ..support.aio import arun
from ..support.web import Browser, free_port, zohoauth_command
from ..support.zoho import register_client


@dataclass
class Served:
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*zohoauth_command(), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def key(self, *args: str) -> str:
        """`keys service create ...` -> the key (the last line it printed)."""
        return self.cli("keys", "service", "create", *args).strip().splitlines()[-1]


@pytest.fixture
def served(emulator: BackgroundEmulator, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    arun(lambda: upgrade_async(db))
    client = register_client(emulator.url, f"{url}/redirect.html")
    env = {
        **os.environ,
        "ZOHOAUTH_CLIENT_ID": client.client_id,
        "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
        "ZOHOAUTH_REDIRECT_URI": client.redirect_uri,
        "ZOHOAUTH_DATABASE_URL": db,
        "ZOHOAUTH_ENCRYPTION_KEYS": KeyRing.generate_key(),
        "ZOHOAUTH_SESSION_SECRET": secrets.token_urlsafe(32),
        "ZOHOAUTH_ZOHO_ENDPOINTS": f"{emulator.url}/_emulator/endpoints",
        "ZOHOAUTH_DATA_DIR": str(tmp_path),
    }
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*zohoauth_command(), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
            yield Served(url, env)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _login(served: Served, email: str) -> str:
    b = Browser(served.url)
    try:
        cid: str = b.login(email)["me"]["id"]
    finally:
        b.close()
    return cid


def _forbidden(resp: httpx.Response) -> None:
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"] == "forbidden"


def test_a_selector_key_sees_and_uses_only_its_connections(served: Served) -> None:
    ava = _login(served, "ava@zylker.com")  # us
    clara = _login(served, "clara@brightwave.eu")  # eu, org 80000003
    eu_key = served.key("--name", "eu-sync", "--scope", "admin", "--connections", "dc:eu")
    org_key = served.key("--name", "bw-org", "--scope", "proxy", "--connections", "org:80000003")
    listed = json.loads(served.cli("keys", "service", "list", "--json"))
    assert {(k["name"], tuple(k["connections"])) for k in listed} == {
        ("eu-sync", ("dc:eu",)),
        ("bw-org", ("org:80000003",)),
    }
    with httpx.Client(base_url=served.url, timeout=30) as http:
        for key in (eu_key, org_key):
            auth = {"Authorization": f"Bearer {key}"}
            page = http.get("/api/v1/connections", headers=auth).json()
            assert [c["id"] for c in page["data"]] == [clara]
            assert page["data"][0]["dc"] == "eu"
            assert http.get(f"/api/v1/connections/{clara}", headers=auth).status_code == 200
            _forbidden(http.get(f"/api/v1/connections/{ava}", headers=auth))
            _forbidden(http.get(f"/api/v1/proxy/{ava}/crm/v8/Leads", headers=auth))
        eu = {"Authorization": f"Bearer {eu_key}"}
        tok = http.get(f"/api/v1/connections/{clara}/token", headers=eu)
        assert tok.status_code == 200 and tok.json()["dc"] == "eu"
        _forbidden(http.get(f"/api/v1/connections/{ava}/token", headers=eu))
        _forbidden(http.post(f"/api/v1/connections/{ava}/refresh", headers=eu))
        _forbidden(http.delete(f"/api/v1/connections/{ava}", headers=eu))
        _forbidden(http.get("/api/v1/connections/conn_nosuchthing/token", headers=eu))
        proxied = http.get(
            f"/api/v1/proxy/{clara}/crm/v8/Leads",
            params={"fields": "Last_Name"},
            headers={"Authorization": f"Bearer {org_key}"},
        )
        assert proxied.status_code == 200, proxied.text
        # ava is still there: the refused delete did nothing
        admin = served.key("--name", "ops", "--scope", "read")
        everyone = http.get("/api/v1/connections", headers={"Authorization": f"Bearer {admin}"})
        assert {c["id"] for c in everyone.json()["data"]} == {ava, clara}

    deadline = time.monotonic() + 15
    while True:  # the audit rows are written by the server's background task (about 1 s)
        rows = json.loads(served.cli("audit", "--key", "eu-sync", "--json"))
        refused = {(r["connection_id"], r["action"]) for r in rows if r["outcome"] == "forbidden"}
        if len(refused) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert refused == {
        (ava, "read"),
        (ava, "proxy"),
        (ava, "token"),
        (ava, "refresh"),
        (ava, "delete"),
        ("conn_nosuchthing", "token"),
    }
    assert (clara, "token", "ok") in {(r["connection_id"], r["action"], r["outcome"]) for r in rows}
