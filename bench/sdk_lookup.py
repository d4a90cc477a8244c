"""The official SDK's token lookup with N stored users: what it does before every CRM call.

Once a token has its id (after its first call), `OAuthToken.get_token()` calls
`store.find_token_by_id(id)` before every CRM request (checked by counting calls on a spied
store), and `find_token(token)` when a token is given by user, refresh or grant token
(`switch_user` with a fresh `OAuthToken`, or the first call of a process):

- `FileStore.find_token_by_id` opens the CSV, parses *all* of it (`list(csv.reader(f))`) and
  scans for the id; `find_token` parses row by row until the matching one (half the file on
  average). Both grow with N.
- `DBStore.find_token_by_id` opens a new MySQL connection (mysql-connector-python), runs
  `SELECT * ... WHERE id = %s` (the primary key) and closes it; `find_token` by user name runs
  `WHERE user_name=%s limit 1`, and that column has no index in the SDK's table: a table scan.

N rows are written in the SDK's exact formats (the FileStore CSV header and `csv.writer`
quoting; the DBStore table as its README creates it), every row distinct and deterministic
(`sdk_row`), so the child process can check each lookup returned the right row's token. The
SDK runs in a child process (it is imported nowhere else in the bench); sizes are measured
round by round, ids drawn at random over the whole store. A run's figure is its median lookup.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ._common import spread
from ._zoho import SDK_CSV_HEADER, SDK_TABLE_DDL, run_child

CLIENT_ID = "1000.SDKBENCHLOOKUPCLIENT0000000000000"
CLIENT_SECRET = "0123456789abcdef0123456789abcdef01234567"
FAR_FUTURE_MS = 4_102_444_800_000  # 2100-01-01: no lookup may turn into a refresh


def _hex(i: int, what: str) -> str:
    return hashlib.sha256(f"{what}:{i}".encode()).hexdigest()


def sdk_row(i: int) -> list[str]:
    """Row `i` (1-based) of the store, as the SDK writes one after a login."""
    return [
        str(i),
        f"user{i}@bench{i % 97}.example.com:{80_000_000 + i}",
        CLIENT_ID,
        CLIENT_SECRET,
        f"1000.{_hex(i, 'r')[:32]}.{_hex(i, 'r')[32:]}",
        f"1000.{_hex(i, 'a')[:32]}.{_hex(i, 'a')[32:]}",
        f"1000.{_hex(i, 'g')[:32]}.{_hex(i, 'g')[32:]}",
        str(FAR_FUTURE_MS),
        "",
        "https://www.zohoapis.com",
    ]


def write_csv(path: Path, n: int) -> None:
    """A FileStore file of `n` users, written as FileStore.save_token writes it."""
    with path.open("w", newline="") as f:
        w = csv.writer(f, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL)
        w.writerow(SDK_CSV_HEADER)
        w.writerows(sdk_row(i) for i in range(1, n + 1))


# -- MariaDB ------------------------------------------------------------------------------------


def mysql_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }


class SDKDatabase:
    """A scratch MariaDB database with one SDK `oauthtoken` table per size; dropped on exit."""

    def __init__(self, url: str, sizes: list[int]) -> None:
        self.params = mysql_params(url)
        self.sizes = sizes
        self.name = f"zohoauth_bench_sdk_{secrets.token_hex(5)}"

    def _connect(self, database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(**self.params, database=database, autocommit=True)

    def __enter__(self) -> SDKDatabase:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {self.name}")
        try:
            with self._connect(self.name) as conn, conn.cursor() as cur:
                for n in self.sizes:
                    cur.execute(SDK_TABLE_DDL.replace("oauthtoken", f"oauthtoken_{n}", 1))
                    insert = f"INSERT INTO oauthtoken_{n} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                    for start in range(1, n + 1, 5000):
                        cur.executemany(
                            insert, [sdk_row(i) for i in range(start, min(n, start + 4999) + 1)]
                        )
                    cur.execute(f"ANALYZE TABLE oauthtoken_{n}")
                    cur.fetchall()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name}")


# -- the child ---------------------------------------------------------------------------------

CHILD = r"""
import json, random, statistics, sys, time
job = json.load(sys.stdin)
from bench.sdk_lookup import sdk_row
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import DBStore, FileStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

