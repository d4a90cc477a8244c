"""Every SQL statement the store runs, in one place (no I/O here): the store's reads and
writes, the login upsert, key rotation, and the schema-version read and lock of migrations.
Each one is a single indexed statement that stays O(log n) as the tables grow.

- lookups go through a primary key or an index: `pk_zohoauth_connections` (id), the credential
  primary key (client_id, dc, zuid), `ix_zohoauth_connections_email_norm` (email_norm, org_id);
- the lease statements are conditional UPDATEs whose matched-row count is the answer.

Statements of a fixed shape are built once, at import, with bind parameters: execute them with
`key_params(key)` or the names their comment gives. Those whose shape depends on the call
(filters, SET values) are built by pure functions. UPDATEs that find their row by credential
key are built per call: a bind parameter named after a column is reserved for that column's
SET value, so the key can't be bound by its column names there. The schema is `schema.py`;
DDL lives in the migrations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Table,
    TextClause,
    Update,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    table,
    text,
    true,
    update,
)

from ..credentials import CredentialKey
from .codec import normalize_email
from .schema import (
    VERSION_TABLE,
    audit,
    connections,
    credentials,
    pending_revocations,
    service_keys,
    webhook_deliveries,
    webhooks,
)

JOIN_PREFIX = "conn_"  # labels of the connection's columns in the joined hot-path query


def key_where(table: Table, key: CredentialKey) -> ColumnElement[bool]:
    """`client_id = ? AND dc = ? AND zuid = ?` on either table (both lead with the key)."""
    c: Any = table.c
    return and_(c.client_id == key.client_id, c.dc == key.dc, c.zuid == key.zuid)


def _key_bound(table: Table) -> ColumnElement[bool]:
    """`client_id = :client_id AND dc = :dc AND zuid = :zuid` (execute with `key_params`)."""
    c: Any = table.c
    return and_(
        c.client_id == bindparam("client_id"), c.dc == bindparam("dc"), c.zuid == bindparam("zuid")
    )


def key_params(key: CredentialKey) -> dict[str, str]:
    """The bind parameters of a statement built with the key bound (`*_OF_KEY`, `*_BY_KEY`)."""
    return {"client_id": key.client_id, "dc": key.dc, "zuid": key.zuid}


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

#: One credential by its key; execute with `key_params(key)`.
CREDENTIAL_BY_KEY = select(credentials).where(_key_bound(credentials))

#: One connection by id; execute with {"connection_id": ...}.
CONNECTION_BY_ID = select(connections).where(connections.c.id == bindparam("connection_id"))


#: Record a connection's last use; executemany with [{"cid", "at"}, ...].
TOUCH_CONNECTION = (
    update(connections)
    .where(connections.c.id == bindparam("cid"))
    .values(last_used_at=bindparam("at"))
)

#: A credential's connections, oldest first; execute with `key_params(key)`.
CONNECTIONS_OF_KEY = (
    select(connections)
    .where(_key_bound(connections))
    .order_by(connections.c.created_at, connections.c.id)
)

#: The status and version of a connection's credential, by connection id (no row: the
#: connection or its credential is gone): the token manager's check before a write and its
#: re-check of a cached token without a live change feed. Two primary-key lookups, no secret.
#: Execute with {"connection_id": ...}.
CONNECTION_STATE = (
    select(credentials.c.status, credentials.c.version)
    .select_from(
        connections.join(
            credentials,
            and_(
                connections.c.client_id == credentials.c.client_id,
                connections.c.dc == credentials.c.dc,
                connections.c.zuid == credentials.c.zuid,
            ),
        )
    )
    .where(connections.c.id == bindparam("connection_id"))
)

#: The version of a credential (is it there?); execute with `key_params(key)`.
CREDENTIAL_VERSION = select(credentials.c.version).where(_key_bound(credentials))

#: The same, locking the row until the transaction ends (no-op on SQLite, whose write
#: transactions are serialized already).
LOCK_CREDENTIAL = CREDENTIAL_VERSION.with_for_update()


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


#: Seconds after a refresh before the background refresher looks at the credential again,
#: unless it writes its own plan first (Zoho's floor between two refreshes of one token).
REPLAN_AFTER_REFRESH = 60.0


def hold_back(key: CredentialKey, owner: str, marker: str, until: float) -> Update:
    """Turn `owner`'s lease into a back-off: nobody refreshes before `until` (a lease held by
    `marker`, which no process owns, so it just expires); only if `owner` holds the lease."""
    return (
        update(credentials)
        .where(key_where(credentials, key), credentials.c.lease_owner == owner)
        .values(lease_owner=marker, lease_expires_at=until)
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
            # The background refresher re-plans from the new expiry (it writes the plan right
            # after its own refreshes; after an app's, it looks in a minute — no token is
            # refreshed sooner than that anyway, docs/zoho-reference.md §4).
            next_refresh_at=now + REPLAN_AFTER_REFRESH,
        )
    )


def update_content(key: CredentialKey, now: float, **values: Any) -> Update:
    """Change what a credential says: bumps the version and `updated_at`."""
    return (
        update(credentials)
        .where(key_where(credentials, key))
        .values(**values, version=credentials.c.version + 1, updated_at=now)
    )


def count_by_key_id() -> Select[Any]:
    return select(credentials.c.key_id, func.count()).group_by(credentials.c.key_id)


def count_pending_by_key_id() -> Select[Any]:
    """The same for replaced refresh tokens waiting to be revoked (they need their key too)."""
    p = pending_revocations.c
    return select(p.key_id, func.count()).group_by(p.key_id)


# -- saving a login (store/upsert.py) -------------------------------------------------------

#: One credential row, or many (executemany); execute with the row's columns.
INSERT_CREDENTIAL: Insert = insert(credentials)

#: One connection row, or many (executemany); execute with the row's columns.
INSERT_CONNECTION: Insert = insert(connections)

#: The keys of credentials whose zuid is one of `zuids` (one indexed lookup per zuid; the
#: caller keeps those of the right client and DC); execute with {"zuids": [...]}.
KEYS_WITH_ZUIDS = select(credentials.c.client_id, credentials.c.dc, credentials.c.zuid).where(
    credentials.c.zuid.in_(bindparam("zuids", expanding=True))
)

#: A credential's connections to any of `org_ids`; execute with `key_params(key)` and
#: {"org_ids": [...]}.
CONNECTIONS_OF_KEY_IN_ORGS = select(
    connections.c.id, connections.c.org_id, connections.c.created_at
).where(_key_bound(connections), connections.c.org_id.in_(bindparam("org_ids", expanding=True)))


def update_connection(connection_id: str, **values: Any) -> Update:
    """Change a connection's attributes (org name, email) in place; its id stays."""
    return update(connections).where(connections.c.id == connection_id).values(**values)


