"""Emulator limits and switches.

Every number Zoho documents (and every guess, marked `[?]`) is a field here, so a test or a
`--seed` file can tighten or loosen it. Defaults follow docs/zoho-reference.md §4.

"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Limits of the emulated Zoho.  All durations are seconds of *virtual* time."""

    # Grant codes: Zoho's pages say 2 min (Accounts) or 3 min (CRM); we pick the stricter [?].
    code_ttl: float = 120.0
    access_token_ttl: float = 3600.0
    # "10 access tokens per refresh token per 10 minutes", then "Access Denied" (HTTP 200).
    refresh_window: float = 600.0
    max_refreshes_per_window: int = 10
    # CRM docs say 15 live access tokens per refresh token; Accounts docs say 10 [?]. CRM wins.
    max_live_access_tokens: int = 15
    # "20 refresh tokens per user per client; the 21st invalidates the oldest" (Kaizen 43).
    max_refresh_tokens_per_user: int = 20
    # Zoho's grant limits, on as at Zoho; False switches off both below (for tests and benches
    # that log in many times) while every other limit stays.
    grant_limits: bool = True
    # "10 grant codes per 10 minutes per client ID", then access_denied for the rest of the
    # window (CRM's Token Validity page). Counted over all DCs of the client [?]; Self Client
    # codes count too [?].
    max_grant_codes_per_window: int = 10
    grant_code_window: float = 600.0
    # "10 refresh tokens per 10 minutes per user per client" (Kaizen 43), then "Access Denied";
    # CRM's older pages say 20 per 10 minutes per client ID [?].
    max_new_refresh_tokens_per_window: int = 10
    new_refresh_token_window: float = 600.0
    # Zoho returns a refresh token only on a user's first offline consent to a client, or when
    # prompt=consent was sent [docs/zoho-reference.md §1]. False: every offline
    # consent returns one.
    refresh_token_only_on_first_consent: bool = True
    # Whether `Authorization: Bearer <token>` is accepted by CRM. Zoho documents only
    # `Zoho-oauthtoken`; unconfirmed [?], so rejected unless switched on.
    accept_bearer: bool = False
    # Optional CRM limits: concurrent requests per org and credits per rolling 24 h per org.
    # None disables the limit. Exceeding either gives 429 TOO_MANY_REQUESTS.
    max_concurrent_requests: int | None = None
    max_credits_per_day: int | None = None
    # The largest JSON body CRM accepts (Zoho's exact cap is undocumented [?]).
    max_body_bytes: int = 5 * 1024 * 1024

    def with_overrides(self, overrides: dict[str, Any]) -> EmulatorConfig:
        """Return a copy with `overrides` applied; unknown names raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(
                f"unknown emulator setting(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        for name, value in overrides.items():
            _check_type(name, value)
        return replace(self, **overrides)


def make_config(config: EmulatorConfig | Mapping[str, Any] | None) -> EmulatorConfig:
    """`config` itself, or the default config with `config`'s overrides (`{"grant_limits":
    False}`), or the default."""
    if isinstance(config, EmulatorConfig):
        return config
    return EmulatorConfig().with_overrides(dict(config or {}))


#: Limits that `null` switches off.
_NULLABLE = frozenset({"max_concurrent_requests", "max_credits_per_day"})


def _check_type(name: str, value: Any) -> None:
    """A wrongly typed override would crash a later request; refuse it up front instead."""
    default = getattr(EmulatorConfig(), name)
    if value is None and name in _NULLABLE:
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"setting {name!r} must be true or false")
        return
    whole = isinstance(default, int) or name in _NULLABLE
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float) or value < 0:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"setting {name!r} must be {kind} >= 0")
