"""CRMClient's failure paths over real HTTP: 401 refresh-once, 429 back-off, timeouts, errors,
and that no token ever shows in an error, a repr or a log line."""

from __future__ import annotations

import httpx
import pytest

from tests.support.crm import EmulatorTokens, Login, RequestLog, login
from tests.support.logs import capture_logs
from tests.support.zoho import advance_clock
from zohoauth.crm import CRMClient
from zohoauth.errors import (
    CRMError,
    InvalidDataError,
    InvalidModuleError,
    InvalidTokenError,
    RateLimitedError,
    RecordNotFoundError,
    ScopeMismatchError,
    TransportTimeout,
    ZohoUnavailableError,
)

pytestmark = pytest.mark.timeout(60)


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    for text in (str(exc), repr(exc), str(getattr(exc, "details", ""))):
        for secret in secrets:
            assert secret not in text


async def test_expired_token_is_refreshed_once_and_the_call_retried(
    admin: httpx.Client, ava: Login
) -> None:
    tokens = EmulatorTokens(ava)
    async with CRMClient(tokens, "ava") as crm:
        await crm.org()
        old = tokens.token
        advance_clock(admin.base_url, 3601)
        with capture_logs() as logs:
            assert (await crm.org())["zgid"]
    assert tokens.refreshes == 1
    assert tokens.stale_calls == 1
    assert tokens.token != old
    assert all(old not in str(e) and tokens.token not in str(e) for e in logs)


async def test_revoked_access_token_is_refreshed_once(ava: Login) -> None:
    tokens = EmulatorTokens(ava)
    httpx.post(ava.accounts_server + "/oauth/v2/token/revoke", data={"token": ava.access_token})
    async with CRMClient(tokens, "ava") as crm:
        assert (await crm.current_user())["email"] == "ava@zylker.com"
    assert tokens.refreshes == 1


async def test_a_second_401_raises_invalid_token_without_leaking_it(ava: Login) -> None:
    tokens = EmulatorTokens(ava)
    tokens.dead_refresh = True
    httpx.post(ava.accounts_server + "/oauth/v2/token/revoke", data={"token": ava.access_token})
    async with CRMClient(tokens, "ava") as crm:
        with capture_logs() as logs, pytest.raises(InvalidTokenError) as info:
            await crm.list_records("Leads", ["Last_Name"])
        assert "ava" in repr(crm)
        assert ava.access_token not in repr(crm)
    # Asked for a fresh token twice (the first may be another process's, ended as well),
    # retried each time, then gave up.
    assert tokens.stale_calls == 2
    assert (info.value.code, info.value.status) == ("INVALID_TOKEN", 401)
    assert "log in again" in str(info.value)
    assert_no_secret(info.value, ava.access_token, tokens.token, ava.refresh_token)
    assert all(ava.access_token not in str(e) and tokens.token not in str(e) for e in logs)


async def test_scope_mismatch_says_which_scope(admin: httpx.Client) -> None:
    ben = login(admin, "ben@zylker.com", scope="ZohoCRM.users.READ")
    async with CRMClient(EmulatorTokens(ben), "ben") as crm:
        assert (await crm.current_user())["email"] == "ben@zylker.com"
        with pytest.raises(ScopeMismatchError) as info:
            await crm.list_records("Leads", ["Last_Name"])
    assert "log in again" in str(info.value)
    assert "ZohoCRM.modules" in str(info.value)
    assert info.value.code == "OAUTH_SCOPE_MISMATCH"
    assert_no_secret(info.value, ben.access_token)


async def test_unknown_module_and_missing_record(ava: Login) -> None:
    async with CRMClient(EmulatorTokens(ava), "ava") as crm:
        with pytest.raises(InvalidModuleError) as mod:
            await crm.list_records("Nopes", ["Last_Name"])
        assert mod.value.code == "INVALID_MODULE"
        assert "modules()" in str(mod.value)
        with pytest.raises(RecordNotFoundError) as rec:
            await crm.get_record("Leads", "5725767000000999999")
        assert rec.value.code == "INVALID_DATA"


async def test_bad_input_is_invalid_data(ava: Login) -> None:
    async with CRMClient(EmulatorTokens(ava), "ava") as crm:
        with pytest.raises(InvalidDataError) as info:
            await crm.list_records("Leads", [f"Field_{i}" for i in range(51)])
    assert info.value.code in {"LIMIT_EXCEEDED", "INVALID_DATA"}
    assert info.value.status == 400


