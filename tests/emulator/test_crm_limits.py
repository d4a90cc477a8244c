"""Per-org API limits over HTTP: concurrent requests and daily credits -> 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx

from zohoauth.emulator import BackgroundEmulator

from .conftest import Crm


def test_limits_are_off_by_default(crm: Crm) -> None:
    for _ in range(30):
        assert crm.http.get("org").status_code == 200


def test_concurrency_limit_per_org(
    crm: Crm, crm_for: Callable[..., Crm], admin: httpx.Client, emu: BackgroundEmulator
) -> None:
    admin.post("/_emulator/config", json={"max_concurrent_requests": 1}).raise_for_status()
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b'{"data": [{"Last_Name": '
        release.wait(10)
        yield b'"Slow"}]}'

    result: list[int] = []
    uploader = threading.Thread(
        target=lambda: result.append(crm.http.post("Leads", content=slow_body()).status_code)
    )
    uploader.start()
    try:
        deadline = time.monotonic() + 10  # wait until the upload is in flight at "Zoho"
        while emu.state.in_flight.get("80000001") != 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert emu.state.in_flight.get("80000001") == 1
        busy = crm_for("ben@zylker.com").http.get("org")  # same org, another user
        assert busy.status_code == 429
        assert busy.json()["code"] == "TOO_MANY_REQUESTS"
        assert busy.json()["status"] == "error"
        other_org = crm_for("ava@zylker.com", org="80000002").http.get("org")
        assert other_org.status_code == 200
    finally:
        release.set()
        uploader.join(10)
    assert result == [201]
    assert crm.http.get("org").status_code == 200  # the slot is free again
    assert emu.state.in_flight.get("80000001") is None


def test_daily_credits_per_org_in_a_rolling_window(
    crm_for: Callable[..., Crm], admin: httpx.Client
) -> None:
    admin.post("/_emulator/config", json={"max_credits_per_day": 3}).raise_for_status()
    ava = crm_for()
    assert [ava.http.get("org").status_code for _ in range(3)] == [200, 200, 200]
    spent = ava.http.get("Leads", params={"fields": "Last_Name"})
    assert spent.status_code == 429
    assert spent.json()["code"] == "TOO_MANY_REQUESTS"
    assert crm_for("ben@zylker.com").http.get("org").status_code == 429  # the org's credits
    assert crm_for("clara@brightwave.eu").http.get("org").status_code == 200
    admin.post("/_emulator/clock", json={"advance_seconds": 12 * 3600}).raise_for_status()
    assert crm_for().http.get("org").status_code == 429  # still inside the 24 h window
    admin.post("/_emulator/clock", json={"advance_seconds": 12 * 3600 + 1}).raise_for_status()
    assert crm_for().http.get("org").status_code == 200
