"""Saving a login: upsert the credential in place and one connection per org, portably.

No dialect has the same upsert (ON CONFLICT, ON DUPLICATE KEY, SQLite's own ON CONFLICT), so
this is UPDATE-then-INSERT in one write transaction. Two logins of the same user racing to
insert the first row make one of them hit the unique key; it retries once, and the retry finds
the winner's row and updates it. Connection ids survive re-logins: an app's sessions name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..crypto import KeyRing
from ..tokens import Connection, CredentialKey, OrgInfo, Status, TokenSet
from .codec import encode_scopes, encrypt_tokens, new_connection_id, normalize_email
from .engine import write_transaction
from .queries import key_where
from .schema import connections, credentials


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
    key: CredentialKey,
    email: str,
    tokens: TokenSet,
    api_domain: str,
    scopes: Sequence[str],
    orgs: Sequence[OrgInfo],
) -> list[Connection]:
    """Store a login; returns the connections for `orgs` in that order (duplicates once)."""
    for attempt in (1, 2):
        try:
            async with write_transaction(engine) as conn:
                await _upsert_credential(conn, keyring, now, key, email, tokens, api_domain, scopes)
                return await _upsert_connections(conn, now, key, email, _unique_orgs(orgs))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _upsert_credential(
    conn: AsyncConnection,
    keyring: KeyRing,
    now: float,
    key: CredentialKey,
    email: str,
    tokens: TokenSet,
    api_domain: str,
    scopes: Sequence[str],
) -> None:
    values: dict[str, Any] = {
        "email": email,
        "api_domain": api_domain,
        "scopes": encode_scopes(scopes),
        "secret": encrypt_tokens(keyring, key, tokens),
        "key_id": keyring.active_kid,
        "expires_at": tokens.expires_at,
        "status": Status.ACTIVE.value,
        "lease_owner": None,
        "lease_expires_at": None,
        "throttled_until": None,
        "updated_at": now,
    }
    updated = await conn.execute(
        update(credentials)
        .where(key_where(credentials, key))
        .values(**values, version=credentials.c.version + 1)
    )
    if updated.rowcount == 0:
        await conn.execute(
            insert(credentials).values(
                client_id=key.client_id,
                dc=key.dc,
                zuid=key.zuid,
                version=1,
                refreshed_at=None,
                created_at=now,
                **values,
            )
        )


async def _upsert_connections(
    conn: AsyncConnection, now: float, key: CredentialKey, email: str, orgs: list[OrgInfo]
) -> list[Connection]:
    if not orgs:
        return []
    existing_rows = await conn.execute(
        select(connections.c.id, connections.c.org_id, connections.c.created_at).where(
            key_where(connections, key),
            connections.c.org_id.in_([org.org_id for org in orgs]),
        )
    )
    existing = {row.org_id: (row.id, float(row.created_at)) for row in existing_rows}
    email_norm = normalize_email(email)
    result: list[Connection] = []
    for org in orgs:
        if org.org_id in existing:
            connection_id, created_at = existing[org.org_id]
            await conn.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(org_name=org.org_name, email=email, email_norm=email_norm)
            )
        else:
            connection_id, created_at = new_connection_id(), now
            await conn.execute(
                insert(connections).values(
                    id=connection_id,
                    client_id=key.client_id,
                    dc=key.dc,
                    zuid=key.zuid,
                    org_id=org.org_id,
                    org_name=org.org_name,
                    email=email,
                    email_norm=email_norm,
                    created_at=created_at,
                )
            )
        result.append(Connection(connection_id, key, org.org_id, org.org_name, email, created_at))
    return result


__all__ = ["save_login"]
