"""Zoho's official Python SDK (zohocrmsdk8-0) against the emulator, end to end.

The SDK is the client most Zoho users run, so the emulator must satisfy it: it exchanges the
grant code, calls `users?type=CurrentUser` and `org` to name the token, reads
`settings/fields` for every module it parses (following lookups), converts each record value by
the field's type, and reads insert and search responses. It runs in a subprocess because its
`Initializer` is process-global.

Then it must refresh like it would at Zoho an hour later. The child stops after its first calls
and waits for a line on stdin; meanwhile the test moves the emulator's virtual clock past the
access token's hour (so the token is really dead at "Zoho") and moves the SDK's own notion of
time the same way: the SDK decides expiry by comparing its wall clock with the `expiry_time`
(epoch ms) in its FileStore CSV, which it re-reads before every call, so the test rewrites that
column 3601 s earlier. On "go" the child makes one more call, which must refresh exactly once.
"""

from __future__ import annotations

import csv
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from zohoauth.emulator import BackgroundEmulator

from .conftest import ALL_SCOPES, CLIENT_ID, CLIENT_SECRET

pytest.importorskip("zohocrmsdk", reason="the official SDK (dev dependency zohocrmsdk8-0)")

SCRIPT = r"""
import json, os, sys
api_base, token_url, client_id, secret, code, workdir = sys.argv[1:7]
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.record import (
    APIException, ActionWrapper, BodyWrapper, GetRecordsParam, Record, RecordOperations,
    ResponseWrapper, SearchRecordsParam, SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap

Initializer.initialize(
    environment=DataCenter.Environment(api_base, token_url, api_base),
    token=OAuthToken(client_id=client_id, client_secret=secret, grant_token=code),
    store=FileStore(os.path.join(workdir, "tokens.csv")),
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=workdir,
)
FIELDS = ("Last_Name,Email,Owner,Created_Time,Account_Name,Annual_Revenue,No_of_Employees,"
          "Email_Opt_Out,Deal_Name,Stage,Amount,Closing_Date,Probability,Employees,Website")

def kinds(record):
    return {k: type(v).__name__ for k, v in record.get_key_values().items() if v is not None}

out = {}
for module in ("Leads", "Contacts", "Accounts", "Deals"):
    ops = RecordOperations(module)
    params = ParameterMap()
    params.add(GetRecordsParam.fields, FIELDS)
    params.add(GetRecordsParam.per_page, 5)
    listed = ops.get_records(params)
    body = listed.get_object()
    if not isinstance(body, ResponseWrapper):
        out[module] = {"error": body.get_code().get_value()}
        continue
    records = body.get_data()
    one = ops.get_record(records[0].get_id()).get_object()
    out[module] = {
        "status": listed.get_status_code(),
        "count": len(records),
        "more": body.get_info().get_more_records(),
        "kinds": kinds(records[0]),
        "get": type(one).__name__,
        "full_kinds": kinds(one.get_data()[0]),
    }

lead = Record()
lead.add_key_value("Last_Name", "From SDK")
lead.add_key_value("Email", "sdk@example.com")
lead.add_key_value("No_of_Employees", 12)
request = BodyWrapper()
request.set_data([lead])
created = RecordOperations("Leads").create_records(request)
item = created.get_object().get_data()[0]
out["create"] = {
    "status": created.get_status_code(),
    "type": type(item).__name__,
    "code": item.get_code().get_value(),
    "id": str(item.get_details()["id"]),
}
search = ParameterMap()
search.add(SearchRecordsParam.email, "sdk@example.com")
found = RecordOperations("Leads").search_records(search).get_object()
out["search"] = [str(r.get_id()) for r in found.get_data()]
with open(os.path.join(workdir, "tokens.csv")) as f:
    out["token_users"] = [line.split(",")[1] for line in f.read().splitlines()[1:]]
print(json.dumps(out), flush=True)

# Phase 2: the parent expires the token (emulator clock + the CSV's expiry_time), then says go.
if sys.stdin.readline().strip() != "go":
    sys.exit("parent did not say go")
params = ParameterMap()
params.add(GetRecordsParam.fields, "Last_Name,Email")
params.add(GetRecordsParam.per_page, 3)
after = RecordOperations("Leads").get_records(params)
body = after.get_object()
print(json.dumps({
    "status": after.get_status_code(),
    "type": type(body).__name__,
    "count": len(body.get_data()) if isinstance(body, ResponseWrapper) else None,
}), flush=True)
"""

# FileStore CSV columns (docs/zoho-reference.md §10): id,user_name,client_id,client_secret,
# refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain
ACCESS_TOKEN_COL, EXPIRY_COL = 5, 7
ADVANCE = 3601  # seconds: past the 1-hour access token


