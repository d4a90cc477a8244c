"""`zohoauth doctor`: one line per check, a non-zero exit when any fails, never a secret."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.ops.checks import check_redirect_uri, compare_serverinfo

from ..support.cli import Env, unreachable_db
from ..support.trap import TrapServer


def lines(output: str) -> dict[str, str]:
    """check name -> its line (✓ ok, ! warning, ✗ failed, - not run)."""
    out = {}
    for line in output.splitlines():
        if line[:1] in "✓!✗-" and ":" in line:
            out[line[2:].split(":", 1)[0]] = line
    return out


def test_a_healthy_installation_passes(env: Env) -> None:
    env.login("clara@brightwave.eu")
    result = env.cli("doctor")
    assert result.exit_code == 0, result.output
    checks = lines(result.stdout)
    for name in (
        "settings",
        "key ring",
        "database",
        "decrypt",
        "redirect URI",
        "data centers",
        "client secrets",
    ):
        assert checks[name].startswith("✓"), checks[name]
    assert {n for n in checks if n.startswith("dc ")} == {
        f"dc {c}" for c in ("us", "eu", "in", "au", "jp", "ca", "sa", "uk", "cn")
    }
    assert "all enabled" in checks["data centers"]
    assert "common for us, eu, in, au, jp" in checks["client secrets"]
    assert checks["serverinfo"].startswith("- serverinfo: not run")  # only with --online
    assert "1 stored" in checks["decrypt"]
    assert "all checks passed" in result.stdout
    for secret in (env.client.client_secret, env.keys, "test-session-secret"):
        assert secret not in result.output


def test_missing_settings_fail(env: Env) -> None:
    result = env.cli("doctor", "--no-network", client_id=None, encryption_keys=None)
    assert result.exit_code == 1
    checks = lines(result.stdout)
    assert checks["settings"].startswith("✗")
    assert "ZOHOAUTH_CLIENT_ID" in checks["settings"]
    assert "ZOHOAUTH_ENCRYPTION_KEYS" in checks["settings"]
    assert checks["key ring"] == "- key ring: not run: ZOHOAUTH_ENCRYPTION_KEYS is not set"
    assert "keys generate" in result.stdout.split("\n\n")[0]  # the "not configured" section


#: Every check doctor has, by the name of its line (the DC probes: one line when not run).
EVERY_CHECK = {
    "settings",
    "key ring",
    "database",
    "decrypt",
    "file modes",
    "redirect URI",
    "data centers",
    "client secrets",
    "dc reachability",
    "serverinfo",
}


def test_not_configured_is_one_section_and_nothing_is_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing set, no data dir: one "not configured" section naming what to set, and every
    other check says it did not run and why; no DC (here: a trap playing them all) is asked."""
    monkeypatch.chdir(tmp_path)
    with TrapServer() as zoho:
        endpoints = {
            dc: {"accounts_server": f"{zoho.url}/{dc}/accounts", "api_domain": f"{zoho.url}/{dc}"}
            for dc in ("us", "eu", "in")
        }
        path = tmp_path / "endpoints.json"
        path.write_text(json.dumps(endpoints))
        result = Env("", None, {"ZOHOAUTH_ZOHO_ENDPOINTS": str(path)}).cli("doctor")  # type: ignore[arg-type]
        assert zoho.requests == []
    assert result.exit_code == 1
    section, _, rest = result.stdout.partition("\n\n")
    assert section.startswith(
        "not configured: set ZOHOAUTH_CLIENT_ID, ZOHOAUTH_CLIENT_SECRET, ZOHOAUTH_ENCRYPTION_KEYS"
    )
    assert "zohoauth demo" in section and "keys generate" in section
    checks = lines(rest)
    assert set(checks) == EVERY_CHECK  # nothing left out silently
    failed = [name for name, line in checks.items() if line.startswith("✗")]
    assert failed == ["settings"]  # one failure, not one per DC
    for name in ("key ring", "database", "decrypt", "client secrets", "dc reachability"):
        assert checks[name].startswith(f"- {name}: not run: "), checks[name]
    assert "ZOHOAUTH_CLIENT_ID" in checks["dc reachability"]
    assert checks["serverinfo"].endswith("not run: only with --online")
    assert "1 check(s) failed; 6 not run" in rest


