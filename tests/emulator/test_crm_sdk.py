"""Zoho's official Python SDK (zohocrmsdk8-0) against the emulator, end to end.

The SDK is the client most Zoho users run, so the emulator must satisfy it: it exchanges the
grant code, calls `users?type=CurrentUser` and `org` to name the token, reads
`settings/fields` for every module it parses (following lookups), converts each record value by
the field's type, and reads insert and search responses. It runs in a subprocess because its
`Initializer` is process-global.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
print(json.dumps(out))
"""


@pytest.fixture
def sdk_run(admin: httpx.Client, emulator: BackgroundEmulator, tmp_path: Path) -> dict[str, Any]:
    admin.post(
        "/_emulator/clients",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": []},
    ).raise_for_status()
    grant = admin.post(
        "/_emulator/self-client/code",
        json={"client_id": CLIENT_ID, "email": "ava@zylker.com", "scope": ALL_SCOPES},
    ).json()
    api_base = admin.get("/_emulator/endpoints").json()["us"]["api_domain"]
    args = [api_base, grant["accounts_server"] + "/oauth/v2/token", CLIENT_ID, CLIENT_SECRET]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args, grant["code"], str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_official_sdk_end_to_end(sdk_run: dict[str, Any]) -> None:
    # One SDK run (a subprocess, ~3 s) checked from every side.
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
