"""`zohoauth keys service ...`, `zohoauth audit ...` and `zohoauth webhooks ...` through the real
CLI against a real store: a key is printed once and only its keyed hash is stored, the audit
log is queried and pruned, webhooks are added, listed, delivered and removed, and `keys rotate`
re-encrypts webhook secrets so signatures still verify once the old key is dropped."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from zohoauth.crypto import KeyRing
from zohoauth.errors import DecryptionError, ServiceKeyError
from zohoauth.service import TokenService
from zohoauth.service.keys import hash_key, well_formed
from zohoauth.service.webhooks import verify
from zohoauth.store import schema
from zohoauth.store.codec import webhook_secret_aad
from zohoauth.store.urls import normalize_url

from ..support.aio import arun
from ..support.cli import Env
from ..support.databases import table_dump
from ..support.service import receiver
from ..support.web import free_port
from ..support.zoho import login, make_auth


def _json(env: Env, *args: str) -> Any:
    result = env.cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _create(env: Env, *args: str) -> str:
    """`keys service create ...` -> the key it printed (its last line, alone)."""
    result = env.cli("keys", "service", "create", *args)
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert well_formed(key)
    return key


def _rows(env: Env, table: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        engine = create_async_engine(normalize_url(env.url))
        try:
            async with engine.connect() as conn:
                return [dict(r) for r in (await conn.execute(select(table))).mappings().all()]
        finally:
            await engine.dispose()

    return arun(go)


def _use(env: Env, key: str, connection_id: str, n: int = 1) -> None:
    """`n` token calls with `key`, as /api/v1 makes them (audited and flushed)."""

    async def go() -> None:
        async with make_auth(env.emulator_url, env.url, env.keys, env.client) as auth:
            service = auth.service
            for _ in range(n):
                found = await service.authenticate(f"Bearer {key}", "token", connection_id)
                await service.token(found, connection_id)
            await service.flush()

    arun(go)


def test_a_key_is_printed_once_and_only_its_hash_is_stored(env: Env) -> None:
    key = _create(env, "--name", "billing-sync", "--scope", "proxy", "--expires", "90d")
    other = _create(env, "--name", "reporting", "--connections", "conn_a, conn_b")
    dump = arun(lambda: table_dump(env.url))
    assert key not in dump and key[4:44] not in dump and other not in dump
    [row] = [r for r in _rows(env, schema.service_keys) if r["name"] == "billing-sync"]
    pepper = KeyRing.from_config(env.keys).derive(row["pepper_id"], b"service-key-pepper")
    assert row["key_hash"] == hash_key(pepper, key)

    listed = _json(env, "keys", "service", "list")
    assert [(k["name"], k["scope"], k["connections"], k["state"]) for k in listed] == [
        ("billing-sync", "proxy", "all", "active"),
        ("reporting", "token", ["conn_a", "conn_b"], "active"),
    ]
    assert 89 * 86400 < listed[0]["expires_at"] - listed[0]["created_at"] <= 90 * 86400
    assert listed[1]["expires_at"] is None and listed[0]["last_used_at"] is None
    table = env.cli("keys", "service", "list")
    assert table.exit_code == 0 and "billing-sync" in table.stdout
    for text in (json.dumps(listed), table.stdout):
        assert key not in text and other not in text and key[4:44] not in text


def test_bad_create_options_say_what_to_do(env: Env) -> None:
    bad_scope = env.cli("keys", "service", "create", "--name", "x", "--scope", "root")
    assert bad_scope.exit_code == 2 and "--scope" in bad_scope.output
    assert "'read', 'token', 'proxy', 'admin'" in bad_scope.output
    bad_expiry = env.cli("keys", "service", "create", "--name", "x", "--expires", "soon")
    assert bad_expiry.exit_code == 2 and "--expires" in bad_expiry.output
    assert "90d" in bad_expiry.output
    assert _rows(env, schema.service_keys) == []


def test_connections_take_ids_and_selectors_and_list_them(env: Env) -> None:
    made = env.cli(
        "keys", "service", "create", "--name", "eu-sync", "--connections", "DC:EU, org:80000001"
    )
    assert made.exit_code == 0, made.output
    assert "connections dc:eu,org:80000001" in made.stdout
    _create(env, "--name", "mixed", "--connections", "conn_a,email:Ava@Zylker.com,domain:x.io")
    listed = _json(env, "keys", "service", "list")
    assert [(k["name"], k["connections"]) for k in listed] == [
        ("eu-sync", ["dc:eu", "org:80000001"]),
        ("mixed", ["conn_a", "email:ava@zylker.com", "domain:x.io"]),
    ]
    table = env.cli("keys", "service", "list")
    assert "dc:eu,org:80000001" in table.stdout.replace("\n", "").replace(" ", "")
    stored = {r["name"]: json.loads(r["connections"]) for r in _rows(env, schema.service_keys)}
    assert stored["eu-sync"] == ["dc:eu", "org:80000001"]


def test_an_unknown_selector_is_refused_with_the_accepted_forms(env: Env) -> None:
    for bad in ("region:eu", "conn_a,tag:billing", "email:not-an-address"):
        out = env.cli("keys", "service", "create", "--name", "x", "--connections", bad)
        assert out.exit_code == 2, out.output
        assert "--connections" in out.output and "dc:DC" in out.output
        assert "domain:DOMAIN" in out.output and "Traceback" not in out.output
    assert _rows(env, schema.service_keys) == []
    helped = env.cli("keys", "service", "create", "--help")
    assert "dc:DC" in helped.output and "domain:DOMAIN" in helped.output


def test_revoke_by_name_or_id_and_last_use_is_listed(env: Env) -> None:
    [conn] = env.login("ava@zylker.com")
    key = _create(env, "--name", "billing")
    _create(env, "--name", "spare")
    _use(env, key, conn.id)
    [billing, spare] = _json(env, "keys", "service", "list")
    assert billing["last_used_at"] is not None and time.time() - billing["last_used_at"] < 60
    assert spare["last_used_at"] is None
    assert "last used" in env.cli("keys", "service", "list").stdout

    assert env.cli("keys", "service", "revoke", "billing").exit_code == 0
    again = env.cli("keys", "service", "revoke", "billing")
    assert again.exit_code == 1 and "no active service key" in again.output
    revoked = env.cli("keys", "service", "revoke", spare["id"])
    assert revoked.exit_code == 0, revoked.output
    assert [k["state"] for k in _json(env, "keys", "service", "list")] == ["revoked", "revoked"]


def test_audit_is_queried_and_pruned(env: Env) -> None:
    ava, clara = env.login("ava@zylker.com", "clara@brightwave.eu")
    billing = _create(env, "--name", "billing")
    reports = _create(env, "--name", "reports")
    _use(env, billing, ava.id, 2)
    _use(env, reports, clara.id)
    rows = _json(env, "audit")
    assert len(rows) == 3 and {r["action"] for r in rows} == {"token"}
    assert [r["connection_id"] for r in _json(env, "audit", "--key", "reports")] == [clara.id]
    assert len(_json(env, "audit", "--connection", ava.id)) == 2
    assert len(_json(env, "audit", "--limit", "1")) == 1
    tokens = [t for pair in _stored(env) for t in pair]
    table = env.cli("audit")
    assert table.exit_code == 0 and "billing" in table.stdout
    for text in (table.stdout, json.dumps(rows)):
        assert not any(t in text for t in tokens) and billing not in text

    # Age the billing rows by two days; prune what is older than a day.
    async def age() -> None:
        engine = create_async_engine(normalize_url(env.url))
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(schema.audit)
                    .where(schema.audit.c.key_name == "billing")
                    .values(at=schema.audit.c.at - 2 * 86400)
                )
        finally:
            await engine.dispose()

    arun(age)
    assert [r["key_name"] for r in _json(env, "audit", "--since", "24h")] == ["reports"]
    pruned = env.cli("audit", "prune", "--older-than", "1d")
    assert pruned.exit_code == 0 and "deleted 2 audit row(s)" in pruned.stdout
    assert [r["key_name"] for r in _json(env, "audit")] == ["reports"]
    bad = env.cli("audit", "prune", "--older-than", "forever")
    assert bad.exit_code == 2 and "--older-than" in bad.output

    # A refused call without a usable key is recorded as key "-", without the key.
    async def refuse() -> None:
        async with env.store() as store:
            service = TokenService(store, auth=None)
            with pytest.raises(ServiceKeyError):
                await service.authenticate(f"Bearer {billing}x", "token", ava.id)
            await service.aclose()

    arun(refuse)
    [refused] = _json(env, "audit", "--key", "-")
    assert (refused["outcome"], refused["detail"], refused["connection_id"]) == (
        "invalid_key",
        "malformed key",
        ava.id,
    )


def _stored(env: Env) -> list[tuple[str, str | None]]:
    from ..support.cli import stored_tokens

    return list(stored_tokens(env).values())


def _add_webhook(env: Env, url: str, events: str = "login") -> tuple[str, str]:
    """`webhooks add` -> (its id, the secret printed once)."""
    result = env.cli("webhooks", "add", url, "--events", events)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    hook_id = result.stdout.split("added webhook ", 1)[1].split()[0]
    return hook_id, secret


def _deliver_a_login(env: Env, keys: str, port: int, email: str) -> list[tuple[str, bytes]]:
    """Log `email` in with a service running on `keys` and a receiver on `port`; what the
    receiver got."""

    async def go() -> None:
        async with make_auth(env.emulator_url, env.url, keys, env.client) as auth:
            auth.service.start()
            await login(auth, email)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any(d.state == "delivered" for d in await auth.service.deliveries()):
                    return
                await asyncio.sleep(0.2)

    with receiver(port) as got:
        arun(go)
    return got


def test_webhooks_are_added_listed_delivered_and_removed(env: Env) -> None:
    port = free_port()
    hook_id, secret = _add_webhook(env, f"http://127.0.0.1:{port}/hook", "login,logout")
    dump = arun(lambda: table_dump(env.url))
    assert secret not in dump and secret[6:] not in dump  # stored encrypted
    listed = env.cli("webhooks", "list")
    assert listed.exit_code == 0 and hook_id in listed.stdout and "login,logout" in listed.stdout
    assert secret not in listed.stdout
    assert _json(env, "webhooks", "list") == [
        {
            "id": hook_id,
            "url": f"http://127.0.0.1:{port}/hook",
            "events": ["login", "logout"],
            "created_at": pytest.approx(time.time(), abs=60),
        }
    ]
    bad = env.cli("webhooks", "add", f"http://127.0.0.1:{port}/h", "--events", "login,nope")
    assert bad.exit_code == 2 and "nope" in bad.output

    got = _deliver_a_login(env, env.keys, port, "ava@zylker.com")
    assert got and verify(secret, *got[0])
    [delivery] = _json(env, "webhooks", "deliveries")
    assert (delivery["webhook_id"], delivery["event"], delivery["state"]) == (
        hook_id,
        "login",
        "delivered",
    )
    assert delivery["attempts"] == 1 and delivery["last_status"] == 204
    assert _json(env, "webhooks", "deliveries", "--webhook", "wh_other") == []
    table = env.cli("webhooks", "deliveries")
    assert table.exit_code == 0 and "delivered" in table.stdout

    assert env.cli("webhooks", "remove", hook_id).exit_code == 0
    assert hook_id not in env.cli("webhooks", "list").stdout
    gone = env.cli("webhooks", "remove", hook_id)
    assert gone.exit_code == 1 and "no webhook" in gone.output


def test_rotation_re_encrypts_webhook_secrets_so_signatures_verify_without_the_old_key(
    env: Env,
) -> None:
    port = free_port()
    old_key = env.keys
    _, secret = _add_webhook(env, f"http://127.0.0.1:{port}/hook")
    new_key = KeyRing.generate_key()
    rotated = env.cli("keys", "rotate", encryption_keys=f"{new_key},{old_key}")
    assert rotated.exit_code == 0, rotated.output
    [row] = _rows(env, schema.webhooks)
    assert row["key_id"] == KeyRing.from_config(new_key).active_kid
    aad = webhook_secret_aad(row["id"])
    assert KeyRing.from_config(new_key).decrypt(row["secret"], aad).decode() == secret
    with pytest.raises(DecryptionError):  # really moved: the old key alone can't open it
        KeyRing.from_config(old_key).decrypt(row["secret"], aad)

    # The old key is dropped: the service signs with the secret under the new key alone.
    got = _deliver_a_login(env, new_key, port, "ava@zylker.com")
    assert got, "no delivery with the new key alone"
    assert verify(secret, *got[0])
    assert b'"type":"login"' in got[0][1]


def test_keys_status_names_service_keys_still_hashed_under_an_older_key(env: Env) -> None:
    old_kid = KeyRing.from_config(env.keys).active_kid
    key = _create(env, "--name", "billing")
    ring = f"{KeyRing.generate_key()},{env.keys}"
    status = env.cli("keys", "status", encryption_keys=ring)
    assert status.exit_code == 0, status.output
    assert f"1 service key(s) are hashed under key id {old_kid}" in status.stdout
    assert key not in status.stdout

    async def use() -> None:  # used once while both keys are in the ring: re-hashed
        async with env.store(ring) as store:
            service = TokenService(store, auth=None)
            await service.authenticate(f"Bearer {key}", "read")
            await service.aclose()

    arun(use)
    status = env.cli("keys", "status", encryption_keys=ring)
    assert "service key(s) are hashed under" not in status.stdout
