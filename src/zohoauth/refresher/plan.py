"""What the background refresher does with a credential, and when it looks again (pure).

No I/O and no clock here: `worker.py` reads rows, asks these functions, and acts. The rules:

- **Active** connections (one of the credential's connections used within `active_window`) are
  refreshed `lead` seconds before their access token expires, so the request path, which
  refreshes `refresh_skew` (300 s) before expiry, almost never has to.
- **Idle** grants are checked with a refresh at least once every `check_period` (a day), so a
  revoked grant turns `reauth_required` (and emits its event) before a user finds out. The
  check falls at a fixed time of the period per credential, from a stable hash of its key, so
  100k idle grants spread over the day instead of all being due at midnight.
- **Zoho's limits** (docs/zoho-reference.md §4): at most 10 refreshes per refresh token per 10
  minutes and 15 live access tokens. A credential is never refreshed again sooner than
  `min_gap` after its last refresh: window/10, or lifetime/15 if longer, so neither limit can be
  reached by this refresher however the clocks or plans go wrong. "Access Denied" (the store's
  `throttled_until`) is waited out.
- **Back-off**: outages slow the whole worker down (`worker_backoff`, equal jitter through
  `retry.RetryPolicy`), and a credential whose refresh failed is looked at again later.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from ..credentials import CredentialKey
from ..retry import Failure, RetryPolicy

#: Zoho's refresh limits per refresh token (docs/zoho-reference.md §4).
ZOHO_REFRESH_WINDOW = 600.0
ZOHO_REFRESHES_PER_WINDOW = 10
ZOHO_LIVE_ACCESS_TOKENS = 15
#: Zoho's access tokens live an hour; a longer "lifetime" read from the store is a credential
#: that was not refreshed for a while, not a longer token (`min_gap` must not grow with it).
MAX_LIFETIME = 3600.0


@dataclass(frozen=True, slots=True)
class RefresherConfig:
    """How the background refresher plans and paces its work (`ZOHOAUTH_REFRESHER_*`)."""

    lead: float = 600.0  # refresh active credentials this long before expiry
    active_window: float = 24 * 3600.0  # "active": a connection used within this
    check_period: float = 24 * 3600.0  # every idle grant is checked at least this often
    batch_size: int = 20  # rows claimed per transaction (small: short locks, fair sharing)
    idle_poll: float = 5.0  # nothing due: look again after at most this
    claim_ttl: float = 120.0  # the lease on claimed rows; a killed worker's expire after it
    retry_failed: float = 60.0  # a refresh that failed (outage): look again after this
    backoff_base: float = 2.0  # worker-wide back-off after a batch met an outage ...
    backoff_cap: float = 300.0  # ... doubling up to this
    shutdown_grace: float = 20.0  # SIGTERM: refreshes in flight get this long to finish
    min_gap_floor: float = ZOHO_REFRESH_WINDOW / ZOHO_REFRESHES_PER_WINDOW  # 60 s
    client_rate: float = 50.0  # refreshes per second per client id, per worker

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        for name in ("lead", "active_window", "check_period", "idle_poll", "claim_ttl"):
            if not (0 < getattr(self, name) < math.inf):
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.client_rate <= 0:
            raise ValueError("client_rate must be a positive number of refreshes per second")

    @property
    def backoff(self) -> RetryPolicy:
        """The worker-wide back-off: equal jitter, base·2ⁿ up to the cap (`retry.py`)."""
        return RetryPolicy(
            attempts=1_000_000,
            base=self.backoff_base,
            cap=self.backoff_cap,
            retry_on=frozenset({Failure.UNAVAILABLE, Failure.RATE_LIMITED}),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the plan needs of a credential row (times are epoch seconds)."""

    key: CredentialKey
    expires_at: float
    created_at: float
    refreshed_at: float | None = None
    throttled_until: float | None = None
    last_used_at: float | None = None  # the latest use of any of its connections
    planned_at: float = 0.0  # its `next_refresh_at`; 0 = never planned


@dataclass(frozen=True, slots=True)
class Decision:
    """Refresh now (`refresh`), or look again at `at`. `due` is when a refresh is wanted, so
    `now - due` is how late the refresher is for it (its lag)."""

    refresh: bool
    at: float
    due: float
    reason: str  # expiring, daily_check, throttled, not_due


