"""The SQLite store's files are private whatever the umask: directories 0700, the database and
its -wal/-shm files 0600. Looser existing files are reported (store open, `zohoauth doctor`)
with the chmod to run, and never changed silently."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zohoauth.cli import app
from zohoauth.config import Settings
from zohoauth.crypto import KeyRing
from zohoauth.ops.checks import check_file_modes
from zohoauth.store.files import LooseFile, is_loose, loose_files
from zohoauth.store.sql import SQLTokenStore

from ..support.cli import ALL_VARS
from ..support.store import key, login

UMASKS = [0o022, 0o000, 0o002]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_with_umask(umask: int, code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run `code` in a fresh Python whose umask is `umask` (the umask is per process)."""
    script = f"import os\nos.umask({umask:#o})\n" + textwrap.dedent(code)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZOHOAUTH_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("umask", UMASKS, ids=oct)
def test_a_new_sqlite_store_is_private_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    """The store, opened as an app opens it, with the data dir (and a parent) missing; the
    modes are read while it is open, so the WAL and SHM files exist."""
    out = run_with_umask(
        umask,
        """
        import asyncio, json
        from pathlib import Path
        from zohoauth.crypto import KeyRing
        from zohoauth.store.sql import SQLTokenStore
        from tests.support.store import key, login

        db = Path("parent/.zohoauth/zohoauth.db")

        async def main():
            ring = KeyRing.from_config(KeyRing.generate_key())
            async with SQLTokenStore(f"sqlite:///{db}", ring, auto_migrate=True) as store:
                await login(store, key())
                paths = [db.parent.parent, db.parent, db] + [
                    Path(f"{db}{s}") for s in ("-wal", "-shm")
                ]
                print(json.dumps({str(p): oct(p.stat().st_mode & 0o777) for p in paths}))

        asyncio.run(main())
        """,
        cwd=tmp_path,
        env={"PYTHONPATH": str(Path(__file__).parents[2])},
    )
    modes = json.loads(out)
    db = "parent/.zohoauth/zohoauth.db"
    assert modes == {
        "parent": "0o700",
        "parent/.zohoauth": "0o700",
        db: "0o600",
        f"{db}-wal": "0o600",
        f"{db}-shm": "0o600",
    }


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=oct)
def test_db_upgrade_makes_the_data_dir_and_database_private(umask: int, tmp_path: Path) -> None:
    """`zohoauth db upgrade` without ZOHOAUTH_DATABASE_URL: the SQLite file in the data dir."""
    out = run_with_umask(
        umask,
        """
        from zohoauth.cli import app
        app(["db", "upgrade"], standalone_mode=False)
        """,
        cwd=tmp_path,
        env={"ZOHOAUTH_DATA_DIR": str(tmp_path / "data")},
    )
    assert "at the latest schema" in out
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "zohoauth.db") == 0o600


async def test_existing_loose_files_are_warned_about_and_left_alone(
    tmp_path: Path, keyring: KeyRing, log_output: io.StringIO
) -> None:
    db = tmp_path / "zohoauth.db"
    url = f"sqlite:///{db}"
    async with SQLTokenStore(url, keyring, auto_migrate=True) as store:
        await login(store, key())
    assert "chmod" not in log_output.getvalue()  # made private: nothing to say
    db.chmod(0o644)
    async with SQLTokenStore(url, keyring) as store:
        assert await store.get_credential(key()) is not None
    warnings = [json.loads(line) for line in log_output.getvalue().splitlines()]
    [warning] = [w for w in warnings if w.get("path") == str(db)]
    assert warning["level"] == "warning"
    assert warning["mode"] == "0644"
    assert warning["fix"] == f"chmod 600 {db}"
    assert mode(db) == 0o644  # reported, not changed behind the operator's back


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / ".zohoauth", **values)  # type: ignore[call-arg]


def test_doctor_warns_about_loose_modes_with_the_chmod_to_run(tmp_path: Path) -> None:
    data = tmp_path / ".zohoauth"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "zohoauth.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"")
    wal.chmod(0o660)
    check = check_file_modes(_settings(tmp_path))
    assert check.level == "warn"
    assert f"chmod 700 {data}" in check.message
    assert f"chmod 600 {db}" in check.message
    assert f"chmod 600 {wal}" in check.message
    assert "-shm" not in check.message  # not there: nothing to say
    data.chmod(0o700)
    db.chmod(0o600)
    wal.chmod(0o600)
    fixed = check_file_modes(_settings(tmp_path))
    assert fixed.level == "ok" and "owner only" in fixed.message


def test_doctor_shows_the_file_modes_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    env: dict[str, str | None] = {name: None for name in ALL_VARS}
    env.update(
        ZOHOAUTH_CLIENT_ID="1000.X",
        ZOHOAUTH_CLIENT_SECRET="s",
        ZOHOAUTH_ENCRYPTION_KEYS=KeyRing.generate_key(),
        ZOHOAUTH_DATA_DIR=str(data),
        COLUMNS="300",
    )
    result = CliRunner().invoke(app, ["doctor", "--no-network"], env=env)
    [line] = [ln for ln in result.stdout.splitlines() if "file modes" in ln]
    assert line.startswith("!") and f"chmod 700 {data}" in line


def test_a_server_database_has_no_files_to_check(tmp_path: Path) -> None:
    check = check_file_modes(_settings(tmp_path, database_url="postgresql://u@db.example/z"))
    assert check.level == "ok"


def test_loose_means_group_or_others_get_something_the_wanted_mode_does_not_give() -> None:
    assert not is_loose(0o600, 0o600)
    assert not is_loose(0o400, 0o600)  # less for the owner is not looser
    assert not is_loose(0o700, 0o700)
    assert is_loose(0o644, 0o600)
    assert is_loose(0o620, 0o600)
    assert is_loose(0o701, 0o700)
    assert is_loose(0o755, 0o700)
    item = LooseFile(Path("/srv/my data/z.db"), 0o644, 0o600)
    assert item.fix == "chmod 600 '/srv/my data/z.db'"
    assert loose_files(None) == []
