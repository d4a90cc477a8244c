"""Webhook signing and the receiver's documented check; backoff; the token bucket."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from zohoauth.service import webhooks as wh
from zohoauth.service.ratelimit import TokenBuckets


def test_the_documented_recipe_verifies_a_signature() -> None:
    body = b'{"type":"login"}'
    header = wh.sign("whsec_x", 1_700_000_000, body)
    # The recipe in docs/token-service.md, written out by hand:
    parts = dict(p.split("=", 1) for p in header.split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(b"whsec_x", signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    assert wh.verify("whsec_x", header, body, now=1_700_000_100)


def test_a_replayed_or_tampered_delivery_is_refused() -> None:
    body = b'{"type":"login"}'
    header = wh.sign("whsec_x", 1_700_000_000, body)
    assert not wh.verify("whsec_x", header, body, now=1_700_000_000 + 301)  # too old
    assert not wh.verify("whsec_x", header, body + b" ", now=1_700_000_000)
    assert not wh.verify("whsec_y", header, body, now=1_700_000_000)
    assert not wh.verify("whsec_x", "v1=abc", body, now=1_700_000_000)


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [wh.backoff(n, 10) for n in (1, 2, 3)] == [10, 20, 40]
    assert wh.backoff(30, 10) == 3600


def test_event_names_are_checked() -> None:
    assert wh.parse_events("login, logout,login") == ("login", "logout")
    with pytest.raises(ValueError, match="nope"):
        wh.parse_events("login,nope")


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("k", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k", 0.0) == pytest.approx(0.5)
    assert buckets.take("k", 0.5) == 0.0  # one token back after half a second
    assert buckets.take("other", 0.0) == 0.0  # per key