def read_tokens(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def move_sdk_clock(path: Path, seconds: int) -> None:
    """What the SDK would see if its clock moved on by `seconds`: every stored expiry_time
    (epoch ms) that much earlier. Written whole to a temp file, then renamed over the CSV."""
    rows = read_tokens(path)
    for row in rows[1:]:
        if row:
            row[EXPIRY_COL] = str(int(row[EXPIRY_COL]) - seconds * 1000)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    tmp.replace(path)


class Child:
    """The SDK subprocess, spoken to by lines: each `line()` waits at most `timeout` seconds."""

    def __init__(self, args: list[str], stderr: Path) -> None:
        self._err = stderr.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self.stderr = stderr
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw)
        self._lines.put(None)  # EOF

    def line(self, timeout: float = 120) -> dict[str, Any]:
        """The next JSON line the child prints (other output is skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"SDK child silent for {timeout} s: {self.errors()}") from None
            if raw is None:
                self.proc.wait(timeout=10)
                raise AssertionError(f"SDK child exited {self.proc.returncode}: {self.errors()}")
            if raw.startswith("{"):
                parsed: dict[str, Any] = json.loads(raw)
                return parsed

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def errors(self) -> str:
        self._err.flush()
        return self.stderr.read_text()[-3000:]

    def close(self) -> int:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return -9
        finally:
            self._err.close()


@pytest.fixture(scope="module")
def sdk_run(
    emulator_server: BackgroundEmulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One SDK run (a subprocess, ~3 s) in two phases; every test below checks a side of it."""
    workdir = tmp_path_factory.mktemp("sdk")
    tokens = workdir / "tokens.csv"
    with httpx.Client(base_url=emulator_server.url, timeout=10) as admin:
        admin.post("/_emulator/reset").raise_for_status()
        admin.post(
            "/_emulator/clients",
            json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": []},
        ).raise_for_status()
        grant = admin.post(
            "/_emulator/self-client/code",
            json={"client_id": CLIENT_ID, "email": "ava@zylker.com", "scope": ALL_SCOPES},
        ).json()
        api_base = admin.get("/_emulator/endpoints").json()["us"]["api_domain"]
        token_url = grant["accounts_server"] + "/oauth/v2/token"
        args = [api_base, token_url, CLIENT_ID, CLIENT_SECRET, grant["code"], str(workdir)]
        child = Child(args, workdir / "stderr.txt")
        try:
            result = child.line()
            before = read_tokens(tokens)
            stats_before = admin.get("/_emulator/stats").json()["token_requests"]
            # An hour passes: at "Zoho" (virtual clock) and for the SDK (its stored expiry).
            admin.post("/_emulator/clock", json={"advance_seconds": ADVANCE}).raise_for_status()
            move_sdk_clock(tokens, ADVANCE)
            old_token = before[1][ACCESS_TOKEN_COL]
            dead = admin.get(
                f"{api_base}/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {old_token}"}
            )
            child.send("go")
            result["after"] = child.line()
        finally:
            code = child.close()
        assert code == 0, child.errors()
        stats_after = admin.get("/_emulator/stats").json()["token_requests"]
    after = read_tokens(tokens)
    result["refresh"] = {
        "old_token_status": dead.status_code,
        "old_token_code": dead.json().get("code"),
        "refreshes_before": stats_before["refresh_token"],
        "refreshes_after": stats_after["refresh_token"],
        "code_grants": stats_after["authorization_code"],
        "rows": (len(before) - 1, len(after) - 1),
        "token_changed": after[1][ACCESS_TOKEN_COL] != old_token,
        "refresh_token_kept": after[1][4] == before[1][4],
        "expiry_ahead_ms": int(after[1][EXPIRY_COL]) - int(time.time() * 1000),
    }
    return result


def test_official_sdk_end_to_end(sdk_run: dict[str, Any]) -> None:
    # It keys its token store by users[0].email and org[0].zgid.
    assert sdk_run["token_users"] == ["ava@zylker.com:80000001"]
    for module in ("Leads", "Contacts", "Accounts", "Deals"):
        got = sdk_run[module]
        assert got["status"] == 200, got
        assert (got["count"], got["more"], got["get"]) == (5, True, "ResponseWrapper")
        assert got["kinds"]["Owner"] == "MinifiedUser"
        assert got["kinds"]["Created_Time"] == "datetime"
    leads = sdk_run["Leads"]["kinds"]
    assert (leads["Annual_Revenue"], leads["No_of_Employees"], leads["Email_Opt_Out"]) == (
        "float",
        "int",
        "bool",
    )
    deals = sdk_run["Deals"]["full_kinds"]
    assert (deals["Stage"], deals["Closing_Date"], deals["Account_Name"]) == (
        "Choice",
        "date",
        "Record",
    )
    assert sdk_run["Contacts"]["full_kinds"]["Account_Name"] == "Record"
    created = sdk_run["create"]
    assert (created["status"], created["type"], created["code"]) == (
        201,
        "SuccessResponse",
        "SUCCESS",
    )
    assert sdk_run["search"] == [created["id"]]


def test_official_sdk_refreshes_after_the_clock_moves(sdk_run: dict[str, Any]) -> None:
    refresh = sdk_run["refresh"]
    # The hour really passed at "Zoho": the first access token is refused there.
    assert (refresh["old_token_status"], refresh["old_token_code"]) == (401, "INVALID_TOKEN")
    # The SDK's next call refreshed once, got a new token, and the call itself succeeded.
    assert sdk_run["after"] == {"status": 200, "type": "ResponseWrapper", "count": 3}
    assert (refresh["refreshes_before"], refresh["refreshes_after"]) == (0, 1)
    assert refresh["code_grants"] == 1
    assert refresh["token_changed"]
    assert refresh["refresh_token_kept"]
    assert refresh["rows"] == (1, 1)
    # The new expiry is an hour of the SDK's own (unmoved) clock ahead.
    assert 3_000_000 < refresh["expiry_ahead_ms"] <= 3_600_000
