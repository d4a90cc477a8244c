"""A certificate for the emulator's https mode (`EmulatorServer(tls=...)`).

Zoho is only ever reached over https, so the https path of a client (TLS verification, the CA
bundle setting, connection reuse under TLS) must be testable offline. The certificate names
127.0.0.1 and is its own CA: trusting the certificate file (a CA bundle of one) is what makes a
client accept it, and a client that does not trust it fails verification, as it should.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(
    directory: Path, *, name: str = "zohoauth emulator", prefix: str = "emulator"
) -> tuple[str, str]:
    """Write `<prefix>-cert.pem` and `<prefix>-key.pem` for 127.0.0.1 into `directory`, valid
    for a day; return (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{prefix}-cert.pem", directory / f"{prefix}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)
