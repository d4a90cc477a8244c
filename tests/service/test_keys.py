"""Service keys as pure functions: shape, checksum, keyed hash, scopes, durations."""

from __future__ import annotations

import pytest

from zohoauth.service import keys as k


def test_a_key_has_the_prefix_and_a_valid_checksum() -> None:
    key = k.generate()
    assert key.startswith("zas_") and len(key) == 4 + 40 + 1 + 6
    assert k.well_formed(key)
    assert k.generate() != key


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # checksum
        lambda s: s[:10] + ("x" if s[10] != "x" else "y") + s[11:],  # body typo
        lambda s: s[:-3],  # truncated
        lambda s: "zat_" + s[4:],  # prefix
        lambda s: s.replace("_", "-"),
    ],
)
def test_typos_and_truncations_are_caught_without_a_lookup(mangle: object) -> None:
    assert not k.well_formed(mangle(k.generate()))  # type: ignore[operator]


def test_the_stored_hash_depends_on_the_pepper() -> None:
    key = k.generate()
    assert k.hash_key(b"a" * 32, key) != k.hash_key(b"b" * 32, key)
    assert key not in k.hash_key(b"a" * 32, key)


def test_scopes() -> None:
    assert k.allows(k.Scope.READ, "read") and not k.allows(k.Scope.READ, "token")
    assert k.allows(k.Scope.TOKEN, "token") and not k.allows(k.Scope.TOKEN, "proxy")
    assert k.allows(k.Scope.PROXY, "proxy") and not k.allows(k.Scope.PROXY, "token")
    assert all(k.allows(k.Scope.ADMIN, a) for a in ("read", "token", "proxy", "refresh", "delete"))


def test_refusals() -> None:
    key = k.ServiceKey("skey_1", "billing", k.Scope.TOKEN, (), created_at=0, expires_at=10)
    assert key.refusal(5) is None
    assert "expired" in (key.refusal(10) or "")
    revoked = k.ServiceKey("skey_1", "billing", k.Scope.TOKEN, (), 0, revoked_at=1)
    assert "revoked" in (revoked.refusal(0) or "")
    assert k.selects_id(key.connections, "conn_x") is True
    assert k.selects_id(("conn_a",), "conn_b") is False


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45", 45)]
)
def test_durations(text: str, seconds: float) -> None:
    assert k.parse_duration(text) == seconds


def test_a_bad_duration_says_how_to_write_one() -> None:
    with pytest.raises(ValueError, match="90d"):
        k.parse_duration("soon")


def test_new_key_repr_hides_the_key() -> None:
    made = k.NewServiceKey(k.ServiceKey("s", "n", k.Scope.TOKEN, (), 0), k.generate())
    assert made.key not in repr(made)
