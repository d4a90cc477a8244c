"""The refresher's pure decisions: when a credential is due, Zoho's limits, the daily spread."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zohoauth.credentials import CredentialKey
from zohoauth.errors import (
    ReauthRequiredError,
    StoreError,
    ThrottledError,
    ZohoAuthError,
    ZohoUnavailableError,
)
from zohoauth.refresher.plan import (
    MAX_LIFETIME,
    RefresherConfig,
    Snapshot,
    after_failure,
    after_refresh,
    decide,
    lag,
    min_gap,
    next_slot,
    slot_offset,
)
from zohoauth.refresher.worker import BatchResult, failure_kind

CFG = RefresherConfig()
DAY = 86400.0
NOW = 1_800_000_000.0

keys = st.builds(
    CredentialKey,
    st.just("1000.CLIENT"),
    st.sampled_from(["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"]),
    st.text("0123456789", min_size=5, max_size=12),
)


def snap(key: CredentialKey | None = None, **kw: float | None) -> Snapshot:
    base: dict[str, object] = {
        "key": key or CredentialKey("1000.CLIENT", "us", "700001"),
        "expires_at": NOW + 3000,
        "created_at": NOW - 7 * DAY,
        "refreshed_at": NOW - 600,
        "planned_at": NOW - 1,
    }
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


# -- the daily spread ------------------------------------------------------------------------


def test_the_slot_is_stable_across_processes_and_releases() -> None:
    """BLAKE2b of the key, not Python's salted hash: the same number in every process. A
    change here moves every grant's daily check, so it is pinned."""
    k = CredentialKey("1000.CLIENT", "us", "700001")
    assert slot_offset(k, DAY) == pytest.approx(slot_offset(k, DAY))
    assert round(slot_offset(k, DAY), 3) == 69624.978  # 19:20:24.978 into the day


