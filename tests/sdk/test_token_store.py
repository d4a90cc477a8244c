"""`zohoauth.sdk.ZohoAuthTokenStore` with Zoho's official SDK against the emulator.

End to end, the SDK runs in a subprocess (its Initializer is process-global) with the store as
its `store=`: it exchanges a Self Client code, reads records, then — after the test moved the
emulator's clock an hour on and the stored expiry the same hour back — six threads read records
at once. The official SDK alone sends six refreshes then (docs/zoho-reference.md §10); with
this store exactly one is sent. Around that, the TokenStore methods are checked one by one
in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.config import Settings
from zohoauth.store import schema
from zohoauth.store.urls import normalize_url

from ..support.aio import arun
from ..support.cli import ALL_VARS, Env, make_env
from ..support.databases import table_dump
from ..support.zoho import advance_clock, emulator_stats

pytest.importorskip("zohocrmsdk", reason="the official SDK (dev dependency zohocrmsdk8-0)")

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from zohoauth.sdk import ZohoAuthTokenStore

SCRIPT = r"""
import json, sys, threading
api_base, token_url, code, client_id, secret, workdir = sys.argv[1:7]
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.record import (
    RecordOperations, GetRecordsParam, ResponseWrapper)
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohoauth.sdk import ZohoAuthTokenStore

store = ZohoAuthTokenStore()
env = DataCenter.Environment(api_base, token_url, api_base)
Initializer.initialize(
    environment=env,
    token=OAuthToken(client_id=client_id, client_secret=secret, grant_token=code),
    store=store,
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=workdir,
)

def leads():
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name,Email")
    params.add(GetRecordsParam.per_page, 3)
    got = RecordOperations("Leads").get_records(params)
    body = got.get_object()
    count = len(body.get_data()) if isinstance(body, ResponseWrapper) else None
    return [got.get_status_code(), count]

