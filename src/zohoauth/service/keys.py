"""Service keys, as pure functions: make one, check its shape, hash it, decide what it allows.

A key looks like `zas_<40 base62 chars>_<6 base62 chars>`: the `zas_` prefix and the CRC32
checksum of the random part let secret scanners (and `well_formed`) spot a zohoauth key with
no database look-up, the way GitHub's `ghp_` tokens work. 40 base62 characters carry 238 bits
of randomness, so a keyed hash without a slow KDF is enough (nothing to brute-force).

Only `hash_key(pepper, key)` — HMAC-SHA256 under a server-side pepper — is stored. The pepper
is `ZOHOAUTH_SERVICE_KEY_PEPPER` when set (pepper id `setting`), else derived from the
encryption key ring (`KeyRing.derive(kid, ...)`, pepper id = that key's id): a stolen database
alone can't even confirm a guessed key. With the ring, keys made under an older encryption
key keep working while that key stays in the ring (they are looked up under every pepper).

A key's *selection* (`--connections`) limits which connections it may use: connection ids
and/or selectors that describe connections (`dc:eu`, `org:<org_id>`, `zuid:<zuid>`,
`email:<address>`, `domain:<email domain>`), so a key stays right as connections come and
go. `parse_selection` checks and canonicalises it; `selects` is the one match decision
(a connection in, allowed or not out) that the API's checks and the SQL listing agree with.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

PREFIX = "zas_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_LEN = 40
_CHECK_LEN = 6
_SHAPE = re.compile(rf"^{PREFIX}([0-9A-Za-z]{{{_RANDOM_LEN}}})_([0-9A-Za-z]{{{_CHECK_LEN}}})$")
#: The label under which the pepper is derived from an encryption key.
PEPPER_LABEL = b"service-key-pepper"
SETTING_PEPPER_ID = "setting"


class Scope(StrEnum):
    """What a key may do. `read` lists connections; `token` also hands out access tokens;
    `proxy` also calls CRM through the service (but never sees a token); `admin` does all of
    that and refreshes and deletes connections."""

    READ = "read"
    TOKEN = "token"
    PROXY = "proxy"
    ADMIN = "admin"


#: action -> the scopes that allow it
_ALLOWED: dict[str, frozenset[Scope]] = {
    "read": frozenset(Scope),
    "token": frozenset({Scope.TOKEN, Scope.ADMIN}),
    "proxy": frozenset({Scope.PROXY, Scope.ADMIN}),
    "refresh": frozenset({Scope.ADMIN}),
    "delete": frozenset({Scope.ADMIN}),
}


def allows(scope: Scope, action: str) -> bool:
    """Whether a key of `scope` may do `action` (read, token, proxy, refresh, delete)."""
    return scope in _ALLOWED[action]


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def checksum(body: str) -> str:
    """The CRC32 of the random part, in 6 base62 characters."""
    return _base62(zlib.crc32(body.encode("ascii")), _CHECK_LEN)


def generate() -> str:
    """A new service key (shown once; store only `hash_key` of it)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LEN))
    return f"{PREFIX}{body}_{checksum(body)}"


def well_formed(key: str) -> bool:
    """Prefix, length, alphabet and checksum are right (a typo or a truncation is caught
    without touching the database)."""
    match = _SHAPE.match(key)
    return match is not None and hmac.compare_digest(match.group(2), checksum(match.group(1)))


def hash_key(pepper: bytes, key: str) -> str:
    """What is stored: hex HMAC-SHA256(pepper, key)."""
    return hmac.new(pepper, key.encode("ascii"), hashlib.sha256).hexdigest()