# -- deleting -------------------------------------------------------------------------------

#: Delete one connection; execute with {"connection_id": ...}.
DELETE_CONNECTION: Delete = delete(connections).where(
    connections.c.id == bindparam("connection_id")
)

#: Delete every connection of a credential; execute with `key_params(key)`.
DELETE_CONNECTIONS_OF_KEY: Delete = delete(connections).where(_key_bound(connections))

#: Delete a credential; execute with `key_params(key)`.
DELETE_CREDENTIAL: Delete = delete(credentials).where(_key_bound(credentials))

#: How many connections a credential has; execute with `key_params(key)`.
COUNT_CONNECTIONS_OF_KEY = (
    select(func.count()).select_from(connections).where(_key_bound(connections))
)


# -- key rotation (store/rotate.py) ---------------------------------------------------------


def rotation_page(active_kid: str, after: CredentialKey | None, batch: int) -> Select[Any]:
    """The next `batch` credentials after `after`, in key order, not under the active key:
    just what re-encrypting needs (key, ciphertext, key id, version)."""
    c = credentials.c
    return (
        select(c.client_id, c.dc, c.zuid, c.secret, c.key_id, c.version)
        .where(c.key_id != active_kid, after_key(after))
        .order_by(c.client_id, c.dc, c.zuid)
        .limit(batch)
    )


