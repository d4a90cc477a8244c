"""What the chaos run and the soak run against: PostgreSQL, the emulator, `serve --workers 2`.

- PostgreSQL: a throwaway cluster of the run's own (`postgres.py`), so it can be restarted;
- the emulator in a child process with its token requests logged (`recorder.py`), seeded with
  the run's users (the built-in seed plus `bench-<dc>` users in every Multi-DC data center);
- `zohoauth serve --workers 2 --migrate --log-format json` wired to both through ZOHOAUTH_*
  variables, as `tests/web/test_workers.py` starts it. Its JSON log is read on a thread: the
  access lines are counted by status and every `unhandled error` is kept (a 500 is a bug).

Everything listens on 127.0.0.1; every child is stopped on exit, by its own process id.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from zohoauth.crypto import KeyRing
from zohoauth.emulator.seed import DEFAULT_SEED

from .._common import free_port
from . import fds, postgres
from .recorder import LOG_PATH

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


def seed(users: int) -> tuple[dict[str, Any], list[str]]:
    """The built-in seed plus `users` users spread over the Multi-DC data centers' orgs (China
    signs in elsewhere, so it is left out); returns the seed and the new users' emails."""
    data = copy.deepcopy(DEFAULT_SEED)
    by_dc: dict[str, str] = {}
    for org in data["orgs"]:
        if org["dc"] != "cn":
            by_dc.setdefault(org["dc"], org["zgid"])
    dcs = sorted(by_dc)
    emails = []
    for i in range(users):
        dc = dcs[i % len(dcs)]
        email = f"user{i}@bench-{dc}.example.com"
        data["users"].append(
            {
                "email": email,
                "first_name": f"User{i}",
                "last_name": "Chaos",
                "dc": dc,
                "orgs": [by_dc[dc]],
            }
        )
        emails.append(email)
    return data, emails


def _wait_http(url: str, proc: subprocess.Popen[Any], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {timeout:g} s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[Any], group: bool) -> None:
    if proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


class AppLog:
    """Reads `serve`'s JSON log lines: access lines counted by status, errors kept."""

    def __init__(self, stream: Any) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: list[dict[str, Any]] = []  # `unhandled error` and other error lines
        self.started = 0
        self.tail: collections.deque[str] = collections.deque(maxlen=200)
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self.tail.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            name = event.get("event")
            if name == "request":
                self.statuses[int(event.get("status") or 0)] += 1
            elif name == "Application startup complete.":
                self.started += 1
            elif event.get("level") in ("error", "critical") and len(self.errors) < 500:
                self.errors.append(
                    {k: event.get(k) for k in ("event", "kind", "path", "pid", "timestamp")}
                )


