"""`zohoauth tokens list|show|refresh|revoke|delete` through the real CLI, on every engine.

Users log in through the emulator's consent page first (as the web app would); then each
command runs with the installation's settings as environment variables.
"""

from __future__ import annotations

import json

import httpx
import pytest

from zohoauth.crypto import KeyRing

from ..support.cli import Env, listed, secrets_of, stored_tokens, unreachable_db
from ..support.zoho import emulator_stats, refresh_requests

AVA, CLARA, DEV = "ava@zylker.com", "clara@brightwave.eu", "dev@sunrise.in"


@pytest.fixture
def users(env: Env) -> dict[str, str]:
    """ava (us, two orgs), clara (eu) and dev (in), logged in; email -> a connection id."""
    ava, clara, dev = env.login(AVA, CLARA, DEV)
    env.connect_org(ava.id, "80000002")
    return {AVA: ava.id, CLARA: clara.id, DEV: dev.id}


# -- list / show ---------------------------------------------------------------------------


def test_list_shows_when_each_connection_was_last_used(env: Env, users: dict[str, str]) -> None:
    """Only Ava's first connection asked for a token (connect_org does); the manager wrote its
    last use when it closed, the others were never used."""
    rows = {r["connection_id"]: r for r in listed(env)}
    assert rows[users[AVA]]["last_used_at"]
    assert rows[users[CLARA]]["last_used_at"] is None
    table = env.cli("tokens", "list")
    assert "last used" in table.stdout
    shown = env.cli("tokens", "show", users[AVA])
    assert "last used" in shown.stdout
    assert "ago" in shown.stdout.split("last used")[1].splitlines()[0]


def test_list_shows_every_connection_and_no_secret(env: Env, users: dict[str, str]) -> None:
    table = env.cli("tokens", "list")
    assert table.exit_code == 0, table.output
    for expected in ("Zylker Labs", "Brightwave", "active", "in 59m"):
        assert expected in table.stdout
    # Piped (not a terminal): a header line and one tab-separated line per connection.
    header, *lines = table.stdout.splitlines()
    assert header.split("\t")[-1] == "connection" and len(lines) == 4
    rows = listed(env)
    assert [(r["email"], r["dc"], r["org_id"]) for r in rows] == [
        (AVA, "us", "80000001"),
        (AVA, "us", "80000002"),
        (CLARA, "eu", "80000003"),
        (DEV, "in", "80000004"),
    ]
    assert listed(env, "--email", "CLARA@brightwave.eu")[0]["connection_id"] == users[CLARA]
    assert listed(env, "--status", "reauth_required") == []
    for secret in secrets_of(env):
        assert secret not in table.output
        assert secret not in json.dumps(rows)


def test_list_of_an_empty_store(env: Env) -> None:
    result = env.cli("tokens", "list")
    assert result.exit_code == 0
    assert "no stored tokens yet" in result.stdout
    assert listed(env) == []


def test_show_by_id_email_and_email_org(env: Env, users: dict[str, str]) -> None:
    by_id = env.cli("tokens", "show", users[CLARA], "--json")
    assert by_id.exit_code == 0, by_id.output
    shown = json.loads(by_id.stdout)
    assert (shown["email"], shown["dc"], shown["org_name"]) == (CLARA, "eu", "Brightwave GmbH")
    assert env.cli("tokens", "show", CLARA).exit_code == 0
    labs = env.cli("tokens", "show", f"{AVA}:80000002")
    assert labs.exit_code == 0 and "Zylker Labs" in labs.stdout
    by_key = env.cli("tokens", "show", f"{env.client.client_id}:eu:{shown['zuid']}")
    assert by_key.exit_code == 0 and users[CLARA] in by_key.stdout
    assert env.cli("tokens", "show", f"{env.client.client_id}:in:999").exit_code == 1
    for secret in secrets_of(env):
        assert secret not in by_id.output


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (AVA, "matches 2 connections"),
        ("nobody@example.com", "nothing stored for nobody@example.com"),
        ("conn_doesnotexist", "no connection conn_doesnotexist"),
        ("not-a-key", "neither a connection id"),
    ],
)
def test_show_of_a_wrong_key_is_a_clear_error(
    env: Env, users: dict[str, str], ref: str, message: str
) -> None:
    result = env.cli("tokens", "show", ref)
    assert result.exit_code == 1
    assert message in result.stderr