def test_every_check_has_a_line_and_json_says_the_same(env: Env) -> None:
    env.login("clara@brightwave.eu")
    offline = env.cli("doctor", "--no-network")
    assert offline.exit_code == 0, offline.output
    checks = lines(offline.stdout)
    assert set(checks) == EVERY_CHECK
    assert checks["dc reachability"] == "- dc reachability: not run: --no-network"
    assert "all checks passed; 2 not run" in offline.stdout
    as_json = env.cli("doctor", "--no-network", "--json")
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is True and doc["not_configured"] is None
    levels = {c["name"]: c["level"] for c in doc["checks"]}
    assert levels["decrypt"] == "ok" and levels["serverinfo"] == "not_run"
    assert set(levels) == EVERY_CHECK
    broken = json.loads(env.cli("doctor", "--json", client_id=None).stdout)
    assert broken["ok"] is False and "ZOHOAUTH_CLIENT_ID" in broken["not_configured"]


def test_invalid_setting_is_one_failed_line(env: Env) -> None:
    result = env.cli("doctor", redirect_uri="redirect.html")
    assert result.exit_code == 1
    assert "ZOHOAUTH_REDIRECT_URI" in result.stdout and "absolute" in result.stdout


def test_wrong_key_fails_the_decrypt_check(env: Env) -> None:
    env.login("clara@brightwave.eu")
    other = KeyRing.generate_key()
    result = env.cli("doctor", "--no-network", encryption_keys=other)
    assert result.exit_code == 1
    checks = lines(result.stdout)
    assert checks["database"].startswith("✓")
    assert checks["decrypt"].startswith("✗") and "add those keys back" in checks["decrypt"]


def test_old_keys_are_a_warning(env: Env) -> None:
    env.login("clara@brightwave.eu")
    result = env.cli(
        "doctor", "--no-network", encryption_keys=f"{KeyRing.generate_key()},{env.keys}"
    )
    assert result.exit_code == 0, result.output
    assert lines(result.stdout)["decrypt"].startswith("!")
    assert "keys rotate" in result.stdout


def test_unreachable_and_unmigrated_databases_fail(env: Env, tmp_path: Path) -> None:
    down = env.cli("doctor", "--no-network", database_url=unreachable_db(env.url))
    assert down.exit_code == 1
    assert lines(down.stdout)["database"].startswith("✗")
    assert "hunter2" not in down.output
    empty = env.cli("doctor", "--no-network", database_url=f"sqlite:///{tmp_path / 'new.db'}")
    assert empty.exit_code == 1
    assert "zohoauth db upgrade" in lines(empty.stdout)["database"]


def test_unreachable_zoho_fails_fast(env: Env) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    endpoints = {
        "us": {
            "accounts_server": f"http://127.0.0.1:{port}/us/accounts",
            "api_domain": f"http://127.0.0.1:{port}/us/api",
        }
    }
    path = Path(env.vars["ZOHOAUTH_DATA_DIR"]).parent / "endpoints.json"
    path.write_text(json.dumps(endpoints))
    result = env.cli("doctor", zoho_endpoints=str(path))
    assert result.exit_code == 1
    assert lines(result.stdout)["dc us"].startswith("✗")
    assert "unreachable" in result.stdout
    gone = env.cli("doctor", zoho_endpoints=f"http://127.0.0.1:{port}/_emulator/endpoints")
    assert gone.exit_code == 1
    assert lines(gone.stdout)["data centers"].startswith("✗")


@pytest.mark.parametrize(
    ("uri", "level"),
    [
        ("https://app.example.com/redirect.html", "ok"),
        ("http://localhost:8000/redirect.html", "ok"),
        ("http://127.0.0.1:8000/redirect.html", "ok"),
        ("https://app.example.com/oauth/callback", "warn"),
        ("http://app.example.com/redirect.html", "fail"),
        ("redirect.html", "fail"),
        ("ftp://app.example.com/redirect.html", "fail"),
    ],
)
def test_redirect_uri_rules(uri: str, level: str) -> None:
    assert check_redirect_uri(uri).level == level


# -- data centers: which are enabled, which secret each uses, Zoho's own list -------------------


