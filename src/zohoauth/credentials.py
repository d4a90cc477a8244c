"""The records zohoauth keeps: credentials (per user and client, in one DC) and connections.

Zoho issues tokens to a user (zuid) for a client in one data center, so the *credential* is
keyed `(client_id, dc, zuid)` and holds the refresh token, the current access token and the
refresh lease. A *connection* is a credential plus one CRM org (`org_id` = zgid): a user in two
orgs has two connections sharing one credential, refreshed once for both.

A *login* is what signing in (or an import) hands the store to keep: the credential's content
and the orgs it connects. Everything here is a frozen value; the decisions are pure functions
(`needs_refresh`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """A credential's health, as apps and the CLI show it."""

    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"  # the grant is gone: the user must log in again
    # A revocation was asked for but Zoho did not confirm it: the grant may still be live, so
    # the record stays (to revoke again, or for the user to remove the app at Zoho) and no
    # token is served from it. Logging in again makes it active.
    REVOKE_PENDING = "revoke_pending"


@dataclass(frozen=True, slots=True)
class CredentialKey:
    """Who the tokens belong to: one user of one client in one DC."""

    client_id: str
    dc: str
    zuid: str

    def __str__(self) -> str:
        return f"{self.client_id}:{self.dc}:{self.zuid}"

    @property
    def aad(self) -> bytes:
        """Associated data for encryption: a ciphertext only opens in its own row."""
        return str(self).encode()


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The secret part of a credential (encrypted at rest as one blob)."""

    refresh_token: str = field(repr=False)
    access_token: str | None = field(repr=False)
    expires_at: float  # epoch seconds; 0 when there is no access token


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored credential, decrypted."""

    key: CredentialKey
    email: str
    tokens: TokenSet
    api_domain: str
    scopes: tuple[str, ...]
    status: Status
    version: int  # bumped by every write; a stale writer's conditional UPDATE matches nothing
    refreshed_at: float | None = None
    throttled_until: float | None = None  # Zoho's "Access Denied": no refresh before this
    created_at: float = 0.0
    updated_at: float = 0.0
    # The refresh lease as read: its holder, or a back-off after a failed refresh (a holder
    # named `~backoff:<seconds>`, see `manager.py`), and when it ends.
    lease_owner: str | None = None
    lease_expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    """A credential plus one CRM org; what an app, a session or a script works with."""

    id: str  # opaque and stable across re-logins (the web session names only this)
    credential: CredentialKey
    org_id: str  # the org's zgid, sent as X-CRM-ORG
    org_name: str
    email: str
    created_at: float = 0.0
    last_used_at: float | None = None  # recorded at most once a minute (TokenManager)

    @property
    def dc(self) -> str:
        return self.credential.dc

    @property
    def zuid(self) -> str:
        return self.credential.zuid


@dataclass(frozen=True, slots=True)
class OrgInfo:
    """An org the user belongs to, from identity lookup."""

    org_id: str
    org_name: str


@dataclass(frozen=True, slots=True)
class Login:
    """What one login stores: the credential's content and the orgs it connects.

    From Login with Zoho, `connect_org`, the official SDK's tokens or an import; the store
    upserts the credential in place and one connection per org (`TokenStore.save_login`).
    """

    key: CredentialKey
    email: str
    tokens: TokenSet = field(repr=False)
    api_domain: str
    scopes: tuple[str, ...]
    orgs: tuple[OrgInfo, ...]


@dataclass(frozen=True, slots=True)
class PendingRevocation:
    """A refresh token a re-login replaced, waiting to be revoked at Zoho (decrypted).

    `attempts` counts revocations tried (a claim counts one); it is also the row's version:
    claiming and rescheduling are conditional on it, so two processes never both claim it.
    """

    id: str
    key: CredentialKey  # whose token it was, and the DC whose accounts server revokes it
    refresh_token: str = field(repr=False)
    created_at: float = 0.0
    attempts: int = 0
    next_attempt_at: float = 0.0


def needs_refresh(tokens: TokenSet, now: float, skew: float) -> bool:
    """True when there is no access token or it expires within `skew` seconds."""
    return tokens.access_token is None or tokens.expires_at - skew <= now
