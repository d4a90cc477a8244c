"""Webhooks: signing (pure) and delivery from the database outbox (I/O).

Every delivery is a POST of a JSON body with the header

    Zohoauth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

like Stripe's. A receiver recomputes the HMAC over the timestamp, a dot and the raw body with
its endpoint's secret, compares in constant time, and refuses a timestamp more than five
minutes from its own clock (replay protection): `verify()` is that recipe, and
docs/token-service.md shows it in Python and Node.

Delivery: events go into `zohoauth_webhook_deliveries` (the outbox) and a background task in
each serving process sends what is due, one lease per row (a conditional UPDATE, as for
tokens) so two workers never send the same attempt. A failure (network, non-2xx) is retried
with exponential backoff (`backoff(attempt)`) until 24 hours after the event, then marked
failed. Since the outbox is in the database, a restart loses nothing already queued.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "Zohoauth-Signature"
#: How far a receiver should accept the timestamp from its own clock.
TOLERANCE_SECONDS = 300
#: Deliveries are retried for this long after the event, then marked failed.
RETRY_WINDOW = 24 * 3600.0
#: Event names a webhook may subscribe to.
EVENTS = ("reauth_required", "revoked", "refreshed", "login", "logout")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Zohoauth-Signature` header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """The receiver's check: a v1 signature matches and the timestamp is recent."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))


def backoff(attempt: int, base: float) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): base·2^(attempt-1), at most 1 h."""
    return float(min(base * 2 ** (attempt - 1), 3600.0))


def parse_events(text: str) -> tuple[str, ...]:
    """`reauth_required,revoked` -> the names, checked; ValueError naming a bad one."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    bad = [n for n in names if n not in EVENTS]
    if bad or not names:
        raise ValueError(f"unknown event(s) {', '.join(bad) or '(none)'}; use {', '.join(EVENTS)}")
    return names


def payload(event: str, data: dict[str, Any], at: float) -> str:
    """The JSON body of one delivery (no token, no secret: who and what happened)."""
    body = {"id": new_id("evt"), "type": event, "created_at": int(at), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A registered endpoint (its secret is shown once, when it is added)."""

    id: str
    url: str
    events: tuple[str, ...]
    created_at: float


@dataclass(frozen=True, slots=True)
class NewWebhook:
    record: Webhook
    secret: str

    def __repr__(self) -> str:
        return f"NewWebhook(record={self.record!r}, secret=...)"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery log."""

    id: str
    webhook_id: str
    event: str
    created_at: float
    state: str  # pending, delivered, failed
    attempts: int
    next_attempt_at: float
    last_status: int | None
    last_error: str | None
    delivered_at: float | None


__all__ = [
    "EVENTS",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "Delivery",
    "NewWebhook",
    "Webhook",
    "backoff",
    "new_secret",
    "parse_events",
    "payload",
    "sign",
    "verify",
]