def test_wrong_encryption_key_is_a_clear_error(env: Env, users: dict[str, str]) -> None:
    result = env.cli("tokens", "list", encryption_keys=KeyRing.generate_key())
    assert result.exit_code == 1
    assert "not in ZOHOAUTH_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.output


def test_missing_key_and_unreachable_database(env: Env) -> None:
    missing = env.cli("tokens", "list", encryption_keys=None)
    assert missing.exit_code == 1
    assert "ZOHOAUTH_ENCRYPTION_KEYS" in missing.stderr and "keys generate" in missing.stderr
    down = env.cli("tokens", "list", database_url=unreachable_db(env.url))
    assert down.exit_code == 1
    assert "error:" in down.stderr and "hunter2" not in down.output


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_all_sends_nothing_while_tokens_are_fresh(env: Env, users: dict[str, str]) -> None:
    before = refresh_requests(env.emulator_url)
    result = env.cli("tokens", "refresh", "--all")
    assert result.exit_code == 0, result.output
    assert "3 fresh" in result.stdout  # three credentials (ava's two orgs share one)
    assert refresh_requests(env.emulator_url) == before


def test_refresh_all_force_refreshes_each_credential_once(env: Env, users: dict[str, str]) -> None:
    old = stored_tokens(env)
    before = refresh_requests(env.emulator_url)
    result = env.cli("tokens", "refresh", "--all", "--force")
    assert result.exit_code == 0, result.output
    assert "3 refreshed" in result.stdout
    assert refresh_requests(env.emulator_url) == before + 3
    rows = listed(env)
    assert all(r["refreshed_at"] for r in rows)
    new = stored_tokens(env)
    for email, (refresh, access) in old.items():  # refresh tokens kept, access tokens new
        assert new[email][0] == refresh and new[email][1] != access


def test_refresh_one_by_email(env: Env, users: dict[str, str]) -> None:
    before = refresh_requests(env.emulator_url)
    result = env.cli("tokens", "refresh", CLARA, "--force")
    assert result.exit_code == 0, result.output
    assert "refreshed clara@brightwave.eu (eu)" in result.stdout
    assert refresh_requests(env.emulator_url) == before + 1


def test_refresh_reports_a_revoked_user_and_keeps_going(env: Env, users: dict[str, str]) -> None:
    httpx.post(env.emulator_url + "/_emulator/revoke-user", json={"email": DEV})
    result = env.cli("tokens", "refresh", "--all", "--force")
    assert result.exit_code == 3
    assert "reauth_required dev@sunrise.in" in result.stdout
    assert "2 refreshed" in result.stdout
    status = {r["email"]: r["status"] for r in listed(env)}
    assert status == {AVA: "active", CLARA: "active", DEV: "reauth_required"}
    again = env.cli("tokens", "refresh", DEV, "--force")
    assert again.exit_code == 0  # skipped without asking Zoho: the user must log in
    assert "skipped dev@sunrise.in" in again.stdout


def test_refresh_during_an_outage_loses_nothing(env: Env, users: dict[str, str]) -> None:
    old = secrets_of(env)
    httpx.post(
        env.emulator_url + "/_emulator/faults",
        json={"target": "accounts", "dc": None, "outage": True},
    ).raise_for_status()
    result = env.cli("tokens", "refresh", CLARA, "--force")
    assert result.exit_code == 1
    assert "unavailable" in result.stdout
    due = env.cli("tokens", "refresh", CLARA, refresh_skew="100000")  # due, still valid
    assert due.exit_code == 1
    assert "unavailable clara@brightwave.eu (eu)" in due.stdout
    assert "the current token stays valid" in due.stdout
    assert secrets_of(env) == old  # still there, still decrypts, still active
    assert {r["status"] for r in listed(env)} == {"active"}


