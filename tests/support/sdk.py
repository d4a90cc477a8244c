"""Run Zoho's official Python SDK (zohocrmsdk8-0) against the emulator, to get the token files
and tables it writes: the real input of `zohoauth tokens import-sdk`.

The SDK runs in a subprocess (its `Initializer` is process-global). For each user it is given a
Self Client grant code and its DC's endpoints; `Initializer.initialize` / `switch_user`
exchange the code, identify the user (`users?type=CurrentUser`, `org`) and save the token
through the chosen store: `FileStore` (CSV) or `DBStore` (MySQL, via mysql-connector-python).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zohoauth.emulator import testing
from zohoauth.oauth import OAuthClient
from zohoauth.sdk._formats import DB_TABLE_DDL

SCRIPT = r"""
import json, os, sys
job = json.load(sys.stdin)
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore, DBStore
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

if job["store"] == "file":
    store = FileStore(job["path"])
else:
    db = job["db"]
    store = DBStore(host=db["host"], database_name=db["database"], user_name=db["user"],
                    password=db["password"], port_number=db["port"], table_name=db["table"])
config = SDKConfig(auto_refresh_fields=False, pick_list_validation=False)
for n, user in enumerate(job["users"]):
    env = DataCenter.Environment(user["api_base"], user["token_url"], user["api_base"])
    token = OAuthToken(client_id=job["client_id"], client_secret=job["client_secret"],
                       grant_token=user["code"])
    if n == 0:
        Initializer.initialize(environment=env, token=token, store=store, sdk_config=config,
                               resource_path=job["workdir"])
    else:
        Initializer.switch_user(environment=env, token=token, sdk_config=config)
print(json.dumps({"tokens": len(store.get_tokens())}), flush=True)
"""

MYSQL_TABLE_DDL = DB_TABLE_DDL  # as the SDK's README creates it


@dataclass(frozen=True)
class MySQLTarget:
    host: str
    port: int
    user: str
    password: str
    database: str
    table: str = "oauthtoken"


def grant_for(emulator_url: str, client: OAuthClient, email: str) -> dict[str, str]:
    """A Self Client code for `email`, and the endpoints of that user's DC (for the SDK)."""
    return testing.self_client_grant(
        emulator_url, client.client_id, email, ",".join(client.all_scopes)
    )


def run_sdk(
    emulator_url: str,
    client: OAuthClient,
    emails: list[str],
    workdir: Path,
    *,
    csv_path: Path | None = None,
    mysql: MySQLTarget | None = None,
) -> dict[str, Any]:
    """Let the official SDK log `emails` in and store their tokens in `csv_path` or `mysql`."""
    job: dict[str, Any] = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "users": [grant_for(emulator_url, client, e) for e in emails],
        "workdir": str(workdir),
    }
    if csv_path is not None:
        job.update(store="file", path=str(csv_path))
    else:
        assert mysql is not None
        job.update(
            store="db",
            db={
                "host": mysql.host,
                "port": str(mysql.port),
                "user": mysql.user,
                "password": mysql.password,
                "database": mysql.database,
                "table": mysql.table,
            },
        )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """Write rows exactly as the SDK's FileStore does (csv.writer, QUOTE_MINIMAL)."""
    with path.open("w", newline="") as f:
        csv.writer(f, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL).writerows(rows)
