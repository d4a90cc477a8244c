"""crypto.KeyRing: AES-256-GCM with a key ring; config errors that say how to fix them."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zohoauth.crypto import KeyRing, default_kid, key_id_of
from zohoauth.errors import ConfigError, DecryptionError

KEY_A = os.urandom(32)
KEY_B = os.urandom(32)
RING = KeyRing.from_keys(KEY_A)
AAD = b"1000.CLIENT:us:700000001"


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def test_round_trip_and_format() -> None:
    blob = RING.encrypt(b"hello", AAD)
    version, kid, body = blob.split(".")
    assert (version, kid) == ("v1", default_kid(KEY_A))
    assert "=" not in body and "+" not in body and "/" not in body
    assert key_id_of(blob) == kid
    assert RING.decrypt(blob, AAD) == b"hello"
    assert RING.encrypt(b"hello", AAD) != blob  # fresh nonce every time


def test_from_config_accepts_kids_padding_and_spaces() -> None:
    unpadded = b64(KEY_B).rstrip("=")
    ring = KeyRing.from_config(f" new:{unpadded} , {b64(KEY_A)} ")
    assert ring.kids == ("new", default_kid(KEY_A))
    assert ring.active_kid == "new"
    old_blob = RING.encrypt(b"x", AAD)
    assert ring.decrypt(old_blob, AAD) == b"x"  # old keys still decrypt
    assert key_id_of(ring.encrypt(b"x", AAD)) == "new"
    assert "new" in ring and "nope" not in ring


def test_with_active_puts_a_new_key_first() -> None:
    ring = RING.with_active(KEY_B, "next")
    assert ring.kids == ("next", RING.active_kid)
    assert ring.decrypt(RING.encrypt(b"x", AAD), AAD) == b"x"
    with pytest.raises(ConfigError, match="same key id twice"):
        ring.with_active(KEY_B, "next")


def test_generate_key_is_usable_and_random() -> None:
    first, second = KeyRing.generate_key(), KeyRing.generate_key()
    assert first != second
    assert len(base64.urlsafe_b64decode(first)) == 32
    assert KeyRing.from_config(first).decrypt(KeyRing.from_config(first).encrypt(b"a", b""), b"")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "not set or empty"),
        ("  ,  ", "not set or empty"),
        (None, "not set or empty"),
        (b64(os.urandom(16)), "16 bytes, not 32"),
        (b64(os.urandom(48)), "48 bytes, not 32"),
        ("not base64 at all!", "not urlsafe base64"),
        (f"{b64(KEY_A)},", "key #2 in ZOHOAUTH_ENCRYPTION_KEYS is empty"),
        (f"bad.kid:{b64(KEY_A)}", "invalid key id"),
        (f"k:{b64(KEY_A)},k:{b64(KEY_B)}", "same key id twice"),
    ],
)
def test_bad_config_names_the_setting_and_the_fix(value: str | None, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        KeyRing.from_config(value)
    message = str(info.value)
    assert why in message
    assert "ZOHOAUTH_ENCRYPTION_KEYS" in message
    assert "zohoauth keys generate" in message
    assert b64(KEY_A).rstrip("=") not in message and b64(KEY_B).rstrip("=") not in message


def test_standard_base64_keys_work_too() -> None:
    """What `openssl rand -base64 32` prints (`+`, `/`, padding) is the same key as its urlsafe
    spelling: same id, and each decrypts what the other encrypted."""
    key = bytes([0xFB, 0xFF]) * 16  # encodes with both + and / in either alphabet's place
    standard = base64.b64encode(key).decode()
    assert "+" in standard and "/" in standard and standard.endswith("=")
    ring = KeyRing.from_config(standard)
    urlsafe = KeyRing.from_config(b64(key))
    assert ring.active_kid == urlsafe.active_kid == default_kid(key)
    assert urlsafe.decrypt(ring.encrypt(b"x", b"aad"), b"aad") == b"x"
    assert KeyRing.from_config(f"old:{standard.rstrip('=')}, {b64(KEY_A)}").kids[0] == "old"


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(bytes([0xFB, 0xFF]) * 16).decode().replace("/", "_"),  # mixed alphabets
        base64.b64encode(KEY_A).decode()[:-2] + "!=",
        base64.b64encode(KEY_A).decode()[:-3] + "+/=",  # not canonical (stray low bits)
    ],
)
def test_anything_else_is_refused_as_before(value: str) -> None:
    with pytest.raises(ConfigError, match="is not urlsafe base64"):
        KeyRing.from_config(value)


def test_repr_shows_no_key_material() -> None:
    ring = KeyRing.from_config(b64(KEY_A))
    assert b64(KEY_A).rstrip("=") not in repr(ring)
    assert default_kid(KEY_A) in repr(ring)


def test_wrong_key_unknown_kid_and_moved_ciphertext_fail() -> None:
    blob = RING.encrypt(b"secret-token", AAD)
    with pytest.raises(DecryptionError, match="not in ZOHOAUTH_ENCRYPTION_KEYS"):
        KeyRing.from_keys(KEY_B).decrypt(blob, AAD)
    same_kid_wrong_key = KeyRing.from_config(f"{default_kid(KEY_A)}:{b64(KEY_B)}")
    with pytest.raises(DecryptionError, match="failed authentication") as info:
        same_kid_wrong_key.decrypt(blob, AAD)
    assert "secret-token" not in str(info.value)
    with pytest.raises(DecryptionError, match="another record"):
        RING.decrypt(blob, b"1000.CLIENT:us:700000002")


@pytest.mark.parametrize(
    "blob", ["", "garbage", "v2.abc.AAAA", "v1..AAAA", "v1.k.AAAA.extra", "v1.kid!.AAAA"]
)
def test_malformed_blobs_fail_cleanly(blob: str) -> None:
    with pytest.raises(DecryptionError):
        RING.decrypt(blob, AAD)


def test_short_or_non_canonical_body_fails() -> None:
    kid = RING.active_kid
    with pytest.raises(DecryptionError, match="too short"):
        RING.decrypt(f"v1.{kid}.AAAA", AAD)
    with pytest.raises(DecryptionError, match="base64"):
        RING.decrypt(f"v1.{kid}.A", AAD)


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=256))
def test_property_round_trip(plaintext: bytes, aad: bytes) -> None:
    assert RING.decrypt(RING.encrypt(plaintext, aad), aad) == plaintext


@settings(max_examples=300, deadline=None)
@given(
    plaintext=st.binary(max_size=512),
    aad=st.binary(max_size=64),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_property_any_single_byte_mutation_fails(
    plaintext: bytes, aad: bytes, position: int, flip: int
) -> None:
    blob = RING.encrypt(plaintext, aad)
    prefix, body = blob.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position % len(raw)] ^= flip
    mutated = prefix + "." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(DecryptionError):
        RING.decrypt(mutated, aad)


@settings(max_examples=300, deadline=None)
@given(
    plaintext=st.binary(max_size=256),
    position=st.integers(min_value=0),
    char=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
)
def test_property_any_single_character_change_of_the_text_fails(
    plaintext: bytes, position: int, char: str
) -> None:
    blob = RING.encrypt(plaintext, AAD)
    i = position % len(blob)
    assume(blob[i] != char)
    mutated = blob[:i] + char + blob[i + 1 :]
    with pytest.raises(DecryptionError):
        RING.decrypt(mutated, AAD)


@settings(max_examples=100, deadline=None)
@given(aad=st.binary(max_size=64), other=st.binary(max_size=64))
def test_property_other_aad_fails(aad: bytes, other: bytes) -> None:
    assume(aad != other)
    with pytest.raises(DecryptionError):
        RING.decrypt(RING.encrypt(b"token", aad), other)