def reencrypt(
    key: CredentialKey, version: int, key_id: str, secret: str, active_kid: str
) -> Update:
    """Swap in the secret re-encrypted under `active_kid`, only if the row is still at the
    version and key id it was read with. The version is not bumped: the tokens are the same."""
    c = credentials.c
    return (
        update(credentials)
        .where(key_where(credentials, key), c.version == version, c.key_id == key_id)
        .values(secret=secret, key_id=active_kid)
    )


# -- the token service (zohoauth/service/) ---------------------------------------------------

#: One service key row; execute with its columns.
INSERT_SERVICE_KEY: Insert = insert(service_keys)

#: Every service key, oldest first (no secret is stored, only the keyed hash).
SERVICE_KEYS = select(service_keys).order_by(service_keys.c.created_at, service_keys.c.id)

#: The key whose hash is one of `hashes` (one per pepper the server holds); execute with
#: {"hashes": [...]}. Through the unique index on key_hash.
SERVICE_KEY_BY_HASHES = select(service_keys).where(
    service_keys.c.key_hash.in_(bindparam("hashes", expanding=True))
)

#: Revoke a key by id or name (still listed, never accepted again); execute with
#: {"ref": ..., "at": ...}.
REVOKE_SERVICE_KEY = (
    update(service_keys)
    .where(
        or_(service_keys.c.id == bindparam("ref"), service_keys.c.name == bindparam("ref")),
        service_keys.c.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("at"))
)

#: Record when keys were last used; executemany with [{"kid", "at"}, ...].
TOUCH_SERVICE_KEY = (
    update(service_keys)
    .where(service_keys.c.id == bindparam("kid"))
    .values(last_used_at=bindparam("at"))
)

#: How many usable (not revoked) service keys each pepper id hashed.
SERVICE_KEYS_BY_PEPPER = (
    select(service_keys.c.pepper_id, func.count())
    .where(service_keys.c.revoked_at.is_(None))
    .group_by(service_keys.c.pepper_id)
)

#: Store a key's hash under another pepper, only if it is still under the old one (a key made
#: under an older encryption key, re-hashed when next used); executemany with
#: [{"kid", "old", "new", "hash"}, ...].
REHASH_SERVICE_KEY = (
    update(service_keys)
    .where(service_keys.c.id == bindparam("kid"), service_keys.c.pepper_id == bindparam("old"))
    .values(key_hash=bindparam("hash"), pepper_id=bindparam("new"))
)

#: Audit rows; executemany with the rows' columns.
INSERT_AUDIT: Insert = insert(audit)


def audit_rows(
    key: str | None, connection_id: str | None, since: float | None, limit: int
) -> Select[Any]:
    """Audit rows, newest first, matching every given filter (`key`: a key id or name)."""
    c = audit.c
    stmt = select(audit)
    if key is not None:
        stmt = stmt.where(or_(c.key_id == key, c.key_name == key))
    if connection_id is not None:
        stmt = stmt.where(c.connection_id == connection_id)
    if since is not None:
        stmt = stmt.where(c.at >= since)
    return stmt.order_by(c.at.desc(), c.id.desc()).limit(limit)


#: Delete audit rows older than :before (epoch seconds), through the `at` index.
PRUNE_AUDIT: Delete = delete(audit).where(audit.c.at < bindparam("before"))


