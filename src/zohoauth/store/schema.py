"""The token store's tables, as SQLAlchemy Core (the Alembic migrations create the same).

The token tables, all prefixed `zohoauth_` so they can live in an app's own database:

- `zohoauth_credentials`, keyed `(client_id, dc, zuid)`: one user of one client in one DC. The
  refresh and access tokens live only in `secret` (AES-GCM, see `crypto.py`), with `key_id` next
  to it so rotation can find old rows without decrypting. Lease, version and throttle columns are
  the cross-process half of "refresh exactly once".
- `zohoauth_connections`: a credential plus one CRM org, named by an opaque id
  (`conn_<22 urlsafe chars>`) that stays stable across re-logins.

The token service (`zohoauth.service`, revision 0003s) adds four more: `zohoauth_service_keys`
(only a keyed hash of each key), `zohoauth_audit` (who got which token, never the token),
`zohoauth_webhooks` (endpoints; their signing secret encrypted like tokens) and
`zohoauth_webhook_deliveries` (the outbox and delivery log, so deliveries survive a restart).

Revision 0004 adds `zohoauth_pending_revocations`: refresh tokens a re-login replaced, kept
(encrypted like tokens) only until Zoho confirms their revocation (`zohoauth/revocations.py`).

Times are epoch seconds in DOUBLE columns: portable across SQLite, PostgreSQL and MySQL, no
time-zone surprises. On MySQL the tables use `utf8mb4_bin` so keys and ids compare exactly
(the default collation is case-insensitive, which would merge `conn_aB` and `conn_Ab`); email
lookups use the separate lower-cased `email_norm` column instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

VERSION_TABLE = "zohoauth_alembic_version"
#: The Alembic revision this code needs; keep equal to the newest script in migrations/versions
#: (tests/store/test_migrations.py checks it). Opening a store compares against it.
HEAD_REVISION = "0005w"

# Sized so the 4-column unique key fits InnoDB's 3072-byte limit in utf8mb4.
CLIENT_ID_LEN = 128
DC_LEN = 16
ZUID_LEN = 64
ORG_ID_LEN = 64
EMAIL_LEN = 320
CONNECTION_ID_LEN = 40

MYSQL_TABLE_ARGS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData()

credentials = Table(
    "zohoauth_credentials",
    metadata,
    Column("client_id", String(CLIENT_ID_LEN), nullable=False),
    Column("dc", String(DC_LEN), nullable=False),
    Column("zuid", String(ZUID_LEN), nullable=False),
    Column("email", String(EMAIL_LEN), nullable=False),
    Column("api_domain", String(255), nullable=False),
    Column("scopes", Text, nullable=False),  # JSON list of scope names
    Column("secret", Text, nullable=False),  # encrypted JSON {refresh_token, access_token}
    Column("key_id", String(32), nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_expires_at", Double, nullable=True),
    Column("throttled_until", Double, nullable=True),
    Column("refreshed_at", Double, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # revision 0005w: when the background refresher (zohoauth.refresher) looks at it next; 0 =
    # "plan me" (new rows); every refresh sets it a minute on, so the plan follows the expiry.
    Column("next_refresh_at", Double, nullable=False, server_default="0"),
    PrimaryKeyConstraint("client_id", "dc", "zuid", name="pk_zohoauth_credentials"),
    Index("ix_zohoauth_credentials_key_id", "key_id"),
    Index("ix_zohoauth_credentials_due", "status", "next_refresh_at"),
    **MYSQL_TABLE_ARGS,
)

connections = Table(
    "zohoauth_connections",
    metadata,
    Column("id", String(CONNECTION_ID_LEN), nullable=False),
    Column("client_id", String(CLIENT_ID_LEN), nullable=False),
    Column("dc", String(DC_LEN), nullable=False),
    Column("zuid", String(ZUID_LEN), nullable=False),
    Column("org_id", String(ORG_ID_LEN), nullable=False),
    Column("org_name", String(255), nullable=False),
    Column("email", String(EMAIL_LEN), nullable=False),
    Column("email_norm", String(EMAIL_LEN), nullable=False),  # email.lower(), indexed
    Column("created_at", Double, nullable=False),
    Column("last_used_at", Double, nullable=True),  # revision 0002
    PrimaryKeyConstraint("id", name="pk_zohoauth_connections"),
    UniqueConstraint("client_id", "dc", "zuid", "org_id", name="uq_zohoauth_connections_key_org"),
    ForeignKeyConstraint(
        ["client_id", "dc", "zuid"],
        [credentials.c.client_id, credentials.c.dc, credentials.c.zuid],
        name="fk_zohoauth_connections_credential",
        ondelete="CASCADE",
    ),
    Index("ix_zohoauth_connections_email_norm", "email_norm", "org_id"),
    Index("ix_zohoauth_connections_org_id", "org_id"),
    **MYSQL_TABLE_ARGS,
)

# -- the token service (revision 0003s) ------------------------------------------------------

SERVICE_KEY_ID_LEN = 40

service_keys = Table(
    "zohoauth_service_keys",
    metadata,
    Column("id", String(SERVICE_KEY_ID_LEN), nullable=False),  # skey_<hex>, shown in lists
    Column("name", String(128), nullable=False),
    Column("key_hash", String(64), nullable=False),  # hex HMAC-SHA256(pepper, key)
    Column("pepper_id", String(32), nullable=False),  # which pepper made key_hash
    Column("scope", String(16), nullable=False),
    Column("connections", Text, nullable=False),  # JSON list of connection ids; [] = all
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
    Column("last_used_at", Double, nullable=True),
    PrimaryKeyConstraint("id", name="pk_zohoauth_service_keys"),
    UniqueConstraint("key_hash", name="uq_zohoauth_service_keys_hash"),
    **MYSQL_TABLE_ARGS,
)

audit = Table(
    "zohoauth_audit",
    metadata,
    Column("id", String(32), nullable=False),
    Column("at", Double, nullable=False),
    Column("key_id", String(SERVICE_KEY_ID_LEN), nullable=False),
    Column("key_name", String(128), nullable=False),
    Column("connection_id", String(CONNECTION_ID_LEN), nullable=True),
    Column("action", String(32), nullable=False),  # token, refresh, proxy, delete, ...
    Column("outcome", String(64), nullable=False),  # ok, or the error code answered
    Column("detail", String(255), nullable=False),  # e.g. "GET crm/v8/Leads -> 200"
    PrimaryKeyConstraint("id", name="pk_zohoauth_audit"),
    Index("ix_zohoauth_audit_at", "at"),
    Index("ix_zohoauth_audit_key", "key_id", "at"),
    Index("ix_zohoauth_audit_connection", "connection_id", "at"),
    **MYSQL_TABLE_ARGS,
)

webhooks = Table(
    "zohoauth_webhooks",
    metadata,
    Column("id", String(SERVICE_KEY_ID_LEN), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # comma-separated event names
    Column("secret", Text, nullable=False),  # encrypted with the key ring
    Column("key_id", String(32), nullable=False),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("id", name="pk_zohoauth_webhooks"),
    **MYSQL_TABLE_ARGS,
)

webhook_deliveries = Table(
    "zohoauth_webhook_deliveries",
    metadata,
    Column("id", String(SERVICE_KEY_ID_LEN), nullable=False),
    Column("webhook_id", String(SERVICE_KEY_ID_LEN), nullable=False),
    Column("event", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body, exactly as signed and sent
    Column("created_at", Double, nullable=False),
    Column("state", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Double, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(255), nullable=True),
    Column("delivered_at", Double, nullable=True),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_expires_at", Double, nullable=True),
    PrimaryKeyConstraint("id", name="pk_zohoauth_webhook_deliveries"),
    Index("ix_zohoauth_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_zohoauth_webhook_deliveries_created", "created_at"),
    **MYSQL_TABLE_ARGS,
)

# -- refresh tokens a re-login replaced (revision 0004) --------------------------------------

PENDING_REVOCATION_ID_LEN = 40

pending_revocations = Table(
    "zohoauth_pending_revocations",
    metadata,
    Column("id", String(PENDING_REVOCATION_ID_LEN), nullable=False),  # rvk_<urlsafe>
    # Whose token (logs, the ciphertext's associated data) and which DC's accounts server
    # revokes it.
    Column("client_id", String(CLIENT_ID_LEN), nullable=False),
    Column("dc", String(DC_LEN), nullable=False),
    Column("zuid", String(ZUID_LEN), nullable=False),
    Column("secret", Text, nullable=False),  # the refresh token, encrypted (codec.py)
    Column("key_id", String(32), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("attempts", Integer, nullable=False),  # revocations tried; also the claim's version
    Column("next_attempt_at", Double, nullable=False),  # the back-off: not retried before this
    Column("claimed_until", Double, nullable=True),  # one process is trying it until then
    PrimaryKeyConstraint("id", name="pk_zohoauth_pending_revocations"),
    Index("ix_zohoauth_pending_revocations_due", "next_attempt_at"),
    **MYSQL_TABLE_ARGS,
)


__all__ = [
    "HEAD_REVISION",
    "VERSION_TABLE",
    "audit",
    "connections",
    "credentials",
    "metadata",
    "pending_revocations",
    "service_keys",
    "webhook_deliveries",
    "webhooks",
]
