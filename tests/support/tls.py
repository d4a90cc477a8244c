"""Test-only TLS: a certificate for 127.0.0.1 that is its own CA, and servers that use it."""

from __future__ import annotations

import ssl
from pathlib import Path

from zohoauth.emulator import tls as emulator_tls


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """(certificate file, key file) for 127.0.0.1, its own CA (the emulator's https helper)."""
    return emulator_tls.self_signed_certificate(
        directory, name="zohoauth test emulator", prefix="test"
    )


def server_context(cert: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    return ctx
