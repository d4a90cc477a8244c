"""The pure parts of `zohoauth.ops.admin`: whether to refresh a credential now, and durations."""

from __future__ import annotations

import pytest

from zohoauth.credentials import Credential, CredentialKey, Status, TokenSet
from zohoauth.ops.admin import format_duration, format_time, refresh_plan

NOW = 1_800_000_000.0
KEY = CredentialKey("1000.ME", "eu", "42")


def cred(expires_in: float = 3600, status: Status = Status.ACTIVE, **kw: float) -> Credential:
    tokens = TokenSet("1000.r.r", "1000.a.a", NOW + expires_in)
    return Credential(
        KEY, "ada@example.com", tokens, "https://www.zohoapis.eu", (), status, 1, **kw
    )


def test_due_credentials_go_ahead() -> None:
    assert refresh_plan(cred(expires_in=60), "1000.ME", NOW, 300, force=False) is None
    assert refresh_plan(cred(), "1000.ME", NOW, 300, force=True) is None


@pytest.mark.parametrize(
    ("c", "client", "force", "outcome", "says"),
    [
        (cred(), "1000.ME", False, "fresh", "valid for 1h00m"),
        (cred(), "1000.OTHER", True, "skipped", "belongs to client 1000.ME"),
        (cred(status=Status.REAUTH_REQUIRED), "1000.ME", True, "skipped", "must log in"),
        (cred(throttled_until=NOW + 120), "1000.ME", True, "skipped", "throttles"),
    ],
)
def test_reasons_not_to_ask_zoho(
    c: Credential, client: str, force: bool, outcome: str, says: str
) -> None:
    result = refresh_plan(c, client, NOW, 300, force=force)
    assert result is not None and result.outcome == outcome and says in result.detail


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (61, "1m"),
        (3600, "1h00m"),
        (3 * 86400 + 7200, "3d02h"),
        (-90, "-1m"),
    ],
)
def test_durations(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_times() -> None:
    assert format_time(None) == "never"
    assert format_time(NOW + 120, NOW) == "in 2m"
    assert format_time(NOW - 7200, NOW) == "2h00m ago"
