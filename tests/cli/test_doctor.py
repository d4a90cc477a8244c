"""`zohoauth doctor`: one line per check, a non-zero exit when any fails, never a secret."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from zohoauth.crypto import KeyRing
from zohoauth.ops.checks import check_redirect_uri

from ..support.cli import Env, unreachable_db


def lines(output: str) -> dict[str, str]:
    """check name -> its line."""
    out = {}
    for line in output.splitlines():
        if line[:1] in "✓!✗" and ":" in line:
            out[line[2:].split(":", 1)[0]] = line
    return out


def test_a_healthy_installation_passes(env: Env) -> None:
    env.login("clara@brightwave.eu")
    result = env.cli("doctor")
    assert result.exit_code == 0, result.output
    checks = lines(result.stdout)
    for name in ("settings", "key ring", "database", "decrypt", "redirect URI", "data centers"):
        assert checks[name].startswith("✓"), checks[name]
    assert {n for n in checks if n.startswith("dc ")} == {
        f"dc {c}" for c in ("us", "eu", "in", "au", "jp", "cn", "ca", "sa")
    }
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
    assert checks["key ring"].startswith("✗") and "keys generate" in checks["key ring"]


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
