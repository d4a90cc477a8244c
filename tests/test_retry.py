"""The one retry policy: which failures are retried, how often, how long each wait may be, and
what a Retry-After header says. Pure, so tested exhaustively (hypothesis where it helps)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohoauth.errors import (
    CRMError,
    RateLimitedError,
    ReauthRequiredError,
    ThrottledError,
    TokenError,
    ZohoUnavailableError,
)
from zohoauth.manager import ManagerConfig
from zohoauth.retry import (
    ON_RATE_LIMIT,
    ON_UNAVAILABLE,
    Failure,
    RetryPolicy,
    failure_of,
    failure_of_status,
    retry_after_seconds,
    retrying,
)

policies = st.builds(
    RetryPolicy,
    attempts=st.integers(1, 10),
    base=st.floats(0, 1e6),
    cap=st.floats(0, 1e6),
    retry_on=st.frozensets(st.sampled_from(Failure)),
)
unit = st.floats(0, 1, exclude_max=True)
retries = st.integers(0, 5000)


# -- which failures ------------------------------------------------------------------------


@pytest.mark.parametrize("status", range(100, 600))
def test_only_429_and_5xx_are_retryable_statuses(status: int) -> None:
    expected = (
        Failure.RATE_LIMITED if status == 429 else Failure.UNAVAILABLE if status >= 500 else None
    )
    assert failure_of_status(status) is expected


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (ZohoUnavailableError("down"), Failure.UNAVAILABLE),
        (RateLimitedError("429", status=429), Failure.RATE_LIMITED),
        (ThrottledError("Access Denied", 0.0), None),  # Zoho's window: waiting, not retrying
        (ReauthRequiredError("invalid_code"), None),
        (TokenError("invalid_client"), None),
        (CRMError("INVALID_DATA", status=400), None),
        (ValueError("a bug"), None),
    ],
)
def test_errors_map_to_failures(error: Exception, failure: Failure | None) -> None:
    assert failure_of(error) is failure


# -- the numbers ---------------------------------------------------------------------------


def _windows(policy: RetryPolicy) -> list[tuple[float, float | None]]:
    """(shortest, longest) wait before each retry the policy allows."""
    return [
        (policy.delay(n, rand=lambda: 0.0) or 0.0, policy.ceiling(n))
        for n in range(policy.attempts - 1)
    ]


def test_zoho_unavailable_is_three_tries_waiting_a_quarter_to_one_second() -> None:
    assert ON_UNAVAILABLE.attempts == 3
    assert ON_UNAVAILABLE.retry_on == {Failure.UNAVAILABLE}
    assert _windows(ON_UNAVAILABLE) == [(0.25, 0.5), (0.5, 1.0)]


def test_rate_limits_are_four_tries_or_a_retry_after_up_to_thirty_seconds() -> None:
    assert ON_RATE_LIMIT.attempts == 4
    assert ON_RATE_LIMIT.retry_on == {Failure.RATE_LIMITED}
    assert _windows(ON_RATE_LIMIT) == [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)]
    assert ON_RATE_LIMIT.next_delay(Failure.RATE_LIMITED, 1, 30.0) == 30.0
    assert ON_RATE_LIMIT.next_delay(Failure.RATE_LIMITED, 1, 3600.0) is None  # daily limit
    assert ON_RATE_LIMIT.next_delay(Failure.UNAVAILABLE, 1) is None  # a POST may have landed


def test_the_manager_and_the_crm_client_use_these_numbers() -> None:
    from zohoauth import ZohoHTTP
    from zohoauth.crm._transport import CRMTransport

    http = ZohoHTTP()  # never used: no request is sent

    assert ManagerConfig().retry == ON_UNAVAILABLE
    tuned = ManagerConfig(max_attempts=1, retry_base=0.01).retry
    assert (tuned.attempts, tuned.base, tuned.retry_on) == (1, 0.01, ON_UNAVAILABLE.retry_on)
    transport = CRMTransport(None, "conn_x", http=http)  # type: ignore[arg-type]
    assert transport.retry == ON_RATE_LIMIT
    custom = CRMTransport(
        None,  # type: ignore[arg-type]
        "conn_x",
        http=http,
        max_retries_429=1,
        backoff_base=0.01,
        backoff_max=2.0,
    ).retry
    assert (custom.attempts, custom.base, custom.cap) == (2, 0.01, 2.0)


@pytest.mark.parametrize(
    ("attempts", "base", "cap"),
    [(0, 1.0, 1.0), (1, -1.0, 1.0), (1, 1.0, -1.0), (1, math.inf, 1.0), (1, 1.0, math.nan)],
)
def test_nonsense_policies_are_refused(attempts: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError, match=r"attempt|finite"):
        RetryPolicy(attempts, base, cap, frozenset(Failure))


# -- the waits -----------------------------------------------------------------------------


@given(policies, retries)
def test_the_ceiling_doubles_up_to_the_cap(policy: RetryPolicy, n: int) -> None:
    ceiling = policy.ceiling(n)
    exact = Fraction(policy.base) * 2**n  # no float overflow, however many retries
    assert ceiling == (policy.cap if exact >= policy.cap else float(exact))
    assert ceiling <= policy.ceiling(n + 1)


@given(policies, retries, unit)
def test_a_wait_is_between_half_the_ceiling_and_the_ceiling(
    policy: RetryPolicy, n: int, r: float
) -> None:
    delay = policy.delay(n, rand=lambda: r)
    assert delay is not None
    ceiling = policy.ceiling(n)
    assert ceiling / 2 <= delay <= ceiling
    assert policy.delay(n, rand=lambda: 0.0) == ceiling / 2


@given(policies, retries, st.floats(0, 2e6))
def test_retry_after_is_honoured_up_to_the_cap(
    policy: RetryPolicy, n: int, retry_after: float
) -> None:
    expected = retry_after if retry_after <= policy.cap else None
    assert policy.delay(n, retry_after) == expected


def test_waits_are_jittered() -> None:
    assert len({ON_RATE_LIMIT.delay(2) for _ in range(20)}) > 1


@given(
    policies,
    st.none() | st.sampled_from(Failure),
    st.integers(1, 12),
    st.none() | st.floats(0, 2e6),
    unit,
)
def test_next_delay_gives_up_exactly_when_it_should(
    policy: RetryPolicy,
    failure: Failure | None,
    tries: int,
    retry_after: float | None,
    r: float,
) -> None:
    got = policy.next_delay(failure, tries, retry_after, rand=lambda: r)
    if failure not in policy.retry_on or tries >= policy.attempts:
        assert got is None
    else:
        assert got == policy.delay(tries - 1, retry_after, rand=lambda: r)


@given(policies)
def test_a_policy_allows_attempts_minus_one_retries(policy: RetryPolicy) -> None:
    for failure in policy.retry_on:
        allowed = [
            t for t in range(1, policy.attempts + 3) if policy.next_delay(failure, t) is not None
        ]
        assert allowed == list(range(1, policy.attempts))


# -- Retry-After ---------------------------------------------------------------------------


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("-5") == 0.0
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds("inf") is None
    assert retry_after_seconds("soon") is None
    now = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == 30.0
    assert retry_after_seconds(later, now=now.timestamp() + 60) == 0.0  # already past


@given(st.integers(0, 10**9))
def test_delay_seconds_are_read_as_given(seconds: int) -> None:
    assert retry_after_seconds(str(seconds)) == float(seconds)


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-86_400, 86_400),
)
def test_http_dates_are_seconds_from_now(at: datetime, offset: int) -> None:
    when = at.replace(microsecond=0, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    now = (when - timedelta(seconds=offset)).timestamp()
    assert retry_after_seconds(header, now=now) == max(0.0, float(offset))


@given(st.text())
def test_any_header_is_a_number_of_seconds_or_none(value: str) -> None:
    got = retry_after_seconds(value, now=0.0)
    assert got is None or (got >= 0 and math.isfinite(got))


# -- retrying ------------------------------------------------------------------------------


class Flaky:
    """Raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_retrying_waits_between_tries_and_returns_the_answer() -> None:
    call, sleeps = Flaky(ZohoUnavailableError("a"), ZohoUnavailableError("b")), Sleeps()
    assert await retrying(ON_UNAVAILABLE, call, sleep=sleeps) == "ok"
    assert call.calls == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


async def test_retrying_gives_up_after_the_last_try_with_its_error() -> None:
    errors = [ZohoUnavailableError(str(n)) for n in range(5)]
    call, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(ZohoUnavailableError) as info:
        await retrying(ON_UNAVAILABLE, call, sleep=sleeps)
    assert (call.calls, len(sleeps), str(info.value)) == (3, 2, "2")


@pytest.mark.parametrize(
    "error", [ThrottledError("Access Denied", 0.0), RateLimitedError("429"), TokenError("no")]
)
async def test_retrying_does_not_retry_what_the_policy_does_not_name(error: Exception) -> None:
    call, sleeps = Flaky(error), Sleeps()
    with pytest.raises(type(error)):
        await retrying(ON_UNAVAILABLE, call, sleep=sleeps)
    assert (call.calls, sleeps) == (1, [])
