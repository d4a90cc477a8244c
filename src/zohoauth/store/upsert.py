"""Saving a login: upsert the credential in place and one connection per org, portably.

No dialect has the same upsert (ON CONFLICT, ON DUPLICATE KEY, SQLite's own ON CONFLICT), so
this is UPDATE-then-INSERT in one write transaction. Two logins of the same user racing to
insert the first row make one of them hit the unique key; it retries once, and the retry finds
the winner's row and updates it. Connection ids survive re-logins: an app's sessions name them.

A re-login mints a new refresh token, and Zoho keeps at most 20 per user and client, deleting
the oldest silently (docs/zoho-reference.md §4). With `revoke_replaced`, the refresh token the
login replaces is queued in `zohoauth_pending_revocations` in the same transaction, encrypted
like every secret: the new token is committed first, and the old one is revoked at Zoho
afterwards (`zohoauth/revocations.py`), so a failed revocation never costs the new token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..credentials import Connection, CredentialKey, Login, OrgInfo, Status
from ..crypto import KeyRing
from ..errors import DecryptionError
from ..logs import get_logger
from . import queries as q
from .codec import (
    decrypt_tokens,
    encode_scopes,
    encrypt_replaced,
    encrypt_tokens,
    new_connection_id,
    new_pending_revocation_id,
    normalize_email,
)
from .engine import write_transaction

log = get_logger("zohoauth.store")


def _unique_orgs(orgs: Sequence[OrgInfo]) -> list[OrgInfo]:
    """Orgs in the given order, each org id once (the first wins)."""
    seen: dict[str, OrgInfo] = {}
    for org in orgs:
        seen.setdefault(org.org_id, org)
    return list(seen.values())


async def save_login(
    engine: AsyncEngine,
    keyring: KeyRing,
    now: float,
    login: Login,
    *,
    revoke_replaced: bool = False,
) -> list[Connection]:
    """Store a login; returns the connections for its orgs in that order (duplicates once).

    With `revoke_replaced`, a stored refresh token this login replaces is queued for
    revocation in the same transaction (see the module's docstring)."""
    for attempt in (1, 2):
        try:
            async with write_transaction(engine) as conn:
                if revoke_replaced:
                    await _queue_replaced(conn, keyring, now, login)
                await _upsert_credential(conn, keyring, now, login)
                return await _upsert_connections(conn, now, login)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def save_logins(
    engine: AsyncEngine, keyring: KeyRing, now: float, logins: Sequence[Login]
) -> list[list[Connection]]:
    """Many logins in one write transaction (bulk imports), in order: a later login of the
    same user wins. Users not stored yet are inserted with one multi-row INSERT per table;
    the rest take `save_login`'s update-then-insert path. One commit instead of one per login
    (on SQLite the commit's fsync is most of a save's cost).

    All or nothing: an IntegrityError (a concurrent login inserted one of these users first)
    rolls the whole batch back and propagates, and the caller saves them one by one.
    """
    saved: list[list[Connection] | None] = [None] * len(logins)
    async with write_transaction(engine) as conn:
        stored = await _stored_keys(conn, [item.key for item in logins])
        first_of_new: dict[CredentialKey, int] = {}
        for i, item in enumerate(logins):
            if item.key not in stored:
                first_of_new.setdefault(item.key, i)
        if first_of_new:
            cred_rows: list[dict[str, Any]] = []
            conn_rows: list[dict[str, Any]] = []
            for k, i in first_of_new.items():
                item = logins[i]
                cred_rows.append(_new_credential(k, now, _credential_values(keyring, now, item)))
                made = [_new_connection(now, k, item.email, org) for org in _unique_orgs(item.orgs)]
                conn_rows.extend(row for row, _ in made)
                saved[i] = [c for _, c in made]
            await conn.execute(q.INSERT_CREDENTIAL, cred_rows)
            if conn_rows:
                await conn.execute(q.INSERT_CONNECTION, conn_rows)
        for i, item in enumerate(logins):
            if saved[i] is None:
                await _upsert_credential(conn, keyring, now, item)
                saved[i] = await _upsert_connections(conn, now, item)
    return [conns or [] for conns in saved]


async def _stored_keys(conn: AsyncConnection, keys: Sequence[CredentialKey]) -> set[CredentialKey]:
    """Which of `keys` have a credential row (one indexed query by zuid, filtered here)."""
    rows = await conn.execute(q.KEYS_WITH_ZUIDS, {"zuids": sorted({k.zuid for k in keys})})
    wanted = set(keys)
    return {k for row in rows if (k := CredentialKey(row.client_id, row.dc, row.zuid)) in wanted}


def _credential_values(keyring: KeyRing, now: float, login: Login) -> dict[str, Any]:
    """The columns a login sets, whether it inserts or updates the credential."""
    return {
        "email": login.email,
        "api_domain": login.api_domain,
        "scopes": encode_scopes(login.scopes),
        "secret": encrypt_tokens(keyring, login.key, login.tokens),
        "key_id": keyring.active_kid,
        "expires_at": login.tokens.expires_at,
        "status": Status.ACTIVE.value,
        "lease_owner": None,
        "lease_expires_at": None,
        "throttled_until": None,
    }


def _new_credential(key: CredentialKey, now: float, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": key.client_id,
        "dc": key.dc,
        "zuid": key.zuid,
        "version": 1,
        "refreshed_at": None,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def _new_connection(
    now: float, key: CredentialKey, email: str, org: OrgInfo
) -> tuple[dict[str, Any], Connection]:
    """A new connection's row and record (a fresh opaque id)."""
    connection_id = new_connection_id()
    row = {
        "id": connection_id,
        "client_id": key.client_id,
        "dc": key.dc,
        "zuid": key.zuid,
        "org_id": org.org_id,
        "org_name": org.org_name,
        "email": email,
        "email_norm": normalize_email(email),
        "created_at": now,
    }
    return row, Connection(connection_id, key, org.org_id, org.org_name, email, now)


async def _queue_replaced(
    conn: AsyncConnection, keyring: KeyRing, now: float, login: Login
) -> None:
    """Queue the stored refresh token of `login.key` for revocation if `login` replaces it.

    Locks the credential row (PostgreSQL, MySQL; SQLite's BEGIN IMMEDIATE already serializes)
    so concurrent re-logins queue each other's tokens. The same token (connect_org re-saves
    it) is not queued. A stored secret the key ring can't open is not queued either: it can't
    be revoked from here, and the login must still succeed (logged, without any token).
    """
    row = (await conn.execute(q.CREDENTIAL_SECRET_FOR_UPDATE, q.key_params(login.key))).first()
    if row is None:
        return
    try:
        old = decrypt_tokens(keyring, login.key, row.secret, 0.0).refresh_token
    except DecryptionError:
        log.warning(
            "the replaced refresh token could not be decrypted, so it is not revoked at Zoho",
            credential=str(login.key),
        )
        return
    if old == login.tokens.refresh_token:
        return
    row_id = new_pending_revocation_id()
    await conn.execute(
        q.INSERT_PENDING_REVOCATION,
        {
            "id": row_id,
            "client_id": login.key.client_id,
            "dc": login.key.dc,
            "zuid": login.key.zuid,
            "secret": encrypt_replaced(keyring, row_id, login.key, old),
            "key_id": keyring.active_kid,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
        },
    )


async def _upsert_credential(
    conn: AsyncConnection, keyring: KeyRing, now: float, login: Login
) -> None:
    values = _credential_values(keyring, now, login)
    updated = await conn.execute(q.update_content(login.key, now, **values))
    if updated.rowcount == 0:
        await conn.execute(q.INSERT_CREDENTIAL, _new_credential(login.key, now, values))


async def _upsert_connections(conn: AsyncConnection, now: float, login: Login) -> list[Connection]:
    key, email, orgs = login.key, login.email, _unique_orgs(login.orgs)
    if not orgs:
        return []
    existing_rows = await conn.execute(
        q.CONNECTIONS_OF_KEY_IN_ORGS,
        {**q.key_params(key), "org_ids": [org.org_id for org in orgs]},
    )
    existing = {row.org_id: (row.id, float(row.created_at)) for row in existing_rows}
    email_norm = normalize_email(email)
    result: list[Connection] = []
    for org in orgs:
        if org.org_id in existing:
            connection_id, created_at = existing[org.org_id]
            await conn.execute(
                q.update_connection(
                    connection_id, org_name=org.org_name, email=email, email_norm=email_norm
                )
            )
            result.append(
                Connection(connection_id, key, org.org_id, org.org_name, email, created_at)
            )
        else:
            row, made = _new_connection(now, key, email, org)
            await conn.execute(q.INSERT_CONNECTION, row)
            result.append(made)
    return result


__all__ = ["save_login", "save_logins"]
