"""Configuration: defaults < .env < environment < CLI flags; errors name the setting, never the
value; logs of a CLI run are structured, carry one request id, and mask every token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from zohoauth.config import Settings
from zohoauth.errors import ConfigError

from ..support.cli import Env, secrets_of
from ..support.logs import reset_logging
from ..support.tokens import zoho_token


def test_precedence_dotenv_then_environment_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"ZOHOAUTH_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "ZOHOAUTH_CLIENT_ID=from-dotenv\nZOHOAUTH_SCOPES=ZohoCRM.modules.ALL\n"
        "ZOHOAUTH_CLIENT_SECRET=dotenv-secret\n"
    )
    s = Settings.load()
    assert (s.client_id, s.scope_list) == ("from-dotenv", ("ZohoCRM.modules.ALL",))
    monkeypatch.setenv("ZOHOAUTH_CLIENT_ID", "from-env")
    assert Settings.load().client_id == "from-env"
    assert Settings.load(client_id="from-flag").client_id == "from-flag"
    assert Settings.load(client_id=None).client_id == "from-env"  # an unset flag is no flag
    (tmp_path / "other.env").write_text("ZOHOAUTH_SCOPES=ZohoCRM.users.READ\n")
    assert Settings.load(env_file=tmp_path / "other.env").scope_list == ("ZohoCRM.users.READ",)
    assert "dotenv-secret" not in repr(s) and isinstance(s.client_secret, SecretStr)
    assert ("ZOHOAUTH_CLIENT_SECRET", "set (hidden)") in s.describe()
    assert ("ZOHOAUTH_METRICS_PORT", "not set") in s.describe()
    assert ("ZOHOAUTH_METRICS_TOKEN", "not set") in s.describe()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("REFRESH_SKEW", "-5", "greater than or equal to 0"),
        ("USE_PKCE", "hunter2-not-a-bool", "true or false"),
        ("REDIRECT_URI", "hunter2.example/redirect.html", "absolute http(s) URL"),
        ("LOG_FORMAT", "hunter2", "console or json"),
        ("INSECURE_HTTP", "hunter2", "true or false"),
        ("TRUSTED_HOSTS", "app.example, hunter2.*.example", "wildcard"),
        ("LOGIN_RATE_LIMIT", "hunter2", "10/minute"),
        ("METRICS_PORT", "hunter2", "TCP port"),
        ("HEADER_TIMEOUT", "hunter2", "seconds"),
    ],
)
def test_invalid_values_name_the_variable_and_not_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(f"ZOHOAUTH_{name}", value)
    with pytest.raises(ConfigError) as caught:
        Settings.load()
    message = str(caught.value)
    assert f"ZOHOAUTH_{name}" in message and says in message
    assert "hunter2" not in message


def test_cli_reports_bad_settings_without_a_traceback(env: Env) -> None:
    result = env.cli("tokens", "list", refresh_skew="soon")
    assert result.exit_code == 1
    assert "ZOHOAUTH_REFRESH_SKEW" in result.stderr and "Traceback" not in result.output
    missing = env.cli("--env-file", "/nonexistent/.env", "tokens", "list")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    bad_format = env.cli("--log-format", "xml", "tokens", "list")
    assert bad_format.exit_code == 2 and "'console', 'json'" in bad_format.stderr  # the choices


def test_global_database_url_flag_wins_over_the_environment(env: Env, tmp_path: Path) -> None:
    flagged = tmp_path / "flag.db"
    result = env.cli("--database-url", f"sqlite:///{flagged}", "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert flagged.exists()
    assert str(flagged) in result.stdout


def test_json_logs_carry_a_request_id_and_mask_tokens(env: Env) -> None:
    env.login("clara@brightwave.eu")
    before = secrets_of(env)
    result = env.cli(
        "--log-format", "json", "--log-level", "DEBUG", "tokens", "refresh", "--all", "--force"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(line.get("kind") == "refreshed" for line in lines)  # the manager's token event
    assert all({"level", "logger", "timestamp", "event"} <= set(line) for line in lines)
    # a stdlib logger's record (asyncio's, now that requests go out through aiohttp, which
    # logs none per request) went through the same pipeline
    assert any(line.get("logger") == "asyncio" for line in lines)
    ids = {line.get("request_id") for line in lines}
    assert len(ids) == 1 and next(iter(ids), "").startswith("cli-")
    for secret in [*before, *secrets_of(env)]:
        assert secret not in result.output


def test_tokens_logged_on_purpose_through_every_logger_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging
    import secrets
    import threading

    import structlog

    from zohoauth.cli.app import GlobalOptions, _configure_logs
    from zohoauth.logs import get_logger

    token = zoho_token()
    secret = secrets.token_hex(20)
    _configure_logs(GlobalOptions(log_format="json", log_level="DEBUG"))
    try:
        get_logger("zohoauth.test").info("library", access_token=token, note=f"got {token}")
        structlog.get_logger("app").warning(f"app {token}", client_secret=secret)
        logging.getLogger("httpx").info("POST %s", f"https://x/oauth/v2/token?code={token}")
        worker = threading.Thread(
            target=lambda: logging.getLogger("thread").error("Zoho-oauthtoken %s", token)
        )
        worker.start()
        worker.join()
    finally:
        reset_logging()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]
    assert len(lines) == 4
    assert token not in err and secret not in err
    assert len({line["request_id"] for line in lines}) == 1
    assert lines[0]["access_token"] == "***" and "1000.***" in lines[0]["note"]


# -- data centers and per-DC client secrets ---------------------------------------------------


def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"ZOHOAUTH_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATA_CENTERS", "us,xx", "unknown data center 'xx'"),
        ("DATA_CENTERS", "us,eu,us", "us appears twice"),
        ("CLIENT_SECRETS", "mars:hunter2", "unknown data center 'mars'"),
        ("CLIENT_SECRETS", "eu:s1,hunter2", "entry #2 is not dc:secret"),
        ("CLIENT_SECRETS", "eu:", "entry #1 is not dc:secret"),
        ("CLIENT_SECRETS", "hunter2secret:x", "(not a DC code)"),
    ],
)
def test_dc_settings_name_the_variable_and_the_valid_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, says: str
) -> None:
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv(f"ZOHOAUTH_{name}", value)
    with pytest.raises(ConfigError) as caught:
        Settings.load()
    message = str(caught.value)
    assert f"ZOHOAUTH_{name}" in message and says in message, message
    if "unknown" in says:
        assert "valid codes: us, eu, in, au, jp, ca, sa, uk, cn" in message
    assert "hunter2" not in message


def test_per_dc_secrets_from_the_variable_and_a_json_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRETS", " EU:eu-secret , uk:uk-secret ")
    assert Settings.load().client_secret_map() == {"eu": "eu-secret", "uk": "uk-secret"}
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"cn": "cn-secret"}))
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRETS_FILE", str(secrets_file))
    s = Settings.load()
    assert s.client_secret_map() == {"eu": "eu-secret", "uk": "uk-secret", "cn": "cn-secret"}
    shown = dict(s.describe())
    assert shown["ZOHOAUTH_CLIENT_SECRETS"] == "set for eu, uk (hidden)"
    assert shown["ZOHOAUTH_CLIENT_SECRETS_FILE"] == str(secrets_file)
    assert not any(v in str(shown) for v in ("eu-secret", "uk-secret", "cn-secret"))
    secrets_file.write_text(json.dumps({"uk": "other"}))
    with pytest.raises(ConfigError, match="uk has a secret in both"):
        Settings.load()
    for bad, says in (
        ("not json", "is not JSON"),
        ('["eu"]', "one JSON object"),
        ('{"eu": 5}', "one JSON object"),
        ('{"zz": "hunter2"}', "unknown data center 'zz'"),
    ):
        secrets_file.write_text(bad)
        with pytest.raises(ConfigError) as caught:
            Settings.load()
        assert "ZOHOAUTH_CLIENT_SECRETS_FILE" in str(caught.value) and says in str(caught.value)
        assert "hunter2" not in str(caught.value)
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRETS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.load()
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRETS_FILE", "")
    assert Settings.load().client_secrets_file is None


def test_the_common_secret_is_needed_only_by_dcs_without_their_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRETS", "us:u,eu:e")
    assert not Settings.load().is_set("client_secret")  # the other seven DCs have none
    monkeypatch.setenv("ZOHOAUTH_DATA_CENTERS", "us, EU")
    s = Settings.load()
    assert s.data_center_codes == frozenset({"us", "eu"})
    assert s.is_set("client_secret")
    s.require("client_secret")
    monkeypatch.setenv("ZOHOAUTH_DATA_CENTERS", "us,eu,uk")
    with pytest.raises(ConfigError, match="ZOHOAUTH_CLIENT_SECRET"):
        Settings.load().require("client_secret")


def test_zohoauth_from_settings_passes_the_dcs_and_secrets_to_the_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from zohoauth.auth import ZohoAuth
    from zohoauth.crypto import KeyRing

    _clean(monkeypatch, tmp_path)
    s = Settings.load(
        client_id="1000.X",
        client_secret="common-s",
        client_secrets="eu:eu-s",
        data_centers="us,eu,cn",
        encryption_keys=KeyRing.generate_key(),
        database_url=f"sqlite:///{tmp_path / 'z.db'}",
    )
    auth = ZohoAuth.from_settings(s)
    assert [dc.code for dc in auth.data_centers] == ["us", "eu", "cn"]
    assert (auth.client.secret_for("eu"), auth.client.secret_for("us")) == ("eu-s", "common-s")
    assert auth.start_login("cn").url.startswith("https://accounts.zoho.com.cn/oauth/v2/auth?")
