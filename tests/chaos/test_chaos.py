"""Issue 12, "prove it under load and faults": `serve --workers 2` on PostgreSQL, 20 logged-in
users working, while the emulator injects one fault after another.

The scenario is `bench.chaos` at its `ci` size — the same code `python -m bench chaos` runs with
200 users — run once for this module (about three minutes on a busy 2-core machine); each test
below checks one property of its report. The faults: an accounts outage while every token needs
a refresh, CRM 5xx at 20 %, 2 s latency, refresh throttling, 10 % of the users revoking the app
at Zoho, and a PostgreSQL restart amid a wave of refreshes (the run's own throwaway cluster,
never the shared server). What counts as a correct answer is `bench/chaos/verdict.py`.

Known bugs are strict xfails naming where the fix belongs, so the day one is fixed this module
says so. Figures of a run are in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from bench import chaos
from bench.chaos import report as chaos_report

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

FAULTS = (
    "accounts_outage",
    "crm_5xx",
    "latency_2s",
    "refresh_throttled",
    "revoke_users",
    "postgres_restart",
)
#: The error each fault must cause during its window (proof that it was felt); None: every
#: request must still succeed.
FELT = {
    "accounts_outage": "503 zoho_unavailable",
    "crm_5xx": "503 zoho_unavailable",
    "latency_2s": None,
    "refresh_throttled": "503 throttled",
    "revoke_users": "401 reauth_required",
    "postgres_restart": "503 store_unavailable",
}


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    if not os.environ.get("ZOHOAUTH_TEST_POSTGRES_URL"):
        try:
            from bench.chaos.postgres import Cluster

            Cluster().close()
        except RuntimeError as exc:
            pytest.skip(f"no PostgreSQL to run the chaos scenario on ({exc})")
    found = chaos.run("ci", say=lambda line: None)
    out = os.environ.get("ZOHOAUTH_CHAOS_REPORT")  # keep the figures of a CI run, if asked
    if out:
        Path(out).write_text(json.dumps(found, indent=1, default=str))
    print("\n" + chaos_report.text(found))
    return found


def fault(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in run["faults"] if f["fault"] == name)


def test_before_any_fault_every_request_succeeds(run: dict[str, Any]) -> None:
    baseline = run["baseline"]["during"]
    assert baseline["requests"] > 0
    assert baseline["ok"] == baseline["requests"], baseline["errors_by_kind"]


@pytest.mark.parametrize("name", FAULTS)
def test_users_see_only_documented_errors_during_and_after(run: dict[str, Any], name: str) -> None:
    f = fault(run, name)
    assert f["during"]["requests"] > 0, "the load generator sent nothing during the fault"
    felt = FELT[name]
    if felt is None:
        assert f["during"]["ok"] == f["during"]["requests"], f["during"]["errors_by_kind"]
    else:
        assert felt in f["during"]["errors_by_kind"], f"{name} was not felt: {f['during']}"
    assert f["during"]["violations"] == {}
    assert f["recovery"]["violations"] == {}


def test_the_app_never_answers_500_and_logs_no_unhandled_error(run: dict[str, Any]) -> None:
    statuses = {int(s): n for s, n in run["app_log"]["statuses"].items()}
    assert {s for s in statuses if s >= 500} <= {502, 503}, statuses
    assert run["app_log"]["errors"] == []
    assert run["app_alive"]


def test_throttled_answers_say_when_to_come_back(run: dict[str, Any]) -> None:
    waits = fault(run, "refresh_throttled")["retry_after"]
    assert waits, "no Retry-After on a throttled answer"
    assert all(1 <= w <= 600 for w in waits), waits  # Zoho's window is 10 minutes


def test_tokens_minted_per_credential_stay_within_zoho_limits(run: dict[str, Any]) -> None:
    limits = run["zoho_limits"]
    assert limits["max_minted_in_600s_per_credential"] <= limits["limit_minted_per_600s"]
    assert limits["throttled_outside_the_throttle_fault"] == 0  # we never provoked Zoho


def test_a_throttled_credential_is_not_asked_again_within_the_window(run: dict[str, Any]) -> None:
    during = fault(run, "refresh_throttled")["refreshes_during"]
    assert during["credentials"] >= len(run["final_reads"]) // 2  # most users needed one
    # One request per credential, or one per worker when both met the expiry at once: a worker
    # that took the lease just after the other recorded the throttle asks once more.
    assert during["max_requests_per_credential"] <= run["workers"]


def test_refresh_requests_per_credential_stay_within_zoho_limits(run: dict[str, Any]) -> None:
    assert run["zoho_limits"]["max_requests_in_600s_per_credential"] <= 10


def test_every_fault_recovers(run: dict[str, Any]) -> None:
    not_recovered = {f["fault"]: f["notes"] for f in run["faults"] if f["recovery_seconds"] is None}
    assert not_recovered == {}


def test_no_token_is_lost(run: dict[str, Any]) -> None:
    assert run["tokens_lost"] == []
    store = run["store"]
    assert store["statuses"] == {"active": store["credentials"]}
    assert store["still_throttled"] == 0
    assert store["duplicate_credentials"] == 0
    assert store["duplicate_connections"] == 0
    assert store["credentials"] == store["connections"]  # one org each, one row each


def test_revoked_users_are_asked_to_log_in_again_and_then_work(run: dict[str, Any]) -> None:
    assert run["revoked_users"], "nobody was revoked"
    assert run["revoked_users_failing_after_login"] == []


def test_no_lease_is_left_behind(run: dict[str, Any]) -> None:
    assert run["store"]["leases_held"] == []


def test_a_login_a_fault_broke_works_once_the_fault_clears(run: dict[str, Any]) -> None:
    failed = [(f["fault"], x) for f in run["faults"] for x in f["logins"] if x["status"] != 200]
    assert failed, "no fault broke a login: the probes proved nothing"
    assert [(name, x) for name, x in failed if not x.get("after_clear", {}).get("ok")] == []


def test_a_login_a_fault_broke_answers_503_with_retry_after(run: dict[str, Any]) -> None:
    for f in run["faults"]:
        for x in f["logins"]:
            if x["status"] != 200:
                assert x["status"] == 503, (f["fault"], x)
                assert x["retry_after"].isdigit(), (f["fault"], x)
                assert "try again" in x["message"].lower(), (f["fault"], x)


def test_no_answer_reveals_the_server_internals(run: dict[str, Any]) -> None:
    assert {f["fault"]: f["revealing"] for f in run["faults"] if f["revealing"]} == {}
    assert [x for f in run["faults"] for x in f["logins"] if x.get("reveals")] == []
