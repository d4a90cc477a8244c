"""The store's SQL statements, built by pure functions (no I/O): easy to read in one place,
and each one a single indexed statement that stays O(log n) as the tables grow.

- lookups go through a primary key or an index: `pk_zohoauth_connections` (id), the credential
  primary key (client_id, dc, zuid), `ix_zohoauth_connections_email_norm` (email_norm, org_id);
- the lease statements are conditional UPDATEs whose matched-row count is the answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)

from ..credentials import CredentialKey
from .codec import normalize_email
from .schema import connections, credentials

JOIN_PREFIX = "conn_"  # labels of the connection's columns in the joined hot-path query


def key_where(table: Table, key: CredentialKey) -> ColumnElement[bool]:
    """`client_id = ? AND dc = ? AND zuid = ?` on either table (both lead with the key)."""
    c: Any = table.c
    return and_(c.client_id == key.client_id, c.dc == key.dc, c.zuid == key.zuid)


def after_key(key: CredentialKey | None) -> ColumnElement[bool]:
    """Keyset pagination past `key` in (client_id, dc, zuid) order, spelled out so every
    dialect's optimiser turns it into an index range (row-value comparisons vary)."""
    if key is None:
        return true()
    c = credentials.c
    return or_(
        c.client_id > key.client_id,
        and_(
            c.client_id == key.client_id,
            or_(c.dc > key.dc, and_(c.dc == key.dc, c.zuid > key.zuid)),
        ),
    )


def _connection_with_credential() -> Select[Any]:
    labelled = [col.label(JOIN_PREFIX + col.name) for col in connections.c]
    joined = connections.join(
        credentials,
        and_(
            connections.c.client_id == credentials.c.client_id,
            connections.c.dc == credentials.c.dc,
            connections.c.zuid == credentials.c.zuid,
        ),
    )
    return (
        select(*labelled, *credentials.c)
        .select_from(joined)
        .where(connections.c.id == bindparam("connection_id"))
    )


#: A connection and its credential by connection id: two primary-key lookups, one query.
#: Built once — constructing this 27-column join on every call cost ~0.3 ms per cold lookup
#: (bench/lookup.py, A/B on all three engines). Execute with {"connection_id": ...}.
CONNECTION_WITH_CREDENTIAL = _connection_with_credential()

#: One credential by its key; execute with {"client_id", "dc", "zuid"}.
CREDENTIAL_BY_KEY = select(credentials).where(
    and_(
        credentials.c.client_id == bindparam("client_id"),
        credentials.c.dc == bindparam("dc"),
        credentials.c.zuid == bindparam("zuid"),
    )
)

#: One connection by id; execute with {"connection_id": ...}.
CONNECTION_BY_ID = select(connections).where(connections.c.id == bindparam("connection_id"))


#: Record a connection's last use; executemany with [{"cid", "at"}, ...].
TOUCH_CONNECTION = (
    update(connections)
    .where(connections.c.id == bindparam("cid"))
    .values(last_used_at=bindparam("at"))
)


def key_params(key: CredentialKey) -> dict[str, str]:
    return {"client_id": key.client_id, "dc": key.dc, "zuid": key.zuid}


def find_connections(email: str | None, org_id: str | None, client_id: str | None) -> Select[Any]:
    """Connections matching every given filter; email through the lower-cased index."""
    stmt = select(connections)
    if email is not None:
        stmt = stmt.where(connections.c.email_norm == normalize_email(email))
    if org_id is not None:
        stmt = stmt.where(connections.c.org_id == org_id)
    if client_id is not None:
        stmt = stmt.where(connections.c.client_id == client_id)
    return stmt.order_by(connections.c.created_at, connections.c.id)


def credentials_page(after: CredentialKey | None, batch: int) -> Select[Any]:
    """The next `batch` credentials after `after`, in key order (keyset pagination)."""
    c = credentials.c
    return (
        select(credentials).where(after_key(after)).order_by(c.client_id, c.dc, c.zuid).limit(batch)
    )


def acquire_lease(key: CredentialKey, owner: str, now: float, ttl: float) -> Update:
    """Take the lease if nobody holds it or the holder's lease has expired."""
    c = credentials.c
    return (
        update(credentials)
        .where(key_where(credentials, key), or_(c.lease_owner.is_(None), c.lease_expires_at < now))
        .values(lease_owner=owner, lease_expires_at=now + ttl)
    )


def release_lease(key: CredentialKey, owner: str) -> Update:
    """Release the lease, only if `owner` holds it."""
    return (
        update(credentials)
        .where(key_where(credentials, key), credentials.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


def save_refreshed(
    key: CredentialKey, owner: str, expected_version: int, now: float, **values: Any
) -> Update:
    """Write new token columns, bump the version, release the lease, end any throttle; only
    for the lease owner at the version it read."""
    return (
        update(credentials)
        .where(
            key_where(credentials, key),
            credentials.c.lease_owner == owner,
            credentials.c.version == expected_version,
        )
        .values(
            **values,
            refreshed_at=now,
            updated_at=now,
            version=credentials.c.version + 1,
            lease_owner=None,
            lease_expires_at=None,
            throttled_until=None,
        )
    )


def update_content(key: CredentialKey, now: float, **values: Any) -> Update:
    """Change what a credential says: bumps the version and `updated_at`."""
    return (
        update(credentials)
        .where(key_where(credentials, key))
        .values(**values, version=credentials.c.version + 1, updated_at=now)
    )


def credential_exists(key: CredentialKey) -> Select[Any]:
    return select(credentials.c.version).where(key_where(credentials, key))


def count_by_key_id() -> Select[Any]:
    return select(credentials.c.key_id, func.count()).group_by(credentials.c.key_id)


__all__ = [
    "CONNECTION_BY_ID",
    "CONNECTION_WITH_CREDENTIAL",
    "CREDENTIAL_BY_KEY",
    "JOIN_PREFIX",
    "TOUCH_CONNECTION",
    "acquire_lease",
    "after_key",
    "count_by_key_id",
    "credential_exists",
    "credentials_page",
    "find_connections",
    "key_params",
    "key_where",
    "release_lease",
    "save_refreshed",
    "update_content",
]