def connections_page(
    *,
    email: str | None,
    zuid: str | None,
    org_id: str | None,
    dc: str | None,
    client_id: str | None,
    ids: list[str] | None = None,
    after: str | None,
    limit: int,
    selection: Sequence[tuple[str, str]] | None = None,
) -> Select[Any]:
    """A page of connections with their credential's status, in id order (keyset paging
    after `after`), matching every given filter; `ids` restricts to those connections,
    `selection` to those a service key's (kind, value) selectors match (any one of them:
    the SQL form of `service.keys.selects`)."""
    cn = connections.c
    joined = connections.join(
        credentials,
        and_(
            cn.client_id == credentials.c.client_id,
            cn.dc == credentials.c.dc,
            cn.zuid == credentials.c.zuid,
        ),
    )
    stmt = select(connections, credentials.c.status).select_from(joined)
    if email is not None:
        stmt = stmt.where(cn.email_norm == normalize_email(email))
    if zuid is not None:
        stmt = stmt.where(cn.zuid == zuid)
    if org_id is not None:
        stmt = stmt.where(cn.org_id == org_id)
    if dc is not None:
        stmt = stmt.where(cn.dc == dc)
    if client_id is not None:
        stmt = stmt.where(cn.client_id == client_id)
    if ids is not None:
        stmt = stmt.where(cn.id.in_(ids))
    if selection:
        stmt = stmt.where(or_(*(_selector_clause(kind, value) for kind, value in selection)))
    if after is not None:
        stmt = stmt.where(cn.id > after)
    return stmt.order_by(cn.id).limit(limit)


def _selector_clause(kind: str, value: str) -> ColumnElement[bool]:
    """One service-key selector (canonical: dc, email and domain lower-cased) as SQL."""
    cn = connections.c
    if kind == "id":
        return cn.id == value
    if kind == "dc":
        return cn.dc == value
    if kind == "org":
        return cn.org_id == value
    if kind == "zuid":
        return cn.zuid == value
    if kind == "email":
        return cn.email_norm == value
    if kind == "domain":
        return cn.email_norm.endswith("@" + value, autoescape=True)
    raise ValueError(f"unknown connection selector kind {kind!r}")


#: One webhook endpoint; execute with its columns.
INSERT_WEBHOOK: Insert = insert(webhooks)

#: Every webhook endpoint, oldest first.
WEBHOOKS = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)

#: Remove an endpoint; execute with {"webhook_id": ...}.
DELETE_WEBHOOK: Delete = delete(webhooks).where(webhooks.c.id == bindparam("webhook_id"))

#: Outbox rows; executemany with the rows' columns.
INSERT_DELIVERY: Insert = insert(webhook_deliveries)


def webhooks_to_rotate(active_kid: str) -> Select[Any]:
    """The webhook endpoints whose secret is not under `active_kid` (key rotation)."""
    w = webhooks.c
    return select(w.id, w.secret, w.key_id).where(w.key_id != active_kid).order_by(w.id)


def reencrypt_webhook(webhook_id: str, key_id: str, secret: str, active_kid: str) -> Update:
    """Swap in a webhook secret re-encrypted under `active_kid`, only if still under `key_id`."""
    w = webhooks.c
    return (
        update(webhooks)
        .where(w.id == webhook_id, w.key_id == key_id)
        .values(secret=secret, key_id=active_kid)
    )


def claim_deliveries(ids: list[str], owner: str, now: float, ttl: float) -> Update:
    """Take the delivery lease on due, pending rows among `ids` (another worker's live lease
    keeps them out): the matched-row count says how many this worker may send."""
    d = webhook_deliveries.c
    return (
        update(webhook_deliveries)
        .where(
            d.id.in_(ids),
            d.state == "pending",
            d.next_attempt_at <= now,
            or_(d.lease_owner.is_(None), d.lease_expires_at < now),
        )
        .values(lease_owner=owner, lease_expires_at=now + ttl)
    )


def due_deliveries(now: float, limit: int) -> Select[Any]:
    """The ids of pending deliveries due by `now`, oldest first (the `due` index)."""
    d = webhook_deliveries.c
    return (
        select(d.id)
        .where(d.state == "pending", d.next_attempt_at <= now)
        .order_by(d.next_attempt_at)
        .limit(limit)
    )


def claimed_deliveries(owner: str) -> Select[Any]:
    """The pending deliveries `owner` holds the lease of, with their endpoint."""
    return (
        select(webhook_deliveries, webhooks.c.url, webhooks.c.secret.label("webhook_secret"))
        .select_from(
            webhook_deliveries.join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        )
        .where(
            webhook_deliveries.c.lease_owner == owner,
            webhook_deliveries.c.state == "pending",
        )
    )


