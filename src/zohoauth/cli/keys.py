"""`zohoauth keys ...`: encryption keys for the token store."""

from __future__ import annotations

from .app import keys_app


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new AES-256 key for ZOHOAUTH_ENCRYPTION_KEYS (put new keys first to rotate)."""
    from ..crypto import KeyRing

    print(KeyRing.generate_key())