def slot_offset(key: CredentialKey, period: float) -> float:
    """A credential's fixed point in the check period, from a stable hash of its key (the same
    in every process and release: BLAKE2b, not Python's salted `hash`)."""
    digest = hashlib.blake2b(
        f"{key.client_id}\0{key.dc}\0{key.zuid}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2**64 * period


def next_slot(key: CredentialKey, after: float, period: float) -> float:
    """The first time strictly after `after` at the key's offset in the period."""
    offset = slot_offset(key, period)
    t = math.floor((after - offset) / period) * period + offset
    while t <= after:
        t += period
    return t


def lifetime(s: Snapshot) -> float:
    """How long the stored access token was issued for, within [1 s, an hour]."""
    issued = s.refreshed_at if s.refreshed_at is not None else s.created_at
    return min(MAX_LIFETIME, max(1.0, s.expires_at - issued))


def min_gap(s: Snapshot, cfg: RefresherConfig) -> float:
    """The least time between two refreshes of one credential: neither Zoho's 10 per 10 min
    nor its 15 live access tokens can be reached (§4)."""
    return max(cfg.min_gap_floor, lifetime(s) / ZOHO_LIVE_ACCESS_TOKENS)


def is_active(s: Snapshot, now: float, cfg: RefresherConfig) -> bool:
    return s.last_used_at is not None and s.last_used_at >= now - cfg.active_window


def due_at(s: Snapshot, now: float, cfg: RefresherConfig) -> tuple[float, str]:
    """When a refresh is wanted, and why: before expiry if active, else the daily check."""
    last_check = max(s.refreshed_at or 0.0, s.created_at)
    check = next_slot(s.key, last_check, cfg.check_period)
    if check <= now and s.planned_at == 0.0 and s.refreshed_at is None:
        # Never planned and never refreshed: a grant that predates the refresher (or was just
        # imported). Its first check goes to its slot in the coming period, so deploying the
        # refresher over 100k idle grants spreads them over a day instead of checking them all
        # at once.
        check = next_slot(s.key, now, cfg.check_period)
    if is_active(s, now, cfg):
        # Refreshed every token lifetime (≤ 1 h), an active grant needs no daily slot: only if
        # its token somehow outlives the period does the check come first.
        lead = min(cfg.lead, lifetime(s) / 2)
        expiring = s.expires_at - lead
        overdue = last_check + cfg.check_period
        return (expiring, "expiring") if expiring <= overdue else (overdue, "daily_check")
    return check, "daily_check"


def decide(s: Snapshot, now: float, cfg: RefresherConfig) -> Decision:
    """Refresh now, or when to look again."""
    due, reason = due_at(s, now, cfg)
    if s.refreshed_at is not None:
        due = max(due, s.refreshed_at + min_gap(s, cfg))
    if s.throttled_until is not None and s.throttled_until > now:
        return Decision(False, max(due, s.throttled_until), due, "throttled")
    if due <= now:
        return Decision(True, now, due, reason)
    return Decision(False, due, due, "not_due")


def after_refresh(s: Snapshot, expires_at: float, now: float, cfg: RefresherConfig) -> float:
    """When to look at a credential again after refreshing it at `now` (never sooner than
    `min_gap`: `decide` on the new row says so)."""
    fresh = replace(s, expires_at=expires_at, refreshed_at=now, throttled_until=None)
    return decide(fresh, now, cfg).at


def after_failure(s: Snapshot, now: float, cfg: RefresherConfig, until: float | None) -> float:
    """When to look again after a refresh that failed: Zoho's throttle end if it named one,
    else `retry_failed` later, spread by the key's hash so a recovered outage is not met by
    every failed credential in the same second."""
    if until is not None and until > now:
        return until
    spread = slot_offset(s.key, cfg.retry_failed) / 2
    return now + cfg.retry_failed / 2 + spread


def lag(due: float, now: float) -> float:
    """How late a refresh is (0 when it is not late)."""
    return max(0.0, now - due)


__all__ = [
    "MAX_LIFETIME",
    "ZOHO_LIVE_ACCESS_TOKENS",
    "ZOHO_REFRESHES_PER_WINDOW",
    "ZOHO_REFRESH_WINDOW",
    "Decision",
    "RefresherConfig",
    "Snapshot",
    "after_failure",
    "after_refresh",
    "decide",
    "due_at",
    "is_active",
    "lag",
    "lifetime",
    "min_gap",
    "next_slot",
    "slot_offset",
]