def finish_delivery(delivery_id: str, owner: str, **values: Any) -> Update:
    """Record an attempt's outcome and release the lease, only for the lease owner."""
    d = webhook_deliveries.c
    return (
        update(webhook_deliveries)
        .where(d.id == delivery_id, d.lease_owner == owner)
        .values(**values, lease_owner=None, lease_expires_at=None)
    )


def deliveries_log(webhook_id: str | None, limit: int) -> Select[Any]:
    """The delivery log, newest first."""
    d = webhook_deliveries.c
    stmt = select(webhook_deliveries)
    if webhook_id is not None:
        stmt = stmt.where(d.webhook_id == webhook_id)
    return stmt.order_by(d.created_at.desc(), d.id.desc()).limit(limit)


# -- the background refresher (zohoauth/refresher/) ------------------------------------------

#: The last use of any of a credential's connections (NULL: never used), for the row it is
#: correlated with: through the connections' (client_id, dc, zuid, org_id) unique index.
_LAST_USED = (
    select(func.max(connections.c.last_used_at))
    .where(
        connections.c.client_id == credentials.c.client_id,
        connections.c.dc == credentials.c.dc,
        connections.c.zuid == credentials.c.zuid,
    )
    .scalar_subquery()
    .label("last_used_at")
)

#: Claim due work: up to :limit active credentials whose plan time has come and whose lease is
#: free or expired, earliest first, locked until the claiming transaction ends. SKIP LOCKED
#: (PostgreSQL, MySQL 8, MariaDB 10.6) lets concurrent workers take disjoint batches without
#: waiting; SQLite renders no FOR UPDATE (its BEGIN IMMEDIATE serializes claimers instead).
#: One range scan of `ix_zohoauth_credentials_due` whatever the table's size. Execute with
#: {"status": "active", "now": ..., "limit": ...}.
CLAIM_DUE = (
    select(credentials, _LAST_USED)
    .where(
        credentials.c.status == bindparam("status"),
        credentials.c.next_refresh_at <= bindparam("now"),
        or_(
            credentials.c.lease_owner.is_(None),
            credentials.c.lease_expires_at < bindparam("now"),
        ),
    )
    .order_by(credentials.c.next_refresh_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


def _key_bound_as(prefix: str) -> ColumnElement[bool]:
    """The credential key bound as `<prefix>client_id` etc. (for UPDATEs: see the module doc)."""
    c = credentials.c
    return and_(
        c.client_id == bindparam(prefix + "client_id"),
        c.dc == bindparam(prefix + "dc"),
        c.zuid == bindparam(prefix + "zuid"),
    )


def claim_params(key: CredentialKey) -> dict[str, str]:
    """The key's bind parameters for `TAKE_CLAIMED_LEASE` and `FINISH_CLAIM`."""
    return {"k_client_id": key.client_id, "k_dc": key.dc, "k_zuid": key.zuid}


#: Take the refresh lease (the request path's own, `acquire_lease`) on a row just locked by
#: CLAIM_DUE, in the same transaction; executemany with [{**claim_params(key), "owner",
#: "until"}]. The version is not bumped (taking a lease changes nothing a credential says).
TAKE_CLAIMED_LEASE = (
    update(credentials)
    .where(_key_bound_as("k_"))
    .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("until"))
)

#: Write a credential's next plan time and release the refresher's lease if it still holds it
#: (a refresh already released it; then only the plan is written). A row whose lease someone
#: else took since matches nothing and keeps its plan (0 after their refresh: re-planned).
#: Executemany with [{**claim_params(key), "owner", "at"}].
FINISH_CLAIM = (
    update(credentials)
    .where(
        _key_bound_as("k_"),
        or_(credentials.c.lease_owner.is_(None), credentials.c.lease_owner == bindparam("owner")),
    )
    .values(next_refresh_at=bindparam("at"), lease_owner=None, lease_expires_at=None)
)

#: The earliest plan time among planned active credentials (the refresher's lag is how far
#: `now` is past it); one seek into `ix_zohoauth_credentials_due`. Execute with
#: {"status": "active", "unplanned": 0} (0 marks rows not planned yet).
EARLIEST_DUE = select(func.min(credentials.c.next_refresh_at)).where(
    credentials.c.status == bindparam("status"),
    credentials.c.next_refresh_at > bindparam("unplanned"),
)


# -- change notices (store/changes.py), PostgreSQL only ----------------------------------------

#: The channel on which a transaction that ends or replaces a credential or connection tells
#: every process (LISTEN/NOTIFY).
CHANGES_CHANNEL = "zohoauth_changes"

#: Send one notice inside the current transaction (delivered at commit); execute with
#: {"notice": ...}.
NOTIFY_CHANGE = text("SELECT pg_notify('zohoauth_changes', :notice)")

#: The same for the feed's own asyncpg connection (its test notice): $1 channel, $2 notice.
PG_NOTIFY = "SELECT pg_notify($1, $2)"


# -- migrations (store/migrate.py) ----------------------------------------------------------

_alembic_version = table(VERSION_TABLE, column("version_num"))

#: The schema revision(s) recorded in zohoauth's own Alembic version table.
SCHEMA_REVISION = select(_alembic_version.c.version_num)

#: "zohoauth": the PostgreSQL advisory lock id that lets one migrator through at a time.
MIGRATION_LOCK_ID = 0x7A6F686F61757468

#: Per dialect, the statement that waits for the migration lock (SQLite needs none: its
#: write transaction's BEGIN IMMEDIATE already serializes). PostgreSQL's is transaction-level;
#: MySQL's is session-level, released when the migration's connection closes.
MIGRATION_LOCKS: dict[str, TextClause] = {
    "postgresql": text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=MIGRATION_LOCK_ID),
    "mysql": text("SELECT GET_LOCK('zohoauth_migrate', 120)"),
}