def test_refresh_while_zoho_throttles_says_so_and_keeps_the_token(
    env: Env, users: dict[str, str]
) -> None:
    old = secrets_of(env)
    httpx.post(
        env.emulator_url + "/_emulator/config", json={"max_refreshes_per_window": 0}
    ).raise_for_status()
    # A skew longer than a token lives: the stored token is due, yet Zoho still accepts it.
    result = env.cli("tokens", "refresh", CLARA, refresh_skew="100000")
    assert result.exit_code == 1
    assert "throttled clara@brightwave.eu (eu)" in result.stdout
    assert "the current token stays valid" in result.stdout
    assert secrets_of(env) == old
    again = env.cli("tokens", "refresh", CLARA, "--force")
    assert "skipped clara@brightwave.eu" in again.stdout  # inside Zoho's window: not asked


def test_refresh_needs_a_key_or_all(env: Env) -> None:
    assert env.cli("tokens", "refresh").exit_code == 2
    assert env.cli("tokens", "refresh", AVA, "--all").exit_code == 2


# -- revoke / delete -------------------------------------------------------------------------


def test_revoke_ends_the_grant_at_zoho_then_forgets_it(env: Env, users: dict[str, str]) -> None:
    refresh_token = stored_tokens(env)[CLARA][0]
    stats = emulator_stats(env.emulator_url)["token_requests"]["revoke"]
    result = env.cli("tokens", "revoke", CLARA, "--yes")
    assert result.exit_code == 0, result.output
    assert "revoked at Zoho and deleted" in result.stdout
    assert [r["email"] for r in listed(env)] == [AVA, AVA, DEV]
    after = emulator_stats(env.emulator_url)["token_requests"]["revoke"]
    assert after == stats + 1
    dead = httpx.post(
        env.emulator_url + "/eu/accounts/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": env.client.client_id,
            "client_secret": env.client.client_secret,
        },
    )
    assert dead.json() == {"error": "invalid_code"}


def test_revoke_asks_first_and_no_changes_nothing(env: Env, users: dict[str, str]) -> None:
    result = env.cli("tokens", "revoke", CLARA, input="n\n")
    assert result.exit_code == 1
    assert "nothing changed" in result.stderr
    assert len(listed(env)) == 4


def test_revoke_during_an_outage_keeps_the_credential(env: Env, users: dict[str, str]) -> None:
    httpx.post(
        env.emulator_url + "/_emulator/faults",
        json={"target": "accounts", "dc": "eu", "outage": True},
    ).raise_for_status()
    result = env.cli("tokens", "revoke", CLARA, "--yes")
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert "nothing was deleted" in result.stderr
    status = {r["email"]: r["status"] for r in listed(env)}
    assert status[CLARA] == "revoke_pending"  # kept, and shown, until a revocation succeeds
    httpx.post(
        env.emulator_url + "/_emulator/faults", json={"target": "accounts", "dc": "eu"}
    ).raise_for_status()
    again = env.cli("tokens", "revoke", CLARA, "--yes")
    assert again.exit_code == 0, again.output
    assert "revoked at Zoho and deleted" in again.stdout
    assert CLARA not in [r["email"] for r in listed(env)]


def test_revoke_of_a_grant_zoho_already_ended_forgets_it(env: Env, users: dict[str, str]) -> None:
    httpx.post(env.emulator_url + "/_emulator/revoke-user", json={"email": CLARA})
    result = env.cli("tokens", "revoke", CLARA, "--yes")
    assert result.exit_code == 0, result.output
    assert "already invalid at Zoho; deleted" in result.stdout
    assert CLARA not in [r["email"] for r in listed(env)]


def test_delete_asks_first(env: Env, users: dict[str, str]) -> None:
    kept = env.cli("tokens", "delete", users[DEV], input="n\n")
    assert kept.exit_code == 1 and len(listed(env)) == 4
    gone = env.cli("tokens", "delete", users[DEV], input="y\n")
    assert gone.exit_code == 0, gone.output
    assert [r["email"] for r in listed(env)] == [AVA, AVA, CLARA]


def test_delete_one_org_keeps_the_other(env: Env, users: dict[str, str]) -> None:
    result = env.cli("tokens", "delete", f"{AVA}:80000002", "--yes")
    assert result.exit_code == 0, result.output
    rows = listed(env, "--email", AVA)
    assert [r["org_id"] for r in rows] == ["80000001"]
    assert env.cli("tokens", "delete", "conn_gone", "--yes").exit_code == 1