stores = {}
for size in job["sizes"]:
    if job["kind"] == "file":
        stores[size] = FileStore(job["paths"][str(size)])
    else:
        db = job["db"]
        stores[size] = DBStore(host=db["host"], database_name=db["database"], user_name=db["user"],
                               password=db["password"], port_number=str(db["port"]),
                               table_name=f"oauthtoken_{size}")
rng = random.Random(20261128)

def by_id(store, i):
    return store.find_token_by_id(str(i)).get_access_token()

def by_user(store, i):
    token = OAuthToken(user_signature=UserSignature(sdk_row(i)[1]))
    return store.find_token(token).get_access_token()

def run(store, size, fn, count):
    out = []
    for _ in range(count):
        i = rng.randint(1, size)
        started = time.perf_counter_ns()
        got = fn(store, i)
        out.append((time.perf_counter_ns() - started) / 1000)
        if got != sdk_row(i)[5]:
            raise SystemExit(f"{job['kind']} store: lookup of row {i} returned the wrong token")
    return statistics.median(out)

samples = {str(s): {"by_id": [], "by_user": []} for s in job["sizes"]}
for size in job["sizes"]:  # warm: page cache, the server's buffer pool, imports
    run(stores[size], size, by_id, 2)
    run(stores[size], size, by_user, 2)
for n in range(job["runs"]):
    for size in job["sizes"]:
        count = job["lookups"][str(size)]
        samples[str(size)]["by_id"].append(run(stores[size], size, by_id, count))
        samples[str(size)]["by_user"].append(run(stores[size], size, by_user, count))
    print(f"  sdk {job['kind']} store: run {n + 1}/{job['runs']} done", file=sys.stderr, flush=True)
print(json.dumps(samples), flush=True)
"""


def lookups_per_run(size: int, quick: bool) -> int:
    """Fewer lookups where one takes long (the file store at 100k reads ~37 MB per lookup)."""
    if size <= 2_000:
        return 20 if quick else 50
    if size <= 20_000:
        return 6 if quick else 15
    return 2 if quick else 5


def measure(
    kind: str,
    sizes: list[int],
    runs: int,
    quick: bool,
    workdir: Path,
    *,
    mysql_url: str | None = None,
) -> dict[str, Any]:
    """`kind` = "file" or "db": per size, spread of by-id and by-user lookups in µs."""
    job: dict[str, Any] = {
        "kind": kind,
        "sizes": sizes,
        "runs": runs,
        "lookups": {str(s): lookups_per_run(s, quick) for s in sizes},
    }
    root = Path(__file__).resolve().parent.parent
    if kind == "file":
        paths = {}
        for n in sizes:
            path = workdir / f"sdk_tokens_{n}.csv"
            write_csv(path, n)
            paths[str(n)] = str(path)
        job["paths"] = paths
        samples = run_child(CHILD, job, timeout=1200, cwd=root)
        extra = {"file_mb": {str(n): os.path.getsize(paths[str(n)]) / 1e6 for n in sizes}}
    else:
        assert mysql_url is not None
        with SDKDatabase(mysql_url, sizes) as db:
            job["db"] = {**db.params, "database": db.name}
            samples = run_child(CHILD, job, timeout=1200, cwd=root)
        extra = {"database": "MariaDB (scratch database, dropped)"}
    return {
        "kind": kind,
        "lookups_per_run": job["lookups"],
        "runs": runs,
        "sizes": {
            size: {what: spread(values) for what, values in per.items()}
            for size, per in samples.items()
        },
        "runs_us": samples,
        **extra,
    }
