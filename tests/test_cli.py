"""The CLI through Typer's runner: keys and db commands, help, and what `--help` loads."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from zohoauth.cli import app
from zohoauth.crypto import KeyRing

runner = CliRunner()


def test_keys_generate_prints_a_usable_key() -> None:
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    ring = KeyRing.from_config(key)
    assert ring.decrypt(ring.encrypt(b"x", b"aad"), b"aad") == b"x"
    assert runner.invoke(app, ["keys", "generate"]).stdout.strip() != key


def test_db_upgrade_on_sqlite_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.stdout
    assert (tmp_path / "z.db").exists()


def test_db_upgrade_unreachable_database_is_a_clear_error() -> None:
    url = "postgresql://postgres:hunter2@127.0.0.1:1/nothing"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 1
    assert "cannot connect" in result.output
    assert "hunter2" not in result.output


def test_emulator_rejects_a_missing_seed_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["emulator", "--seed", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize("args", [["--help"], ["emulator", "--help"], ["db", "--help"]])
def test_help_texts(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Usage" in result.output


#: What no `--help` needs: the store, the web app, the settings, HTTP clients, crypto, logs.
HEAVY = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "aiohttp",
    "httpx",
    "pydantic_settings",
    "cryptography",
    "structlog",
    "zohoauth.config",
)
_LOADED = f"""
import sys
from zohoauth.cli import main
sys.argv = ["zohoauth", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code or sys.argv == ["zohoauth"], exc.code  # bare: help, exit 2 (Click)
print("LOADED=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],  # no arguments shows the help too
        ["tokens", "--help"],
        ["tokens", "list", "--help"],
        ["tokens", "import-sdk", "--help"],
        ["demo", "--help"],
        ["serve", "--help"],
        ["doctor", "--help"],
        ["keys", "rotate", "--help"],
        ["--log-level", "DEBUG", "db", "upgrade", "--help"],
    ],
)
def test_help_loads_only_the_cli(args: list[str]) -> None:
    """Start-up: every command imports what it needs when it runs, so help is quick (speed is
    measured in bench/, not here; this pins what gets imported)."""
    out = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], capture_output=True, text=True, check=True
    )
    assert "Usage" in out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "LOADED="


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group of `zohoauth`, as (path, click command)."""
    import typer

    found: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        found.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_help_shows_flags_as_flags_and_says_what_each_option_does() -> None:
    """No `<bool>`; an option that is off unless given is a plain `--flag` (not a
    `--flag/--no-flag` pair defaulting to no); every option and argument has a help text."""
    commands = _commands()
    assert len(commands) > 25
    for path, cmd in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (path, result.output)
        text = result.output
        assert "<bool>" not in text and "BOOLEAN" not in text, path
        assert "[default: no-" not in text, (path, text)
        for param in cmd.params:
            if param.name == "help":
                continue
            assert getattr(param, "help", None), (path, param.name)


@pytest.mark.parametrize(
    ("path", "option", "choices"),
    [
        ([], "--log-format", "<console|json>"),
        ([], "--log-level", "<debug|info|warning|error|critical>"),
        (["serve"], "--log-format", "<console|json>"),
        (["serve"], "--log-level", "<debug|info|warning|error|critical>"),
        (["tokens", "list"], "--status", "<active|reauth_required|revoke_pending>"),
        (["tokens", "import-sdk"], "--dc", "<us|eu|in|au|jp|ca|sa|uk|cn>"),
        (["keys", "service", "create"], "--scope", "<read|token|proxy|admin>"),
    ],
)
def test_options_of_a_fixed_set_list_their_choices(
    path: list[str], option: str, choices: str
) -> None:
    help_text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
    assert f"{option} {choices}" in help_text


def test_the_cli_choices_are_the_librarys() -> None:
    """The CLI spells some sets out itself (the modules that own them are too heavy for
    `--help`); these must stay the same sets."""
    from zohoauth.cli.app import DataCenterCode
    from zohoauth.cli.service import ScopeChoice
    from zohoauth.datacenters import ZOHO_DATA_CENTERS
    from zohoauth.service.keys import Scope

    assert [c.value for c in DataCenterCode] == list(ZOHO_DATA_CENTERS)
    assert [s.value for s in ScopeChoice] == [s.value for s in Scope]


def test_log_level_flag_takes_any_case() -> None:
    result = runner.invoke(app, ["--log-level", "debug", "keys", "generate"])
    assert result.exit_code == 0, result.output