async def test_names_and_ids_are_checked_before_any_request(ava: Login) -> None:
    tokens = EmulatorTokens(ava)
    async with CRMClient(tokens, "ava") as crm:
        with pytest.raises(InvalidDataError):
            await crm.get_record("Leads", "../../org")
        with pytest.raises(InvalidModuleError):
            await crm.get_record("../settings", "1")
        with pytest.raises(InvalidModuleError):
            crm.iter_records("Leads?x=1", ["Last_Name"])
    assert tokens.calls == 0


async def test_429_backs_off_then_succeeds(admin: httpx.Client, ava: Login) -> None:
    """The credit limit is hit; it is lifted while we back off; the retry goes through."""
    admin.post("/_emulator/config", json={"max_credits_per_day": 1})

    async def lift(status: int) -> None:
        if status == 429:
            admin.post("/_emulator/config", json={"max_credits_per_day": None})

    log = RequestLog(lift)
    http = log.client()
    async with http, CRMClient(EmulatorTokens(ava), "ava", http=http, backoff_base=0.01) as crm:
        await crm.org()
        with capture_logs() as logs:
            assert (await crm.org())["zgid"]
    assert log.statuses == [200, 429, 200]
    assert [e["event"] for e in logs] == ["crm rate limited; backing off"]
    assert all(ava.access_token not in str(e) for e in logs)


async def test_429_that_persists_raises_rate_limited(admin: httpx.Client, ava: Login) -> None:
    admin.post("/_emulator/config", json={"max_credits_per_day": 1})
    log = RequestLog()
    async with (
        log.client() as http,
        CRMClient(
            EmulatorTokens(ava), "ava", http=http, max_retries_429=2, backoff_base=0.01
        ) as crm,
    ):
        await crm.org()
        with pytest.raises(RateLimitedError) as info:
            await crm.org()
    assert log.statuses == [200, 429, 429, 429]  # one try + two bounded retries
    assert (info.value.code, info.value.status) == ("TOO_MANY_REQUESTS", 429)
    assert isinstance(info.value, CRMError)


async def test_a_failed_batch_says_how_many_went_before(admin: httpx.Client, ava: Login) -> None:
    async def outage_after_first(status: int) -> None:
        admin.post("/_emulator/faults", json={"target": "api", "outage": True})

    http = RequestLog(outage_after_first).client()
    async with http, CRMClient(EmulatorTokens(ava), "ava", http=http) as crm:
        with pytest.raises(CRMError) as info:
            await crm.create("Leads", [{"Last_Name": f"Half {i}"} for i in range(150)])
    assert info.value.status == 500
    assert any("100 of 150 records were already sent" in n for n in info.value.__notes__)


async def test_timeout_is_zoho_unavailable(admin: httpx.Client, ava: Login) -> None:
    admin.post("/_emulator/faults", json={"target": "api", "latency_ms": 1000})
    async with CRMClient(EmulatorTokens(ava), "ava", timeout=0.1) as crm:
        with pytest.raises(ZohoUnavailableError) as info:
            await crm.org()
    assert "did not answer GET org in time" in str(info.value)
    assert isinstance(info.value.__cause__, TransportTimeout)  # converted at the transport
    assert_no_secret(info.value, ava.access_token)


async def test_unreachable_host_is_zoho_unavailable(ava: Login) -> None:
    tokens = EmulatorTokens(ava, api_domain="http://127.0.0.1:9")  # nothing listens there
    async with CRMClient(tokens, "ava", timeout=2) as crm:
        with pytest.raises(ZohoUnavailableError, match="could not reach Zoho CRM"):
            await crm.org()


async def test_server_error_keeps_zoho_code(admin: httpx.Client, ava: Login) -> None:
    admin.post("/_emulator/faults", json={"target": "api", "outage": True})
    async with CRMClient(EmulatorTokens(ava), "ava") as crm:
        with pytest.raises(CRMError) as info:
            await crm.modules()
    assert (info.value.code, info.value.status) == ("INTERNAL_ERROR", 500)
    assert "Internal server error" in str(info.value)


async def test_success_logs_nothing(ava: Login) -> None:
    async with CRMClient(EmulatorTokens(ava), "ava") as crm:
        with capture_logs() as logs:
            await crm.org()
            await crm.list_records("Leads", ["Last_Name"], per_page=2)
    assert logs == []
