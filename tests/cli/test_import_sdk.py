"""`zohoauth tokens import-sdk` on files and tables the official SDK itself wrote.

The module runs the official SDK (a subprocess) against an emulator of its own, once: it logs
ava (us), clara (eu) and dev (in) in with Self Client codes and writes its FileStore CSV. Every
test imports that file (or a copy changed the way the test says) into a fresh store on each
engine. The older 9-column file is that CSV with the api_domain column dropped, which is what
SDK versions before api_domain wrote.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from zohoauth.emulator import BackgroundEmulator
from zohoauth.oauth import OAuthClient

from ..support.aio import arun
from ..support.cli import Env, listed, make_env, stored_tokens, unreachable_db
from ..support.databases import table_dump
from ..support.sdk import MYSQL_TABLE_DDL, MySQLTarget, read_rows, run_sdk, write_rows
from ..support.zoho import emulator_stats, make_auth, register_client

pytest.importorskip("zohocrmsdk", reason="the official SDK (dev dependency zohocrmsdk8-0)")

EMAILS = ["ava@zylker.com", "clara@brightwave.eu", "dev@sunrise.in"]
REFRESH, ACCESS, GRANT, EXPIRY, API_DOMAIN = 4, 5, 6, 7, 9  # CSV columns


@dataclass(frozen=True)
class SDKFile:
    emulator: BackgroundEmulator
    client: OAuthClient
    path: Path

    @property
    def rows(self) -> list[list[str]]:
        return read_rows(self.path)


@pytest.fixture(scope="module")
def sdk_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SDKFile]:
    workdir = tmp_path_factory.mktemp("sdk")
    with BackgroundEmulator(config={"grant_limits": False}) as emu:
        client = register_client(emu.url)
        run_sdk(emu.url, client, EMAILS, workdir, csv_path=workdir / "sdk_tokens.txt")
        yield SDKFile(emu, client, workdir / "sdk_tokens.txt")


@pytest.fixture
def target(sdk_file: SDKFile, store_url: str, keys: str, tmp_path: Path) -> Env:
    """An installation of the same client the SDK used, with an empty store."""
    env = make_env(sdk_file.emulator.url, store_url, keys, tmp_path)
    env.client = sdk_file.client
    env.vars["ZOHOAUTH_CLIENT_ID"] = sdk_file.client.client_id
    env.vars["ZOHOAUTH_CLIENT_SECRET"] = sdk_file.client.client_secret
    return env


def imported(env: Env, path: Path, *args: str, **overrides: str | None) -> Any:
    return env.cli("tokens", "import-sdk", "--csv", str(path), *args, **overrides)


# -- the happy path ------------------------------------------------------------------------


def test_imports_the_csv_the_sdk_wrote_and_a_rerun_changes_nothing(
    sdk_file: SDKFile, target: Env
) -> None:
    before = emulator_stats(sdk_file.emulator.url)
    result = imported(target, sdk_file.path)
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.stderr
    assert "0 refresh request(s)" in result.stderr

    rows = listed(target)
    assert [(r["email"], r["dc"], r["org_id"]) for r in rows] == [
        ("ava@zylker.com", "us", "80000001"),
        ("clara@brightwave.eu", "eu", "80000003"),
        ("dev@sunrise.in", "in", "80000004"),
    ]
    assert {r["org_name"] for r in rows} == {"Zylker Inc.", "Brightwave GmbH", "Sunrise Traders"}
    assert all(r["status"] == "active" and r["zuid"] for r in rows)
    # The tokens moved as they were (still valid, so no refresh), encrypted at rest.
    sdk = {r[1].split(":")[0]: (r[REFRESH], r[ACCESS]) for r in sdk_file.rows[1:]}
    assert stored_tokens(target) == sdk
    dump = arun(lambda: table_dump(target.url))
    for refresh, access in sdk.values():
        assert refresh not in dump and access not in dump
    assert sdk_file.client.client_secret not in dump
    after = emulator_stats(sdk_file.emulator.url)
    assert after["token_requests"] == before["token_requests"]  # identified, not refreshed

    again = imported(target, sdk_file.path)
    assert again.exit_code == 0, again.output
    assert "3 unchanged" in again.stderr
    assert (
        emulator_stats(sdk_file.emulator.url)["api_requests"] == after["api_requests"]
    )  # no Zoho call
    assert [r["connection_id"] for r in listed(target)] == [r["connection_id"] for r in rows]


def test_imported_tokens_work_with_the_library(sdk_file: SDKFile, target: Env) -> None:
    assert imported(target, sdk_file.path).exit_code == 0
    conn_id = next(r["connection_id"] for r in listed(target) if r["dc"] == "eu")

    async def org() -> dict[str, Any]:
        auth = make_auth(sdk_file.emulator.url, target.url, target.keys, sdk_file.client)
        async with auth:
            got: dict[str, Any] = await auth.crm(conn_id).org()
            return got

    assert arun(org)["company_name"] == "Brightwave GmbH"


def test_expired_rows_are_refreshed_once_each(
    sdk_file: SDKFile, target: Env, tmp_path: Path
) -> None:
    rows = sdk_file.rows
    for row in rows[1:]:
        row[EXPIRY] = "1600000000000"  # 2020: the SDK would refresh these before any call
    write_rows(tmp_path / "expired.csv", rows)
    before = emulator_stats(sdk_file.emulator.url)["token_requests"]["refresh_token"]
    result = imported(target, tmp_path / "expired.csv")
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.stderr and "3 refresh request(s)" in result.stderr
    assert emulator_stats(sdk_file.emulator.url)["token_requests"]["refresh_token"] == before + 3
    stored = stored_tokens(target)
    for row in rows[1:]:
        refresh, access = stored[row[1].split(":")[0]]
        assert refresh == row[REFRESH] and access != row[ACCESS]
    assert all(r["expires_at"] > "2026" for r in listed(target))


def test_other_clients_rows_are_refreshed_only_when_asked(
    sdk_file: SDKFile, target: Env, tmp_path: Path
) -> None:
    rows = sdk_file.rows
    for row in rows[1:]:
        row[EXPIRY] = "1600000000000"
    write_rows(tmp_path / "expired.csv", rows)
    other = {"client_id": "1000.ANOTHERCLIENT", "client_secret": "another-secret"}
    before = emulator_stats(sdk_file.emulator.url)["token_requests"]["refresh_token"]

    refused = imported(target, tmp_path / "expired.csv", **other)
    assert refused.exit_code == 3
    assert refused.stdout.count("needs the client secret") == 3
    assert listed(target) == []
    assert emulator_stats(sdk_file.emulator.url)["token_requests"]["refresh_token"] == before

    allowed = imported(target, tmp_path / "expired.csv", "--use-row-secrets", **other)
    assert allowed.exit_code == 0, allowed.output
    assert {r["client_id"] for r in listed(target)} == {sdk_file.client.client_id}
    assert sdk_file.client.client_secret not in arun(lambda: table_dump(target.url))


def test_old_nine_column_file_needs_the_dc(sdk_file: SDKFile, target: Env, tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    write_rows(old, [row[:API_DOMAIN] for row in sdk_file.rows])  # what older SDKs wrote
    assert read_rows(old)[0][-1] == "redirect_uri"

    result = imported(target, old)
    assert result.exit_code == 3
    assert result.stdout.count("pass --dc") == 3
    assert listed(target) == []

    result = imported(target, old, "--dc", "us")
    assert result.exit_code == 3
    assert "1 imported" in result.stderr and "2 failed" in result.stderr
    assert "not from data center us" in result.stdout
    assert [(r["email"], r["dc"]) for r in listed(target)] == [("ava@zylker.com", "us")]


# -- rows it cannot use ----------------------------------------------------------------------


def test_rows_it_cannot_use_are_reported_one_by_one(
    sdk_file: SDKFile, target: Env, tmp_path: Path
) -> None:
    rows = sdk_file.rows
    good = rows[1]
    fake = "1000." + "ab" * 16 + "." + "cd" * 16
    bad = {
        "grant token only; log in instead": [
            "10",
            "x@example.com",
            good[2],
            good[3],
            "",
            "",
            fake,
            "",
            "",
            good[9],
        ],
        "no refresh token; log in instead": [
            "11",
            "y@example.com",
            good[2],
            good[3],
            "",
            fake,
            "",
            "1",
            "",
            good[9],
        ],
        "not an API host": [
            "12",
            "z@example.com:1",
            good[2],
            good[3],
            fake,
            "",
            "",
            "",
            "",
            "https://www.zohoapis.example",
        ],
        "has 4 columns": ["13", "short@example.com", "a", "b"],
        "Zoho rejected the refresh token": [
            "14",
            "gone@example.com:80000001",
            good[2],
            good[3],
            fake,
            fake,
            "",
            "1",
            "",
            good[9],
        ],
    }
    write_rows(tmp_path / "mixed.csv", [*rows, *bad.values()])
    report = tmp_path / "report.csv"
    result = imported(target, tmp_path / "mixed.csv", "--report", str(report))
    assert result.exit_code == 3, result.output
    assert "3 imported" in result.stderr and "4 skipped" in result.stderr
    assert "1 failed" in result.stderr
    for line, reason in enumerate(bad, start=5):
        assert f"line {line}:" in result.stdout and reason in result.stdout
    reported = read_rows(report)
    assert reported[0] == ["line", "user", "outcome", "detail", "dc", "connection_id"]
    assert [r[0] for r in reported[1:]] == [str(n) for n in range(2, 10)]
    assert fake not in result.output and fake not in report.read_text()
    assert len(listed(target)) == 3

    as_json = imported(target, tmp_path / "mixed.csv", "--json")
    outcomes = [r["outcome"] for r in json.loads(as_json.stdout)]
    assert outcomes == ["unchanged"] * 3 + ["skipped"] * 4 + ["failed"]


# -- bad input: a clear message, a non-zero exit, nothing changed ------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b'{"tokens": []}\n', "not the official SDK's header"),
        (b"id,user_name,email\n1,a,b\n", "not the official SDK's header"),
        (b"\xff\xfe\x00\x01binary", "not a UTF-8 text file"),
    ],
)
def test_files_that_are_not_sdk_stores_are_refused(
    target: Env, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "input.csv"
    if content is not None:
        path.write_bytes(content)
    result = imported(target, path)
    assert result.exit_code == 1
    assert message in result.stderr
    assert listed(target) == []


def test_csv_and_mysql_are_exclusive(target: Env, tmp_path: Path) -> None:
    assert target.cli("tokens", "import-sdk").exit_code == 2
    both = target.cli(
        "tokens", "import-sdk", "--csv", str(tmp_path / "x"), "--mysql", "mysql://h/db"
    )
    assert both.exit_code == 2
    assert "exactly one" in both.stderr


def test_wrong_key_changes_nothing(sdk_file: SDKFile, target: Env, keys: str) -> None:
    assert imported(target, sdk_file.path).exit_code == 0
    before = stored_tokens(target)
    from zohoauth.crypto import KeyRing

    result = imported(target, sdk_file.path, encryption_keys=KeyRing.generate_key())
    assert result.exit_code == 1
    assert "not in ZOHOAUTH_ENCRYPTION_KEYS" in result.stderr
    assert stored_tokens(target) == before


def test_unreachable_database_is_explained(sdk_file: SDKFile, target: Env) -> None:
    result = imported(target, sdk_file.path, database_url=unreachable_db(target.url))
    assert result.exit_code == 1
    assert "error:" in result.stderr and "hunter2" not in result.output


def test_unmigrated_database_says_what_to_run(
    sdk_file: SDKFile, target: Env, tmp_path: Path
) -> None:
    result = imported(target, sdk_file.path, database_url=f"sqlite:///{tmp_path / 'new.db'}")
    assert result.exit_code == 1
    assert "zohoauth db upgrade" in result.stderr


# -- the DBStore (MySQL) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_table(sdk_file: SDKFile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scratch MySQL database whose `oauthtoken` table the SDK's DBStore filled."""
    server = os.environ.get("ZOHOAUTH_TEST_MYSQL_URL")
    if not server:
        pytest.skip("ZOHOAUTH_TEST_MYSQL_URL is not set; point it at MariaDB/MySQL (.ci/run does)")
    import mysql.connector

    url = make_url(server)
    name = f"zohoauth_sdk_{secrets.token_hex(5)}"
    params = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 3306,
        "user": url.username or "root",
        "password": url.password or "",
    }
    admin = mysql.connector.connect(**params)
    try:
        cur = admin.cursor()
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(MYSQL_TABLE_DDL.format(table=f"{name}.oauthtoken"))
        target = MySQLTarget(database=name, **params)  # type: ignore[arg-type]
        run_sdk(
            sdk_file.emulator.url,
            sdk_file.client,
            EMAILS,
            tmp_path_factory.mktemp("sdkdb"),
            mysql=target,
        )
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.mark.mysql
def test_imports_the_table_the_sdk_dbstore_wrote(sdk_table: str, target: Env) -> None:
    result = target.cli("tokens", "import-sdk", "--mysql", sdk_table)
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.stderr
    assert [(r["email"], r["dc"]) for r in listed(target)] == [
        ("ava@zylker.com", "us"),
        ("clara@brightwave.eu", "eu"),
        ("dev@sunrise.in", "in"),
    ]
    again = target.cli("tokens", "import-sdk", "--mysql", sdk_table, "--table", "oauthtoken")
    assert again.exit_code == 0 and "3 unchanged" in again.stderr


@pytest.mark.mysql
def test_mysql_input_problems_are_explained(sdk_table: str, target: Env) -> None:
    missing = target.cli("tokens", "import-sdk", "--mysql", sdk_table, "--table", "tokens")
    assert missing.exit_code == 1 and "no table 'tokens'" in missing.stderr
    bad = target.cli("tokens", "import-sdk", "--mysql", sdk_table, "--table", "x;drop")
    assert bad.exit_code == 1 and "invalid" in bad.stderr
    down = target.cli("tokens", "import-sdk", "--mysql", "mysql://root:hunter2@127.0.0.1:9/db")
    assert down.exit_code == 1
    assert "error:" in down.stderr and "hunter2" not in down.output
    assert listed(target) == []