tokens = [(t.get_id(), t.get_user_signature().get_name()) for t in store.get_tokens()]
print(json.dumps({"first": leads(), "tokens": tokens}), flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("no go")
results, init = [], Initializer.get_initializer()
def worker():
    Initializer.LOCAL.init = init  # the SDK keeps its initializer per thread
    results.append(leads())
threads = [threading.Thread(target=worker) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"threads": results, "tokens": len(store.get_tokens())}), flush=True)
store.close()
"""

ADVANCE = 3601
#: What the SDK needs: records, field metadata, and who the user is.
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"


@pytest.fixture
def sdk_env(emulator: Any, store_url: str, keys: str, tmp_path: Path) -> Env:
    return make_env(emulator.url, store_url, keys, tmp_path)


def settings_of(env: Env) -> Settings:
    return Settings.load(
        **{k.removeprefix("ZOHOAUTH_").lower(): v for k, v in env.vars.items()}  # type: ignore[arg-type]
    )


def self_client(env: Env, email: str) -> dict[str, str]:
    grant: dict[str, str] = httpx.post(
        env.emulator_url + "/_emulator/self-client/code",
        json={
            "client_id": env.client.client_id,
            "email": email,
            "scope": SCOPES,
        },
    ).json()
    return grant


def exchange(env: Env, email: str) -> dict[str, Any]:
    grant = self_client(env, email)
    body: dict[str, Any] = httpx.post(
        grant["accounts_server"] + "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": env.client.client_id,
            "client_secret": env.client.client_secret,
            "code": grant["code"],
        },
    ).json()
    return body


def move_stored_expiry(url: str, seconds: int) -> None:
    """What the store would hold `seconds` later: every expiry that much earlier."""

    async def go() -> None:
        engine = create_async_engine(normalize_url(url))
        try:
            async with engine.begin() as conn:
                c = schema.credentials.c
                await conn.execute(
                    update(schema.credentials).values(expires_at=c.expires_at - seconds)
                )
        finally:
            await engine.dispose()

    arun(go)


def test_official_sdk_on_the_zohoauth_store(emulator: Any, sdk_env: Env, tmp_path: Path) -> None:
    grant = self_client(sdk_env, "ava@zylker.com")
    endpoints = httpx.get(emulator.url + "/_emulator/endpoints").json()
    args = [
        endpoints["us"]["api_domain"],
        grant["accounts_server"] + "/oauth/v2/token",
        grant["code"],
        sdk_env.client.client_id,
        sdk_env.client.client_secret,
        str(tmp_path),
    ]
    child_env = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    child_env.update(sdk_env.vars)
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        env=child_env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        first = json.loads(child.stdout.readline() or "{}")
        assert first.get("first") == [200, 3], child.stderr.read() if child.stderr else ""
        [(token_id, user_name)] = first["tokens"]
        assert token_id.startswith("conn_") and user_name == "ava@zylker.com:80000001"
        before = emulator_stats(emulator.url)["token_requests"]
        advance_clock(emulator.url, ADVANCE)
        move_stored_expiry(sdk_env.url, ADVANCE)
        child.stdin.write("go\n")
        child.stdin.flush()
        second = json.loads(child.stdout.readline() or "{}")
    finally:
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    assert second == {"threads": [[200, 3]] * 6, "tokens": 1}
    after = emulator_stats(emulator.url)["token_requests"]
    assert after["refresh_token"] - before["refresh_token"] == 1  # six threads, one refresh
    assert after["authorization_code"] == before["authorization_code"] == 1

    listed = sdk_env.cli("tokens", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert (row["connection_id"], row["email"], row["dc"]) == (token_id, "ava@zylker.com", "us")
    dump = arun(lambda: table_dump(sdk_env.url))
    state = emulator.state
    for token in [*state.access_tokens, *state.refresh_tokens, sdk_env.client.client_secret]:
        assert token not in dump
    assert token not in out + err


@pytest.fixture
def store(sdk_env: Env) -> Iterator[ZohoAuthTokenStore]:
    opened = ZohoAuthTokenStore(settings_of(sdk_env))
    yield opened
    opened.close()


def sdk_token(env: Env, body: dict[str, Any], **extra: Any) -> Any:
    token = OAuthToken(
        client_id=env.client.client_id,
        client_secret=env.client.client_secret,
        refresh_token=body["refresh_token"],
        **extra,
    )
    token.set_access_token(body["access_token"])
    token.set_expires_in(str(int((time.time() + body["expires_in"]) * 1000)))
    token.set_api_domain(body["api_domain"])
    return token


def test_save_then_find_every_way(store: ZohoAuthTokenStore, sdk_env: Env) -> None:
    body = exchange(sdk_env, "clara@brightwave.eu")
    token = sdk_token(sdk_env, body)
    store.save_token(token)
    assert token.get_id().startswith("conn_")
    assert token.get_user_signature().get_name() == "clara@brightwave.eu:80000003"

    by_id = store.find_token_by_id(token.get_id())
    assert (by_id.get_refresh_token(), by_id.get_client_secret()) == (
        body["refresh_token"],
        sdk_env.client.client_secret,  # filled in from the settings, never stored
    )
    for probe in (
        OAuthToken(user_signature=UserSignature("clara@brightwave.eu")),
        OAuthToken(user_signature=UserSignature("clara@brightwave.eu:80000003")),
        OAuthToken(sdk_env.client.client_id, "x", refresh_token=body["refresh_token"]),
        OAuthToken(access_token=body["access_token"]),
    ):
        found = store.find_token(probe)
        assert found is probe and probe.get_id() == token.get_id()
    assert store.find_token(OAuthToken(user_signature=UserSignature("nobody@x.io"))) is None
    grant = OAuthToken(sdk_env.client.client_id, "x", grant_token="1000.spent.code")
    assert store.find_token(grant) is None  # grant codes are never kept
    assert sdk_env.client.client_secret not in arun(lambda: table_dump(sdk_env.url))


def test_each_dc_hands_the_sdk_its_own_secret(sdk_env: Env) -> None:
    """With ZOHOAUTH_CLIENT_SECRETS, a token of a DC with its own secret carries that one
    (the SDK refreshes at that DC with it); the others carry the common secret."""
    eu_body = exchange(sdk_env, "clara@brightwave.eu")
    us_body = exchange(sdk_env, "ava@zylker.com")
    own = "eu-own-" + "0" * 32
    settings = Settings.load(
        **{k.removeprefix("ZOHOAUTH_").lower(): v for k, v in sdk_env.vars.items()},  # type: ignore[arg-type]
        client_secrets=f"eu:{own}",
    )
    store = ZohoAuthTokenStore(settings)
    try:
        eu, us = sdk_token(sdk_env, eu_body), sdk_token(sdk_env, us_body)
        store.save_token(eu)
        store.save_token(us)
        assert store.find_token_by_id(eu.get_id()).get_client_secret() == own
        assert store.find_token_by_id(us.get_id()).get_client_secret() == (
            sdk_env.client.client_secret
        )
    finally:
        store.close()
    assert own not in arun(lambda: table_dump(sdk_env.url))


def test_saving_again_updates_in_place(store: ZohoAuthTokenStore, sdk_env: Env) -> None:
    body = exchange(sdk_env, "dev@sunrise.in")
    token = sdk_token(sdk_env, body)
    store.save_token(token)
    token.set_access_token("1000." + "e" * 32 + "." + "f" * 32)
    store.save_token(token)
    [stored] = store.get_tokens()
    assert stored.get_id() == token.get_id()
    assert stored.get_access_token() == token.get_access_token()


def test_delete_and_errors(
    store: ZohoAuthTokenStore, sdk_env: Env, emulator: Any, tmp_path: Path
) -> None:
    first = sdk_token(sdk_env, exchange(sdk_env, "clara@brightwave.eu"))
    second = sdk_token(sdk_env, exchange(sdk_env, "dev@sunrise.in"))
    store.save_token(first)
    store.save_token(second)
    other_app = make_env(emulator.url, sdk_env.url, sdk_env.keys, tmp_path)  # another client
    other = other_app.login("ben@zylker.com")  # ...whose user shares the database
    store.delete_token(first.get_id())
    assert [t.get_id() for t in store.get_tokens()] == [second.get_id()]
    with pytest.raises(SDKException):
        store.delete_token(first.get_id())
    with pytest.raises(SDKException):
        store.find_token_by_id("conn_nothing")
    store.delete_tokens()
    assert store.get_tokens() == []
    assert len(json.loads(sdk_env.cli("tokens", "list", "--json").stdout)) == len(other) == 1

    online = OAuthToken(access_token="1000." + "a" * 32 + "." + "b" * 32)
    online.set_api_domain(first.get_api_domain())
    with pytest.raises(SDKException, match="offline grants only"):
        store.save_token(online)
    foreign = sdk_token(sdk_env, exchange(sdk_env, "clara@brightwave.eu"))
    foreign.set_api_domain("https://www.zohoapis.example")
    with pytest.raises(SDKException, match="not an API host"):
        store.save_token(foreign)