__all__ = [
    "CHANGES_CHANNEL",
    "CLAIM_DUE",
    "CONNECTIONS_OF_KEY",
    "CONNECTIONS_OF_KEY_IN_ORGS",
    "CONNECTION_BY_ID",
    "CONNECTION_STATE",
    "CONNECTION_WITH_CREDENTIAL",
    "COUNT_CONNECTIONS_OF_KEY",
    "CREDENTIAL_BY_KEY",
    "CREDENTIAL_VERSION",
    "DELETE_CONNECTION",
    "DELETE_CONNECTIONS_OF_KEY",
    "DELETE_CREDENTIAL",
    "DELETE_WEBHOOK",
    "EARLIEST_DUE",
    "FINISH_CLAIM",
    "INSERT_AUDIT",
    "INSERT_CONNECTION",
    "INSERT_CREDENTIAL",
    "INSERT_DELIVERY",
    "INSERT_SERVICE_KEY",
    "INSERT_WEBHOOK",
    "JOIN_PREFIX",
    "KEYS_WITH_ZUIDS",
    "LOCK_CREDENTIAL",
    "MIGRATION_LOCKS",
    "MIGRATION_LOCK_ID",
    "NOTIFY_CHANGE",
    "PG_NOTIFY",
    "PRUNE_AUDIT",
    "REHASH_SERVICE_KEY",
    "REPLAN_AFTER_REFRESH",
    "REVOKE_SERVICE_KEY",
    "SCHEMA_REVISION",
    "SERVICE_KEYS",
    "SERVICE_KEYS_BY_PEPPER",
    "SERVICE_KEY_BY_HASHES",
    "TAKE_CLAIMED_LEASE",
    "TOUCH_CONNECTION",
    "TOUCH_SERVICE_KEY",
    "WEBHOOKS",
    "acquire_lease",
    "after_key",
    "audit_rows",
    "claim_deliveries",
    "claim_params",
    "claimed_deliveries",
    "connections_page",
    "count_by_key_id",
    "credentials_page",
    "deliveries_log",
    "due_deliveries",
    "find_connections",
    "finish_delivery",
    "hold_back",
    "key_params",
    "key_where",
    "reencrypt",
    "reencrypt_webhook",
    "release_lease",
    "rotation_page",
    "save_refreshed",
    "update_connection",
    "update_content",
    "webhooks_to_rotate",
]


