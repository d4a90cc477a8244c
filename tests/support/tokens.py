"""Zoho-shaped secrets for tests: grant codes, access and refresh tokens all look alike."""

from __future__ import annotations

import secrets

#: What a Zoho token looks like (docs/zoho-reference.md §1), as bytes, for scanning raw dumps.
ZOHO_TOKEN_RE = rb"1000\.[0-9a-f]{32}\.[0-9a-f]{32}"


def zoho_token() -> str:
    """A fresh random token shaped like Zoho's: `1000.<32 hex>.<32 hex>`."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