def test_ten_thousand_idle_grants_spread_over_the_day_without_a_midnight_herd() -> None:
    per_hour = Counter(
        int(slot_offset(CredentialKey("1000.CLIENT", "us", str(700_000 + i)), DAY) // 3600)
        for i in range(10_000)
    )
    assert len(per_hour) == 24
    assert max(per_hour.values()) < 10_000 / 24 * 1.3  # no hour gets more than 30% over fair


@given(keys, st.floats(0, 4e9), st.sampled_from([60.0, 3600.0, DAY]))
def test_next_slot_is_within_one_period_and_at_the_keys_offset(
    key: CredentialKey, after: float, period: float
) -> None:
    t = next_slot(key, after, period)
    assert after < t <= after + period + 1e-6 * max(1.0, after)
    assert math.isclose((t - slot_offset(key, period)) % period, 0, abs_tol=1e-3) or math.isclose(
        (t - slot_offset(key, period)) % period, period, abs_tol=1e-3
    )


# -- decisions -------------------------------------------------------------------------------


def test_an_active_user_is_refreshed_lead_seconds_before_expiry() -> None:
    s = snap(last_used_at=NOW - 60, expires_at=NOW + 700)
    d = decide(s, NOW, CFG)
    assert not d.refresh and d.at == NOW + 100 and d.reason == "not_due"
    d = decide(s, NOW + 100, CFG)
    assert d.refresh and d.reason == "expiring" and d.due == NOW + 100


def test_a_user_not_seen_within_the_active_window_is_only_checked_daily() -> None:
    s = snap(last_used_at=NOW - 2 * DAY, expires_at=NOW - 10)  # expired, idle
    d = decide(s, NOW, CFG)
    assert d.reason in ("not_due", "daily_check")
    assert d.at <= s.refreshed_at + DAY  # type: ignore[operator]


def test_a_never_planned_old_grant_is_checked_at_its_slot_of_the_coming_day_not_at_once() -> None:
    """Deploying the refresher over many old idle grants must not check them all at once."""
    s = snap(refreshed_at=None, planned_at=0.0, created_at=NOW - 30 * DAY, expires_at=NOW - DAY)
    d = decide(s, NOW, CFG)
    assert not d.refresh and NOW < d.at <= NOW + DAY


def test_zohos_access_denied_window_is_waited_out() -> None:
    s = snap(last_used_at=NOW, expires_at=NOW + 10, throttled_until=NOW + 400)
    d = decide(s, NOW, CFG)
    assert not d.refresh and d.reason == "throttled" and d.at >= NOW + 400


@given(
    expires_in=st.floats(-DAY, 2 * 3600),
    refreshed_ago=st.one_of(st.none(), st.floats(0, 2 * DAY)),
    used_ago=st.one_of(st.none(), st.floats(0, 3 * DAY)),
    planned=st.sampled_from([0.0, NOW - 5]),
    key=keys,
)
@settings(max_examples=300)
def test_never_two_refreshes_closer_than_zohos_limits_allow(
    expires_in: float,
    refreshed_ago: float | None,
    used_ago: float | None,
    planned: float,
    key: CredentialKey,
) -> None:
    """Whatever the row says, a refresh is never sooner than 60 s (10 per 10 min, §4) after
    the previous one, nor sooner than lifetime/15 (15 live access tokens); and every decision
    names a time to come back to."""
    refreshed_at = None if refreshed_ago is None else NOW - refreshed_ago
    s = Snapshot(
        key=key,
        expires_at=NOW + expires_in,
        created_at=NOW - 10 * DAY,
        refreshed_at=refreshed_at,
        last_used_at=None if used_ago is None else NOW - used_ago,
        planned_at=planned,
    )
    d = decide(s, NOW, CFG)
    if d.refresh:
        assert refreshed_at is None or NOW - refreshed_at >= min_gap(s, CFG) - 1e-6
        assert d.due <= NOW
    else:
        assert d.at > NOW or d.reason == "throttled"
    nxt = after_refresh(s, NOW + 3600, NOW, CFG)
    assert nxt >= NOW + 60 - 1e-6
    assert nxt >= NOW + MAX_LIFETIME / 15 - 1e-6


@given(refreshed_ago=st.floats(0, DAY), key=keys, used=st.booleans(), expires_in=st.floats(0, 3600))
def test_every_grant_is_looked_at_again_within_a_day(
    refreshed_ago: float, key: CredentialKey, used: bool, expires_in: float
) -> None:
    s = Snapshot(
        key=key,
        expires_at=NOW + expires_in,
        created_at=NOW - 10 * DAY,
        refreshed_at=NOW - refreshed_ago,
        last_used_at=NOW if used else None,
        planned_at=NOW - 1,
    )
    assert decide(s, NOW, CFG).at <= NOW - refreshed_ago + DAY + 1e-3


def test_a_failed_refresh_is_retried_later_spread_and_a_throttle_end_is_honoured() -> None:
    s = snap()
    at = after_failure(s, NOW, CFG, None)
    assert NOW + CFG.retry_failed / 2 <= at <= NOW + CFG.retry_failed
    assert after_failure(s, NOW, CFG, NOW + 500) == NOW + 500


def test_lag_is_how_late_and_never_negative() -> None:
    assert lag(NOW - 5, NOW) == 5
    assert lag(NOW + 5, NOW) == 0


def test_the_worker_backoff_doubles_up_to_its_cap() -> None:
    policy = RefresherConfig(backoff_base=2, backoff_cap=30).backoff
    ceilings = [policy.ceiling(n) for n in range(6)]
    assert ceilings == [2, 4, 8, 16, 30, 30]
    assert all(c / 2 <= policy.delay(n) <= c for n, c in enumerate(ceilings))


def test_bad_configuration_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RefresherConfig(batch_size=0)
    with pytest.raises(ValueError, match="lead"):
        RefresherConfig(lead=-1)


def test_failures_are_counted_by_kind_and_a_batch_of_only_outages_backs_off() -> None:
    assert failure_kind(ReauthRequiredError("x")) == "reauth_required"
    assert failure_kind(ThrottledError("x", NOW)) == "throttled"
    assert failure_kind(ZohoUnavailableError("x")) == "unavailable"
    assert failure_kind(StoreError("x")) == "store"
    assert failure_kind(ZohoAuthError("x")) == "error"
    assert BatchResult(claimed=3, failed={"unavailable": 3}).outage
    assert not BatchResult(claimed=3, refreshed=1, failed={"unavailable": 2}).outage
    assert not BatchResult(claimed=3, failed={"reauth_required": 3}).outage