# -- refresh tokens a re-login replaced (store/upsert.py, zohoauth/revocations.py) ----------

#: The stored secret of a credential, locking the row until the transaction ends, so two
#: re-logins of one user each see (and queue) the token the other replaced; execute with
#: `key_params(key)`.
CREDENTIAL_SECRET_FOR_UPDATE = (
    select(credentials.c.secret).where(_key_bound(credentials)).with_for_update()
)

#: One pending revocation; execute with its columns.
INSERT_PENDING_REVOCATION: Insert = insert(pending_revocations)

#: Forget a pending revocation (revoked, dead at Zoho, or given up); execute with {"rid": ...}.
DELETE_PENDING_REVOCATION: Delete = delete(pending_revocations).where(
    pending_revocations.c.id == bindparam("rid")
)


def pending_revocations_page(
    *,
    now: float,
    due_by: float | None,
    dc: str | None = None,
    key: CredentialKey | None = None,
    limit: int = 100,
) -> Select[Any]:
    """Pending revocations no process is trying at `now`, the longest-waiting first: those due
    by `due_by` (None: whatever their back-off, as when the accounts server is known to answer
    again), of one DC or one credential if given."""
    p = pending_revocations.c
    stmt = select(pending_revocations).where(or_(p.claimed_until.is_(None), p.claimed_until < now))
    if due_by is not None:
        stmt = stmt.where(p.next_attempt_at <= due_by)
    if dc is not None:
        stmt = stmt.where(p.dc == dc)
    if key is not None:
        stmt = stmt.where(key_where(pending_revocations, key))
    return stmt.order_by(p.next_attempt_at, p.id).limit(limit)


def claim_revocation(row_id: str, attempts: int, now: float, until: float) -> Update:
    """Count an attempt and keep other processes off the row until `until`, only if the row is
    still at `attempts` and nobody else's claim is running: the matched-row count says
    whether this process may try it. A claimer that dies only delays the row until `until`."""
    p = pending_revocations.c
    return (
        update(pending_revocations)
        .where(
            p.id == row_id,
            p.attempts == attempts,
            or_(p.claimed_until.is_(None), p.claimed_until < now),
        )
        .values(attempts=p.attempts + 1, claimed_until=until)
    )


def reschedule_revocation(row_id: str, attempts: int, at: float) -> Update:
    """After a failed attempt: release the claim, try again at `at` (only the claimer, whose
    claim left the row at `attempts`)."""
    p = pending_revocations.c
    return (
        update(pending_revocations)
        .where(p.id == row_id, p.attempts == attempts)
        .values(next_attempt_at=at, claimed_until=None)
    )


def pending_rotation_page(active_kid: str, after: str | None, batch: int) -> Select[Any]:
    """The next `batch` pending revocations after id `after` not under the active key."""
    p = pending_revocations.c
    stmt = select(p.id, p.client_id, p.dc, p.zuid, p.secret, p.key_id).where(p.key_id != active_kid)
    if after is not None:
        stmt = stmt.where(p.id > after)
    return stmt.order_by(p.id).limit(batch)


def reencrypt_pending(row_id: str, key_id: str, secret: str, active_kid: str) -> Update:
    """Swap in the re-encrypted token, only if the row is still under the key it was read with."""
    p = pending_revocations.c
    return (
        update(pending_revocations)
        .where(p.id == row_id, p.key_id == key_id)
        .values(secret=secret, key_id=active_kid)
    )


__all__ += [
    "CREDENTIAL_SECRET_FOR_UPDATE",
    "DELETE_PENDING_REVOCATION",
    "INSERT_PENDING_REVOCATION",
    "claim_revocation",
    "count_pending_by_key_id",
    "pending_revocations_page",
    "pending_rotation_page",
    "reencrypt_pending",
    "reschedule_revocation",
]
