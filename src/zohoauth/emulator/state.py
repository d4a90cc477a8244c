"""Everything the emulated Zoho knows, in one object that the routes share.

The Accounts routes (`accounts.py`) mint and revoke tokens here, the CRM routes (`crm/`) read
`authenticate()` and the records, and the admin API (`admin.py`) inspects and resets it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .clock import VirtualClock
from .config import EmulatorConfig
from .model import Client, GrantCode, IssuedAccessToken, IssuedRefreshToken, Org, User


@dataclass(slots=True)
class Fault:
    """An injected failure for one target ("accounts" or "api") in one DC (or all: dc=None)."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # 0..1: that share of requests answers 500 (api) or 503 (accounts)
    outage: bool = False  # every request fails (connection-level failures are not emulated)


@dataclass(slots=True)
class Stats:
    token_requests: dict[str, int] = field(
        default_factory=lambda: {"authorization_code": 0, "refresh_token": 0, "revoke": 0}
    )
    api_requests: int = 0
    consent_pages: int = 0
    # refresh_token grants per DC, and the throttle hits, for tests of the library's restraint.
    refresh_by_dc: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    # Grant codes and refresh tokens refused by Zoho's grant limits.
    grant_limited: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_requests": dict(self.token_requests),
            "api_requests": self.api_requests,
            "consent_pages": self.consent_pages,
            "refresh_by_dc": dict(self.refresh_by_dc),
            "throttled": self.throttled,
            "grant_limited": self.grant_limited,
        }


class EmulatorState:
    """The emulated Zoho: configuration, clock, directory, tokens, records, faults, stats."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.base_config = config or EmulatorConfig()
        self.config = self.base_config
        self.clock = VirtualClock()
        self.orgs: dict[str, Org] = {}  # zgid -> org
        self.users: dict[str, User] = {}  # zuid -> user
        self.users_by_email: dict[str, User] = {}  # lower-cased email -> user
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, GrantCode] = {}
        self.refresh_tokens: dict[str, IssuedRefreshToken] = {}
        self.access_tokens: dict[str, IssuedAccessToken] = {}
        # (zuid, client_id) pairs with an offline consent on record: later offline consents without
        # prompt=consent give no refresh token [docs/zoho-reference.md §1].
        # Cleared by revoke-user.
        self.consents: set[tuple[str, str]] = set()
        # Zoho's grant limits (sliding windows of virtual time): when each client was issued
        # its recent grant codes, and each (zuid, client_id) its recent refresh tokens.
        self.code_times: dict[str, deque[float]] = {}
        self.refresh_token_times: dict[tuple[str, str], deque[float]] = {}
        # (zgid, module api_name) -> {record id -> record}; dicts keep insertion order.
        self.records: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # (zgid, module api_name) -> fields an org admin set to "Do not allow duplicate values"
        # (Zoho's per-org unique fields; none by default) [docs/zoho-reference.md §6.5].
        self.unique_fields: dict[tuple[str, str], set[str]] = {}
        self.faults: dict[tuple[str, str | None], Fault] = {}
        self.stats = Stats()
        self.in_flight: dict[str, int] = {}  # zgid -> concurrent CRM requests
        self.credits: dict[str, list[float]] = {}  # zgid -> times of charged calls
        self.id_counter = 0

    # -- directory -----------------------------------------------------------------------
    def add_org(self, org: Org) -> None:
        self.orgs[org.zgid] = org

    def add_user(self, user: User) -> None:
        self.users[user.zuid] = user
        self.users_by_email[user.email.lower()] = user

    def add_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def user_by_email(self, email: str) -> User | None:
        return self.users_by_email.get(email.strip().lower())

    def next_id(self) -> str:
        """A fresh 19-digit record id, increasing like Zoho's."""
        self.id_counter += 1
        return str(5_725_767_000_000_000_000 + self.id_counter * 1000 + 1)

    # -- tokens --------------------------------------------------------------------------
    def authenticate(self, token: str) -> IssuedAccessToken | None:
        """The live access token `token`, or None if unknown, expired, evicted or revoked."""
        found = self.access_tokens.get(token)
        if found is None:
            return None
        if found.expires_at <= self.clock.now():
            del self.access_tokens[token]
            return None
        return found

    # -- faults --------------------------------------------------------------------------
    def fault_for(self, target: str, dc: str | None) -> Fault | None:
        """The fault that applies to `target` in `dc`: a DC-specific one wins over a global one."""
        if not self.faults:
            return None
        return self.faults.get((target, dc)) or self.faults.get((target, None))

    # -- reset ---------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything (the seed is loaded again by the caller)."""
        self.__init__(self.base_config)  # type: ignore[misc]
