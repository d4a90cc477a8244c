"""A PostgreSQL server the chaos run may restart: a throwaway cluster of its own.

Other people's tests share the machine's PostgreSQL, so the chaos run never restarts it. It
starts its own cluster instead (`initdb` into a temporary directory, `postgres` on a free
loopback port, trust authentication for 127.0.0.1 only, durability switched off: nothing in it
outlives the run) and restarts *that* one with `pg_ctl stop -m fast` / `pg_ctl start`: every
connection the app holds is cut, and new ones are refused until the server is back, as in a
real restart.

`initdb` and `postgres` refuse to run as root; as root, the cluster runs as the `postgres`
system user (or `nobody`), which owns the temporary directory.

If no PostgreSQL binaries are found, or the cluster cannot start, `Fallback` is used: a scratch
database on the server named by ZOHOAUTH_TEST_POSTGRES_URL, and the "restart" refuses new
connections to that database (`ALLOW_CONNECTIONS false`) and ends all of its backends
(`pg_terminate_backend`) for the same downtime. `mode` says which one ran; the report names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from .._common import free_port

HOST = "127.0.0.1"
DATABASE = "chaos"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _run_as() -> tuple[Callable[[], None] | None, int | None]:
    """(preexec_fn, uid) to drop root for PostgreSQL's binaries; (None, None) if not root."""
    if os.geteuid() != 0:
        return None, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)

            def drop(uid: int = user.pw_uid, gid: int = user.pw_gid) -> None:
                os.setgid(gid)
                os.setuid(uid)

            return drop, user.pw_uid
    raise RuntimeError("running as root, and no postgres or nobody user to run PostgreSQL as")


async def _connect(url: str) -> Any:
    """One asyncpg connection to `url` (10 s connect timeout)."""
    u = make_url(url)
    return await asyncpg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database,
        timeout=10,
    )


async def sql(url: str, statement: str, *args: Any) -> str:
    """Run one statement on `url` (asyncpg); returns its status line."""
    conn = await _connect(url)
    try:
        return str(await conn.execute(statement, *args))
    finally:
        await conn.close()


async def fetch(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    conn = await _connect(url)
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


class Cluster:
    """Our own PostgreSQL cluster in a temporary directory (see the module docstring)."""

    mode = "own cluster (pg_ctl stop -m fast, then start)"

    def __init__(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("initdb/pg_ctl not found")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self._preexec, uid = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="zohoauth-chaos-pg-"))
        if uid is not None:
            os.chown(self.dir, uid, -1)
        self.data = self.dir / "data"
        self.port = free_port()
        self.server_url = f"postgresql://postgres@{HOST}:{self.port}/postgres"
        self.url = f"postgresql://postgres@{HOST}:{self.port}/{DATABASE}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            list(args),
            preexec_fn=self._preexec,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.dir,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed: {(done.stderr or done.stdout)[-800:]}"
            )

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                self._initdb,
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
            "-c max_connections=200"
        )
        self._run(
            self._pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def open(self) -> Cluster:
        self.start()
        asyncio.run(sql(self.server_url, f"CREATE DATABASE {DATABASE}"))
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(self._pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, down_seconds: float, while_down: Callable[[], None] | None = None) -> None:
        """Stop (every connection cut), stay down `down_seconds`, start again."""
        self.stop()
        until = time.monotonic() + down_seconds
        if while_down is not None:
            while_down()
        time.sleep(max(0.0, until - time.monotonic()))
        self.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Fallback:
    """A scratch database on the shared server; a "restart" only cuts this database off."""

    mode = "simulated: ALLOW_CONNECTIONS false + pg_terminate_backend on a scratch database"

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"zohoauth_chaos_{secrets.token_hex(5)}"
        self.url = make_url(server_url).set(database=self.name).render_as_string(False)

    def open(self) -> Fallback:
        asyncio.run(sql(self.server_url, f"CREATE DATABASE {self.name}"))
        return self

    def restart(self, down_seconds: float, while_down: Callable[[], None] | None = None) -> None:
        asyncio.run(sql(self.server_url, f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS false"))
        asyncio.run(
            sql(
                self.server_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
        )
        until = time.monotonic() + down_seconds
        if while_down is not None:
            while_down()
        time.sleep(max(0.0, until - time.monotonic()))
        asyncio.run(sql(self.server_url, f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS true"))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(sql(self.server_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))


def throwaway_postgres() -> Cluster | Fallback:
    """Our own cluster if this machine can run one, else the fallback on the shared server."""
    cluster: Cluster | None = None
    try:
        cluster = Cluster()
        return cluster.open()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if cluster is not None:
            cluster.close()
        shared = os.environ.get("ZOHOAUTH_TEST_POSTGRES_URL")
        if not shared:
            raise RuntimeError(
                f"cannot start a PostgreSQL cluster ({exc}) and ZOHOAUTH_TEST_POSTGRES_URL is "
                "not set for the fallback"
            ) from exc
        return Fallback(shared).open()