def test_doctor_shows_the_enabled_dcs_and_the_secret_each_uses(env: Env) -> None:
    own = "eu-own-secret-" + "7" * 24
    result = env.cli("doctor", data_centers="us,eu,uk", client_secrets=f"eu:{own}")
    assert result.exit_code == 0, result.output
    checks = lines(result.stdout)
    assert "enabled (ZOHOAUTH_DATA_CENTERS): us, eu, uk (3 of 9)" in checks["data centers"]
    assert checks["client secrets"].endswith("own for eu; common for us, uk")
    assert {n for n in checks if n.startswith("dc ")} == {"dc us", "dc eu", "dc uk"}
    assert own not in result.output and env.client.client_secret not in result.output

    unused = env.cli("doctor", "--no-network", data_centers="us", client_secrets=f"jp:{own}")
    assert unused.exit_code == 0, unused.output
    line = lines(unused.stdout)["client secrets"]
    assert line.startswith("!") and "a secret for jp is set, but that DC is not enabled" in line

    none = env.cli(
        "doctor", "--no-network", client_secret=None, data_centers="us,eu", client_secrets="us:x"
    )
    assert none.exit_code == 1
    checks = lines(none.stdout)
    secrets_line = checks["client secrets"]
    assert secrets_line.startswith("✗") and "give eu their own" in secrets_line
    assert checks["settings"].startswith("✗")  # the common secret is needed after all
    only_own = env.cli(
        "doctor", "--no-network", client_secret=None, data_centers="eu", client_secrets="eu:x"
    )
    assert lines(only_own.stdout)["settings"].startswith("✓"), only_own.output


def test_doctor_online_agrees_with_the_emulators_serverinfo(env: Env) -> None:
    result = env.cli("doctor", "--no-network", "--online")
    assert result.exit_code == 0, result.output
    line = lines(result.stdout)["serverinfo"]
    assert line.startswith("✓") and "lists the same 8 accounts servers" in line
    assert f"{env.emulator_url}/us/accounts/oauth/serverinfo" in line


def _serverinfo_env(env: Env, trap_url: str) -> str:
    """An endpoints file: the emulator's DCs, with the US accounts server at `trap_url`."""
    doc = httpx.get(env.emulator_url + "/_emulator/endpoints").json()
    doc["us"]["accounts_server"] = trap_url
    path = Path(env.vars["ZOHOAUTH_DATA_DIR"]).parent / "endpoints-serverinfo.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_doctor_online_reports_a_dc_zoho_lists_that_the_table_does_not_know(env: Env) -> None:
    """A serverinfo with one DC more than the table (the emulator has no such DC, so a tiny
    server on 127.0.0.1 plays the Multi-DC accounts server and serves the list)."""
    doc = httpx.get(env.emulator_url + "/_emulator/endpoints").json()
    listed = {dc: ep["accounts_server"] for dc, ep in doc.items() if ep["login_dc"] == "us"}
    with TrapServer() as zoho:
        locations = {**listed, "us": zoho.url, "ae": "https://accounts.zoho.ae"}
        zoho.body = json.dumps({"result": "success", "locations": locations}).encode()
        endpoints = _serverinfo_env(env, zoho.url)
        result = env.cli("doctor", "--no-network", "--online", zoho_endpoints=endpoints)
        assert zoho.requests == ["GET /oauth/serverinfo"]
    line = lines(result.stdout)["serverinfo"]
    assert line.startswith("!"), line
    assert "does not know: ae (https://accounts.zoho.ae)" in line
    assert result.exit_code == 0, result.output  # a warning: nothing configured here breaks


def test_serverinfo_comparison_rules() -> None:
    """Pure: a moved accounts server fails (its users' logins would be refused), a DC Zoho
    lists that the table lacks or the other way round warns, and AU's newer name matches."""
    zoho = DataCenterRegistry.zoho()
    table = {dc.code: dc.accounts_server for dc in zoho if dc.multi_dc}
    url = "https://accounts.zoho.com/oauth/serverinfo"

    def verdict(locations: object) -> tuple[str, str]:
        check = compare_serverinfo(zoho, {"result": "success", "locations": locations}, url)
        return check.level, check.message

    assert verdict(table)[0] == "ok"
    assert verdict({**table, "au": "https://accounts.zoho.au"})[0] == "ok"
    level, message = verdict({**table, "jp": "https://accounts.zoho.jp.example"})
    assert level == "fail" and "differs for jp" in message
    level, message = verdict({k: v for k, v in table.items() if k != "uk"})
    assert level == "warn" and "the table's uk are not in Zoho's list" in message
    assert compare_serverinfo(zoho, {"odd": True}, url).level == "warn"
    assert compare_serverinfo(zoho, [], url).level == "warn"