def new_key_id() -> str:
    """The public id of a key (shown in lists and the audit log; not a secret)."""
    return "skey_" + secrets.token_hex(8)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """`90d`, `12h`, `30m`, `45s`, `2w` or plain seconds -> seconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 90d, 12h, 30m or 2w")
    return float(match.group(1)) * _UNIT[match.group(2)]


#: Selector kinds -> what they match. An entry without a kind (no `:`) is a connection id.
SELECTOR_KINDS: dict[str, str] = {
    "id": "the connection with this id (same as the bare id)",
    "dc": "connections in this data center, e.g. dc:eu",
    "org": "connections to this CRM org id (zgid)",
    "zuid": "connections of this Zoho user id",
    "email": "connections of this user's email address (any case)",
    "domain": "connections whose email address is at exactly this domain (any case)",
}
#: The accepted forms, for error messages and --help.
SELECTION_FORMS = "CONNECTION_ID, id:ID, dc:DC, org:ORG_ID, zuid:ZUID, email:ADDRESS, domain:DOMAIN"
_SELECTOR_VALUE = {
    "id": re.compile(r"^[A-Za-z0-9_-]{1,64}$"),
    "dc": re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$"),
    "org": re.compile(r"^[A-Za-z0-9_-]{1,64}$"),
    "zuid": re.compile(r"^[A-Za-z0-9_-]{1,64}$"),
    "email": re.compile(r"^[^@\s,]+@[^@\s,]+$"),
    "domain": re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"),
}
#: Lower-cased on parsing (Zoho treats DC codes, emails and domains case-insensitively).
_FOLDED = frozenset({"dc", "email", "domain"})


class ConnectionFacts(Protocol):
    """What a selection is matched against (`credentials.Connection` has all of it)."""

    @property
    def id(self) -> str: ...
    @property
    def dc(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def zuid(self) -> str: ...
    @property
    def email(self) -> str: ...


def parse_selector(text: str) -> str:
    """One selection entry in its stored, canonical form: a bare connection id, or
    `kind:value` with the value lower-cased where case does not matter (dc, email, domain).
    ValueError, naming the accepted forms, for an unknown kind or a malformed value."""
    entry = text.strip()
    kind, sep, value = entry.partition(":")
    if not sep:
        kind, value = "id", entry
    kind, value = kind.strip().lower(), value.strip()
    if kind not in SELECTOR_KINDS:
        raise ValueError(
            f"unknown connection selector {kind + ':'!r} in {entry!r}; use {SELECTION_FORMS}"
        )
    if kind in _FOLDED:
        value = value.lower()
    if not _SELECTOR_VALUE[kind].match(value):
        raise ValueError(f"{entry!r} is not a valid {kind} selector; use {SELECTION_FORMS}")
    return value if kind == "id" else f"{kind}:{value}"


def parse_selection(entries: str | Iterable[str]) -> tuple[str, ...]:
    """A key's selection from a comma-separated string (or its entries): canonical entries,
    duplicates dropped, order kept. Empty: every connection."""
    items = entries.split(",") if isinstance(entries, str) else entries
    out: dict[str, None] = {}
    for item in items:
        if item.strip():
            out[parse_selector(item)] = None
    return tuple(out)


def selector_parts(entry: str) -> tuple[str, str]:
    """A canonical entry -> (kind, value); a bare entry is ("id", entry)."""
    kind, sep, value = entry.partition(":")
    return (kind, value) if sep and kind in SELECTOR_KINDS else ("id", entry)


def _email_domain(email: str) -> str:
    """The part after the last `@` (lower-cased); "" for an address without one."""
    _local, at, domain = email.strip().lower().rpartition("@")
    return domain if at else ""


def selects(selection: tuple[str, ...], conn: ConnectionFacts) -> bool:
    """Whether a key with this (canonical) selection may use `conn`: an empty selection
    allows every connection, else any one matching entry does (entries are a union)."""
    if not selection:
        return True
    for entry in selection:
        kind, value = selector_parts(entry)
        if (
            (kind == "id" and conn.id == value)
            or (kind == "dc" and conn.dc.lower() == value)
            or (kind == "org" and conn.org_id == value)
            or (kind == "zuid" and conn.zuid == value)
            or (kind == "email" and conn.email.strip().lower() == value)
            or (kind == "domain" and _email_domain(conn.email) == value)
        ):
            return True
    return False


def selects_id(selection: tuple[str, ...], connection_id: str) -> bool | None:
    """What the id alone decides: True (every connection, or the id is listed), False (the
    selection is ids only and this is not one), None (a selector may match: look it up)."""
    if not selection or connection_id in selection:
        return True
    if all(selector_parts(e)[0] == "id" for e in selection):
        return False
    return None


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """A stored service key as listed: everything but the key itself (which is not stored)."""

    id: str
    name: str
    scope: Scope
    connections: tuple[str, ...]  # the selection (parse_selection); empty: every connection
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None

    def refusal(self, now: float) -> str | None:
        """Why this key is not accepted at `now` (revoked, expired), or None."""
        if self.revoked_at is not None:
            return f"service key {self.name!r} was revoked; ask for a new one"
        if self.expires_at is not None and self.expires_at <= now:
            return f"service key {self.name!r} has expired; ask for a new one"
        return None

    def may_use(self, conn: ConnectionFacts) -> bool:
        """Whether this key's selection allows `conn` (see `selects`)."""
        return selects(self.connections, conn)

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class NewServiceKey:
    """What creating a key returns: the record and the key itself, shown once."""

    record: ServiceKey
    key: str

    def __repr__(self) -> str:  # never show the key
        return f"NewServiceKey(record={self.record!r}, key=...)"


__all__ = [
    "PREFIX",
    "SELECTION_FORMS",
    "SELECTOR_KINDS",
    "ConnectionFacts",
    "NewServiceKey",
    "Scope",
    "ServiceKey",
    "allows",
    "checksum",
    "generate",
    "hash_key",
    "new_key_id",
    "parse_duration",
    "parse_selection",
    "parse_selector",
    "selector_parts",
    "selects",
    "selects_id",
    "well_formed",
]
