"""The demo's data from the CLI: after `zohoauth demo`, every command that opens the store works
on the demo's data dir with nothing exported, here or with `--data-dir`; and what the user
configured always wins over the data dir.

The demo runs as a real process on free ports; a user logs in through its web app (over HTTP,
as redirect.html would), then the CLI runs with no `ZOHOAUTH_*` variable at all.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from zohoauth.cli import app
from zohoauth.config import Settings
from zohoauth.emulator.seed import DEMO_CLIENT_SECRET

from ..support.cli import ALL_VARS
from ..support.web import Browser
from ..web.test_cli_web import Demo

CLARA = "clara@brightwave.eu"


def cli(*args: str, **variables: str) -> Result:
    """`zohoauth *args` with no ZOHOAUTH_* variable but `variables`, in the current directory."""
    env: dict[str, str | None] = {name: None for name in ALL_VARS}
    env["COLUMNS"] = "200"
    env.update({f"ZOHOAUTH_{k.upper()}": v for k, v in variables.items()})
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, Path]]:
    """`zohoauth demo` run in a fresh directory with the default data dir (.zohoauth), and
    Clara logged in through its web app."""
    cwd = tmp_path_factory.mktemp("demo")
    running = Demo(cwd / ".zohoauth", cwd)
    try:
        running.ready()
        browser = Browser(running.url)
        try:
            assert browser.login(CLARA)["me"]["dc"] == "eu"
        finally:
            browser.close()
        yield running, cwd
    finally:
        running.kill()


@pytest.fixture
def in_demo_dir(demo: tuple[Demo, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(demo[1])
    return demo[1]


def test_the_demo_tells_how_the_cli_reaches_its_data(demo: tuple[Demo, Path]) -> None:
    assert "nothing to export: zohoauth tokens list\n" in demo[0].output
    written = json.loads((demo[1] / ".zohoauth" / "demo.json").read_text())
    assert written["emulator_url"] == demo[0].emulator_url
    assert DEMO_CLIENT_SECRET not in json.dumps(written)


def test_tokens_list_reads_the_default_data_dir_with_nothing_exported(in_demo_dir: Path) -> None:
    result = cli("tokens", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [r["email"] for r in json.loads(result.stdout)] == [CLARA]
    table = cli("tokens", "list")
    assert table.exit_code == 0 and CLARA in table.stdout


def test_data_dir_flag_after_the_command_or_before_it(
    demo: tuple[Demo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # somewhere else: no .zohoauth here
    data = str(demo[1] / ".zohoauth")
    for args in (["tokens", "list", "--json", "--data-dir", data],
                 ["--data-dir", data, "tokens", "list", "--json"]):  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert [r["email"] for r in json.loads(result.stdout)] == [CLARA]
    assert cli("tokens", "list", "--json", data_dir=data).exit_code == 0  # ZOHOAUTH_DATA_DIR


def test_every_store_command_works_on_the_demo_data(
    demo: tuple[Demo, Path], in_demo_dir: Path
) -> None:
    """The demo's client and emulator come along: a refresh reaches the running demo's Zoho."""
    refreshed = cli("tokens", "refresh", CLARA, "--force")
    assert refreshed.exit_code == 0, refreshed.output
    assert "refreshed" in refreshed.stdout
    shown = json.loads(cli("tokens", "show", CLARA, "--json").stdout)
    assert shown["client_id"].startswith("1000.DEMO")
    for args in (
        ["keys", "status", "--json"],
        ["db", "upgrade"],
        ["audit", "--json"],
        ["keys", "service", "list", "--json"],
        ["webhooks", "list", "--json"],
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    doctor = cli("doctor")
    assert doctor.exit_code == 0, doctor.output
    assert "from the data dir" in doctor.stdout
    key = (demo[1] / ".zohoauth" / "encryption.key").read_text().strip()
    for result in (refreshed, doctor):
        assert key not in result.output and DEMO_CLIENT_SECRET not in result.output


def test_a_stopped_demo_keeps_its_data_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After Ctrl-C the store and key stay; the CLI still lists what the demo stored."""
    running = Demo(tmp_path / ".zohoauth", tmp_path)
    try:
        running.ready()
        browser = Browser(running.url)
        try:
            browser.login(CLARA)
        finally:
            browser.close()
        assert running.signal(signal.SIGINT) == 0
    finally:
        running.kill()
    monkeypatch.chdir(tmp_path)
    result = cli("tokens", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [r["email"] for r in json.loads(result.stdout)] == [CLARA]


# -- when the data dir cannot help -----------------------------------------------------------


def test_no_data_dir_says_what_is_missing_and_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["tokens", "list"], ["keys", "status"], ["audit"], ["tokens", "refresh", "--all"]):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        message = " ".join(result.stderr.split())
        assert "not configured: set" in message and "ZOHOAUTH_ENCRYPTION_KEYS" in message
        assert "zohoauth demo" in message and "no data dir at .zohoauth" in message
        assert "Traceback" not in result.output
    refresh = " ".join(cli("tokens", "refresh", "--all").stderr.split())
    assert "ZOHOAUTH_CLIENT_ID" in refresh and "ZOHOAUTH_CLIENT_SECRET" in refresh


