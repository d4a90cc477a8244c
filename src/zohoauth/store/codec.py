"""Rows to records and back: the only place a token is put into or taken out of a ciphertext.

The secret column holds `encrypt(json{refresh_token, access_token}, aad=CredentialKey.aad)`:
both tokens in one blob, bound to the row's key, so a ciphertext copied to another row (or a
row re-keyed by hand) refuses to decrypt. Everything else in a row is plain metadata.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from ..credentials import Connection, Credential, CredentialKey, PendingRevocation, Status, TokenSet
from ..crypto import KeyRing
from ..errors import DecryptionError

CONNECTION_ID_PREFIX = "conn_"
PENDING_REVOCATION_PREFIX = "rvk_"


def new_connection_id() -> str:
    """An opaque, unguessable connection id: `conn_` + 22 urlsafe chars (128 random bits)."""
    return CONNECTION_ID_PREFIX + secrets.token_urlsafe(16)


def normalize_email(email: str) -> str:
    """The form emails are indexed and compared in (case-insensitive, as Zoho treats them)."""
    return email.strip().lower()


def encrypt_tokens(keyring: KeyRing, key: CredentialKey, tokens: TokenSet) -> str:
    payload = {"refresh_token": tokens.refresh_token, "access_token": tokens.access_token}
    return keyring.encrypt(json.dumps(payload, separators=(",", ":")).encode(), key.aad)


def decrypt_tokens(keyring: KeyRing, key: CredentialKey, blob: str, expires_at: float) -> TokenSet:
    plaintext = keyring.decrypt(blob, key.aad)
    try:
        payload = json.loads(plaintext)
        refresh_token = payload["refresh_token"]
        access_token = payload["access_token"]
    except (ValueError, KeyError, TypeError):
        raise DecryptionError(
            f"stored secret of credential {key} decrypted but is not a token record"
        ) from None
    if not isinstance(refresh_token, str) or not isinstance(access_token, str | None):
        raise DecryptionError(f"stored secret of credential {key} has an unexpected shape")
    return TokenSet(refresh_token, access_token, float(expires_at))


def new_pending_revocation_id() -> str:
    """A pending revocation's id: `rvk_` + 22 urlsafe chars."""
    return PENDING_REVOCATION_PREFIX + secrets.token_urlsafe(16)


def revocation_aad(row_id: str, key: CredentialKey) -> bytes:
    """Associated data of a replaced refresh token: its row id and whose it was, so the
    ciphertext opens only in its own row (never as a credential's secret, nor vice versa)."""
    return b"pending-revocation:" + row_id.encode() + b":" + key.aad


def encrypt_replaced(keyring: KeyRing, row_id: str, key: CredentialKey, token: str) -> str:
    return keyring.encrypt(token.encode(), revocation_aad(row_id, key))


def pending_revocation_from_row(keyring: KeyRing, row: Mapping[Any, Any]) -> PendingRevocation:
    """Decrypt one `zohoauth_pending_revocations` row (DecryptionError if it won't open)."""
    key = key_of(row)
    token = keyring.decrypt(row["secret"], revocation_aad(row["id"], key)).decode()
    return PendingRevocation(
        id=row["id"],
        key=key,
        refresh_token=token,
        created_at=float(row["created_at"]),
        attempts=int(row["attempts"]),
        next_attempt_at=float(row["next_attempt_at"]),
    )


def encode_scopes(scopes: Sequence[str]) -> str:
    return json.dumps(list(scopes))


def key_of(row: Mapping[Any, Any]) -> CredentialKey:
    return CredentialKey(row["client_id"], row["dc"], row["zuid"])


def credential_from_row(keyring: KeyRing, row: Mapping[Any, Any]) -> Credential:
    """Decrypt one `zohoauth_credentials` row (DecryptionError if it won't open)."""
    key = key_of(row)
    return Credential(
        key=key,
        email=row["email"],
        tokens=decrypt_tokens(keyring, key, row["secret"], row["expires_at"]),
        api_domain=row["api_domain"],
        scopes=tuple(json.loads(row["scopes"])),
        status=Status(row["status"]),
        version=int(row["version"]),
        refreshed_at=row["refreshed_at"],
        throttled_until=row["throttled_until"],
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        lease_owner=row.get("lease_owner"),
        lease_expires_at=_opt_float(row.get("lease_expires_at")),
    )


def connection_from_row(row: Mapping[Any, Any], prefix: str = "") -> Connection:
    """A `zohoauth_connections` row (columns optionally labelled `<prefix>name` in a join)."""
    return Connection(
        id=row[prefix + "id"],
        credential=CredentialKey(
            row[prefix + "client_id"], row[prefix + "dc"], row[prefix + "zuid"]
        ),
        org_id=row[prefix + "org_id"],
        org_name=row[prefix + "org_name"],
        email=row[prefix + "email"],
        created_at=float(row[prefix + "created_at"]),
        last_used_at=_opt_float(row.get(prefix + "last_used_at")),
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def webhook_secret_aad(webhook_id: str) -> bytes:
    """The associated data of a webhook's encrypted signing secret (the token service's): its
    endpoint id, so a secret copied to another endpoint's row does not decrypt."""
    return f"zohoauth.webhook\x00{webhook_id}".encode()


__all__ = [
    "connection_from_row",
    "credential_from_row",
    "decrypt_tokens",
    "encode_scopes",
    "encrypt_replaced",
    "encrypt_tokens",
    "new_connection_id",
    "new_pending_revocation_id",
    "normalize_email",
    "pending_revocation_from_row",
    "revocation_aad",
    "webhook_secret_aad",
]
