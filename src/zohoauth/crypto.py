"""Encryption at rest: AES-256-GCM with a key ring, so keys can be rotated without downtime.

The ring comes from `ZOHOAUTH_ENCRYPTION_KEYS`: comma-separated keys, each the urlsafe base64 of
32 random bytes (`zohoauth keys generate`) or its standard base64 (`openssl rand -base64 32`),
optionally prefixed with a key id (`kid:`). The first key encrypts; every key
decrypts, so an old key stays readable until `zohoauth keys rotate` has re-encrypted its rows.

A ciphertext is text, `v1.<kid>.<b64url(nonce12 + ciphertext+tag)>`: the key id is readable
without decrypting (rotation selects rows by it), and the record's own key is the associated data
(`CredentialKey.aad`), so a ciphertext copied into another row fails authentication.

No message raised here contains key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ConfigError, DecryptionError

ENV_VAR = "ZOHOAUTH_ENCRYPTION_KEYS"
FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_HOW_TO_FIX = (
    f"Set {ENV_VAR} to one or more comma-separated keys, each the urlsafe base64 of 32 random "
    "bytes (optionally `kid:key`); generate one with `zohoauth keys generate`."
)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict urlsafe base64 (padding optional); ValueError on any stray or non-canonical char.

    Canonical means re-encoding gives the same text: otherwise the unused low bits of the last
    character could be flipped without changing the bytes, and a mutation would go unnoticed.
    """
    stripped = text.rstrip("=")
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not urlsafe base64") from exc
    if _b64encode(raw) != stripped:
        raise ValueError("not canonical base64")
    return raw


def _key_decode(text: str) -> bytes:
    """A configured key: urlsafe base64 (ours) or standard base64 (`+`, `/`, what `openssl rand
    -base64 32` prints), each strict and canonical; one alphabet per key, never mixed."""
    try:
        return _b64decode(text)
    except ValueError:
        if "-" in text or "_" in text:
            raise
    return _b64decode(text.replace("+", "-").replace("/", "_"))


def default_kid(key: bytes) -> str:
    """A key's default id: the first 8 hex digits of its SHA-256 (identifies, reveals nothing)."""
    return hashlib.sha256(key).hexdigest()[:8]


def key_id_of(blob: str) -> str:
    """The key id a ciphertext was made with, read without decrypting (for rotation)."""
    parts = blob.split(".")
    if len(parts) != 3 or parts[0] != FORMAT_VERSION or not _KID_RE.match(parts[1]):
        raise DecryptionError(
            f"stored secret is not a zohoauth {FORMAT_VERSION} ciphertext (damaged or not ours)"
        )
    return parts[1]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """An ordered set of AES-256 keys by id; the first is active (encrypts), all decrypt."""

    _keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self._keys:
            raise ConfigError(f"{ENV_VAR} holds no key. {_HOW_TO_FIX}")
        kids = [kid for kid, _ in self._keys]
        if len(set(kids)) != len(kids):
            raise ConfigError(f"{ENV_VAR} lists the same key id twice. {_HOW_TO_FIX}")
        for kid, key in self._keys:
            if len(key) != KEY_BYTES or not _KID_RE.match(kid):
                raise ConfigError(f"key {kid!r} in {ENV_VAR} is invalid. {_HOW_TO_FIX}")

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active_kid!r}, kids={list(self.kids)!r})"

    @classmethod
    def from_config(cls, value: str | None) -> KeyRing:
        """Parse `ZOHOAUTH_ENCRYPTION_KEYS` (`[kid:]key,[kid:]key,...`); ConfigError if bad."""
        items = [item.strip() for item in (value or "").split(",")]
        if not any(items):
            raise ConfigError(f"{ENV_VAR} is not set or empty. {_HOW_TO_FIX}")
        keys: list[tuple[str, bytes]] = []
        for position, item in enumerate(items, start=1):
            if not item:
                raise ConfigError(f"key #{position} in {ENV_VAR} is empty. {_HOW_TO_FIX}")
            kid, sep, encoded = item.rpartition(":")
            kid = kid.strip()
            encoded = encoded.strip()
            if sep and not _KID_RE.match(kid):
                raise ConfigError(
                    f"key #{position} in {ENV_VAR} has an invalid key id (use 1-32 of "
                    f"A-Z a-z 0-9 _ -). {_HOW_TO_FIX}"
                )
            try:
                key = _key_decode(encoded)
            except ValueError:
                raise ConfigError(
                    f"key #{position} in {ENV_VAR} is not urlsafe base64. {_HOW_TO_FIX}"
                ) from None
            if len(key) != KEY_BYTES:
                raise ConfigError(
                    f"key #{position} in {ENV_VAR} is {len(key)} bytes, not {KEY_BYTES}. "
                    f"{_HOW_TO_FIX}"
                )
            keys.append((kid if sep else default_kid(key), key))
        return cls(tuple(keys))

    @classmethod
    def from_keys(cls, *keys: bytes) -> KeyRing:
        """A ring from raw 32-byte keys (tests, tools); the first is active."""
        return cls(tuple((default_kid(key), key) for key in keys))

    def with_active(self, key: bytes, kid: str | None = None) -> KeyRing:
        """This ring with `key` put first (active); the current keys stay to decrypt."""
        return KeyRing(((kid or default_kid(key), key), *self._keys))

    @staticmethod
    def generate_key() -> str:
        """A fresh random key, ready for `ZOHOAUTH_ENCRYPTION_KEYS`."""
        return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    @property
    def active_kid(self) -> str:
        return self._keys[0][0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self.kids

    def derive(self, kid: str, label: bytes) -> bytes:
        """A 32-byte subkey of the key `kid` for one purpose (`label`), e.g. the service-key
        pepper: HMAC-SHA256(key, label), so the subkey reveals nothing of the key itself.
        KeyError when the ring lacks `kid`."""
        import hmac

        return hmac.new(dict(self._keys)[kid], b"zohoauth.derive\x00" + label, "sha256").digest()

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        """Encrypt with the active key, binding `aad` (the record's identity)."""
        kid, key = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
        return f"{FORMAT_VERSION}.{kid}.{_b64encode(nonce + sealed)}"

    def decrypt(self, blob: str, aad: bytes) -> bytes:
        """Decrypt a blob made by `encrypt` with the same `aad`; DecryptionError otherwise."""
        kid = key_id_of(blob)
        key = dict(self._keys).get(kid)
        if key is None:
            raise DecryptionError(
                f"stored secret was encrypted with key id {kid!r}, which is not in {ENV_VAR} "
                f"(has {', '.join(self.kids)}); add that key back to the ring (after the active "
                "one) or log in again"
            )
        try:
            raw = _b64decode(blob.split(".")[2])
        except ValueError:
            raise DecryptionError("stored secret is damaged (its base64 is invalid)") from None
        if len(raw) < NONCE_BYTES + 16:
            raise DecryptionError("stored secret is damaged (too short)")
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"stored secret failed authentication with key id {kid!r}: the key is wrong, "
                "the row was tampered with, or the ciphertext belongs to another record"
            ) from None


__all__ = ["ENV_VAR", "KeyRing", "default_kid", "key_id_of"]