def test_a_data_dir_without_a_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    result = cli("tokens", "list", "--data-dir", "data")
    assert result.exit_code == 1
    assert "the data dir data has no encryption.key" in " ".join(result.stderr.split())


def fake_demo_dir(directory: Path) -> str:
    """The files `zohoauth demo` leaves (key, session secret, demo.json); returns the key."""
    from zohoauth.cli.datadir import write_demo_file
    from zohoauth.crypto import KeyRing

    directory.mkdir()
    key = KeyRing.generate_key()
    (directory / "encryption.key").write_text(key + "\n")
    (directory / "session.secret").write_text("s" * 40 + "\n")
    write_demo_file(directory, emulator_url="http://127.0.0.1:1", redirect_uri="http://x/r.html")
    return key


def test_what_the_user_set_wins_over_the_data_dir(tmp_path: Path) -> None:
    from zohoauth.cli.datadir import data_dir_values
    from zohoauth.crypto import KeyRing

    key = fake_demo_dir(tmp_path / "d")
    base = {"data_dir": tmp_path / "d", "_env_file": None}
    filled = data_dir_values(Settings(**base)).values
    assert filled["encryption_keys"] == key
    assert filled["client_id"].startswith("1000.DEMO")
    assert filled["zoho_endpoints"] == "http://127.0.0.1:1/_emulator/endpoints"
    assert filled["redirect_uri"] == "http://x/r.html"
    # Another database: the data dir's key must never encrypt its rows.
    other_db = Settings(**base, database_url="sqlite:///elsewhere.db")
    assert data_dir_values(other_db).values == {}
    # A key of one's own stays; the demo's client still fills the client.
    own_key = KeyRing.generate_key()
    mine = data_dir_values(Settings(**base, encryption_keys=own_key)).values
    assert "encryption_keys" not in mine and "client_id" in mine
    # A client of one's own: never the demo's secret, redirect URI or emulator.
    for own in ({"client_id": "1000.MINE"}, {"client_secret": "mine"}, {"client_secrets": "eu:x"}):
        values = data_dir_values(Settings(**base, **own)).values  # type: ignore[arg-type]
        assert set(values) == {"encryption_keys", "session_secret"}, own


def test_an_env_var_beats_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_demo_dir(tmp_path / ".zohoauth")
    monkeypatch.chdir(tmp_path)
    result = cli("doctor", "--no-network", client_id="1000.MINE", client_secret="mine-secret")
    assert "client 1000.MINE" in result.stdout, result.output
    assert "mine-secret" not in result.output


def test_a_damaged_demo_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_demo_dir(tmp_path / ".zohoauth")
    (tmp_path / ".zohoauth" / "demo.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    for args in (["tokens", "list"], ["tokens", "delete", "x", "--yes"], ["doctor"]):
        result = cli(*args)  # an error line, never a traceback (the runner would raise)
        assert result.exit_code == 1, (args, result.output)
        message = " ".join(result.output.split())
        assert "demo.json is not what `zohoauth demo` writes" in message, (args, message)
    assert os.path.exists(tmp_path / ".zohoauth" / "demo.json")