class Stack:
    """PostgreSQL + recording emulator + `zohoauth serve --workers N` (see the module doc)."""

    def __init__(self, users: int, workers: int = 2) -> None:
        self.seed, self.emails = seed(users)
        self.workers = workers
        self._tmp = tempfile.TemporaryDirectory(prefix="zohoauth-chaos-")
        self.workdir = Path(self._tmp.name)
        self.pg: postgres.Cluster | postgres.Fallback | None = None
        self._emu: subprocess.Popen[Any] | None = None
        self._app: subprocess.Popen[Any] | None = None
        self.emulator_url = ""
        self.url = ""
        self.client_id = ""
        self.log: AppLog | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.pg = postgres.throwaway_postgres()
            self._start_emulator()
            self._start_app()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._app is not None:
            _stop(self._app, group=True)
        if self._emu is not None:
            _stop(self._emu, group=False)
        if self.pg is not None:
            self.pg.close()
        self._tmp.cleanup()

    def _start_emulator(self) -> None:
        port = free_port()
        seed_file = self.workdir / "seed.json"
        seed_file.write_text(json.dumps(self.seed))
        self._emu = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos.recorder", HOST, str(port), str(seed_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.emulator_url = f"http://{HOST}:{port}"
        _wait_http(self.emulator_url + "/_emulator/health", self._emu, "the emulator")

    def _start_app(self) -> None:
        assert self.pg is not None
        port = free_port()
        self.url = f"http://{HOST}:{port}"
        redirect = f"{self.url}/redirect.html"
        self.client_id = f"1000.{secrets.token_hex(12).upper()}"
        secret = secrets.token_hex(20)
        httpx.post(
            self.emulator_url + "/_emulator/clients",
            json={
                "client_id": self.client_id,
                "client_secret": secret,
                "redirect_uris": [redirect],
            },
            timeout=10,
        ).raise_for_status()
        env = {
            **os.environ,
            "ZOHOAUTH_CLIENT_ID": self.client_id,
            "ZOHOAUTH_CLIENT_SECRET": secret,
            "ZOHOAUTH_REDIRECT_URI": redirect,
            "ZOHOAUTH_DATABASE_URL": self.pg.url,
            "ZOHOAUTH_ENCRYPTION_KEYS": KeyRing.generate_key(),
            "ZOHOAUTH_SESSION_SECRET": secrets.token_urlsafe(32),
            "ZOHOAUTH_ZOHO_ENDPOINTS": f"{self.emulator_url}/_emulator/endpoints",
            "ZOHOAUTH_DATA_DIR": str(self.workdir),
            # every simulated user logs in from 127.0.0.1: the per-address login limits would
            # refuse all but the first few (they are tested in tests/web/test_ratelimit.py)
            "ZOHOAUTH_LOGIN_RATE_LIMIT": "",
            "ZOHOAUTH_CALLBACK_RATE_LIMIT": "",
        }
        script = Path(sys.executable).with_name("zohoauth")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "zohoauth.cli"]
        self._app = subprocess.Popen(
            [
                *command,
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--migrate",
                "--log-format",
                "json",
            ],
            env=env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.log = AppLog(self._app.stderr)
        deadline = time.monotonic() + 120
        while self.log.started < self.workers:
            if self._app.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve did not start:\n" + "".join(list(self.log.tail)[-30:]))
            time.sleep(0.1)
        _wait_http(self.url + "/healthz", self._app, "serve")

    # -- the emulator's admin API ----------------------------------------------------------
    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        with httpx.Client(base_url=self.emulator_url, timeout=30) as http:
            resp = http.post(path, json=body or {}) if body is not None else http.get(path)
            resp.raise_for_status()
            return resp.json()

    def token_requests(self) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = self.admin(LOG_PATH)["requests"]
        return got

    # -- the store, as an operator (or a test) reads it --------------------------------------
    def sql(self, statement: str, *args: Any) -> str:
        assert self.pg is not None
        return asyncio.run(postgres.sql(self.pg.url, statement, *args))

    def rows(self, query: str, *args: Any) -> list[dict[str, Any]]:
        assert self.pg is not None
        return asyncio.run(postgres.fetch(self.pg.url, query, *args))

    def credentials(self) -> list[dict[str, Any]]:
        """Every credential row without its secret: key, status, version, lease, throttle."""
        return self.rows(
            "SELECT client_id, dc, zuid, email, status, version, lease_owner, lease_expires_at, "
            "throttled_until, expires_at FROM zohoauth_credentials ORDER BY email"
        )

    def connections(self) -> list[dict[str, Any]]:
        return self.rows("SELECT id, client_id, dc, zuid, org_id FROM zohoauth_connections")

    def db_connections(self) -> int:
        """Connections to the store's database other than this query's own."""
        assert self.pg is not None
        name = self.pg.url.rsplit("/", 1)[1]
        found = self.rows(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 "
            "AND pid <> pg_backend_pid()",
            name,
        )
        return int(found[0]["n"])

    # -- the server's processes --------------------------------------------------------------
    def server_pids(self) -> list[int]:
        """The supervisor and its worker processes."""
        assert self._app is not None
        pids = [self._app.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self._app.pid}/task/{self._app.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        return pids

    def ports(self) -> fds.Ports:
        """The ports that tell the server's sockets apart: its own, the emulator's, the store's."""
        assert self.pg is not None
        return fds.Ports(
            app=int(self.url.rsplit(":", 1)[1]),
            emulator=int(self.emulator_url.rsplit(":", 1)[1]),
            postgres=make_url(self.pg.url).port or 5432,
        )

    def app_alive(self) -> bool:
        return self._app is not None and self._app.poll() is None
