"""The emulated Zoho's records: orgs, users, clients, grant codes and tokens.

Plain mutable dataclasses: the emulator runs on one event loop and mutates them between awaits,
so no locks are needed (Starlette runs `async def` endpoints on the loop thread).
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field


def zoho_token() -> str:
    """A token, code or secret shaped like Zoho's: `1000.<32 hex>.<32 hex>`."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


@dataclass(slots=True)
class Org:
    """A CRM org. `zgid` is what the official SDK and zohoauth call the org id."""

    zgid: str
    id: str  # the org record id, distinct from zgid as at Zoho
    company_name: str
    dc: str
    domain_name: str
    primary_email: str
    primary_zuid: str
    edition: str = "Enterprise"
    type: str = "Production"
    time_zone: str = "GMT"
    currency: str = "USD"
    country_code: str = "US"


@dataclass(slots=True)
class User:
    """A Zoho account in one DC, a member of one or more orgs."""

    zuid: str
    email: str
    first_name: str
    last_name: str
    dc: str
    orgs: list[str]  # zgids; the first is the default org
    crm_user_ids: dict[str, str] = field(default_factory=dict)  # zgid -> CRM user record id
    role: str = "CEO"
    profile: str = "Administrator"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True)
class Client:
    """An API-console client with Multi-DC on: one client id in every DC, and a secret that is
    common to all DCs or unique per DC, as the owner chose in the console (docs/zoho-reference.md
    §Data centres). A DC in `client_secrets` uses its own secret, the others the common one; a
    client with no common secret works only in the DCs it has a secret for.
    """

    client_id: str
    client_secret: str | None  # common to every DC without a secret of its own
    redirect_uris: list[str]
    name: str = "client"
    client_secrets: dict[str, str] = field(default_factory=dict)  # dc -> that DC's own secret

    def secret_for(self, dc: str) -> str | None:
        """The secret the token endpoint of `dc` expects; None if the client is not on there."""
        return self.client_secrets.get(dc, self.client_secret)


@dataclass(slots=True)
class GrantCode:
    code: str
    client_id: str
    zuid: str
    dc: str
    scopes: tuple[str, ...]
    access_type: str  # "online" | "offline"
    redirect_uri: str | None  # None for Self Client codes (exchanged without redirect_uri)
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    used: bool = False
    # Whether exchanging an offline code yields a refresh token: only on first consent or with
    # prompt=consent [docs/zoho-reference.md §1] (see grants.authorize); Self
    # Client codes always do.
    issue_refresh: bool = True


@dataclass(slots=True)
class IssuedRefreshToken:
    """A refresh token as Zoho keeps it: who it was issued to, and what it has minted since."""

    token: str
    client_id: str
    zuid: str
    dc: str
    scopes: tuple[str, ...]
    created_at: float
    mint_times: deque[float] = field(default_factory=deque)  # access tokens minted (throttle)
    access_tokens: deque[str] = field(default_factory=deque)  # live, oldest first


@dataclass(slots=True)
class IssuedAccessToken:
    """An access token as Zoho keeps it. "Issued": Zoho's record of a token, not the token a
    client holds (zohoauth's own `AccessToken` is that; the emulator shares no names with it)."""

    token: str
    client_id: str
    zuid: str
    dc: str
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None  # None for access_type=online
