"""`zohoauth keys status|rotate` through the real CLI, including a rotation killed mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zohoauth.credentials import CredentialKey, Login, OrgInfo, TokenSet
from zohoauth.crypto import KeyRing
from zohoauth.store.sql import SQLTokenStore

from ..support.aio import arun
from ..support.cli import ALL_VARS, Env, stored_tokens, unreachable_db
from ..support.tokens import zoho_token

CLI = [sys.executable, "-c", "from zohoauth.cli import main; main()"]


def kid(keys: str) -> str:
    return KeyRing.from_config(keys).active_kid


def counts(url: str, keys: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        async with SQLTokenStore(url, KeyRing.from_config(keys)) as store:
            return await store.count_by_key_id()

    return arun(read)


def fill(env: Env, keys: str, n: int) -> dict[str, tuple[str, str | None]]:
    """`n` credentials encrypted with `keys`' active key; returns what `stored_tokens` reads."""

    async def write() -> None:
        async with env.store(keys) as store:
            for start in range(0, n, 500):
                batch = [
                    Login(
                        CredentialKey("1000.ROTATE", "us", f"{i:06d}"),
                        f"u{i}@example.com",
                        TokenSet(zoho_token(), zoho_token(), 0.0),
                        "https://www.zohoapis.com",
                        (),
                        (OrgInfo("1", "Org"),),
                    )
                    for i in range(start, min(n, start + 500))
                ]
                await store.save_logins(batch)

    arun(write)
    return stored_tokens(env, keys)


@pytest.fixture
def old_key(env: Env) -> str:
    return env.keys


@pytest.fixture
def new_key() -> str:
    return KeyRing.generate_key()


def test_rotate_re_encrypts_everything_and_a_rerun_does_nothing(
    env: Env, old_key: str, new_key: str
) -> None:
    before = fill(env, old_key, 30)
    ring = f"{new_key},{old_key}"
    status = env.cli("keys", "status", encryption_keys=ring)
    assert status.exit_code == 0, status.output
    assert kid(old_key) in status.stdout and "30" in status.stdout

    result = env.cli("keys", "rotate", "--batch", "7", encryption_keys=ring)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 30 credential(s)" in result.stdout
    assert counts(env.url, new_key) == {kid(new_key): 30}
    assert stored_tokens(env, new_key) == before  # the old key is no longer needed

    again = env.cli("keys", "rotate", encryption_keys=ring)
    assert again.exit_code == 0 and "nothing to do" in again.stdout


def test_rotate_without_the_old_key_changes_nothing(env: Env, old_key: str, new_key: str) -> None:
    before = fill(env, old_key, 5)
    result = env.cli("keys", "rotate", encryption_keys=new_key)
    assert result.exit_code == 1
    assert kid(old_key) in result.stderr and "add that key back" in result.stderr
    assert counts(env.url, old_key) == {kid(old_key): 5}
    assert stored_tokens(env, old_key) == before

    status = env.cli("keys", "status", encryption_keys=new_key)
    assert status.exit_code == 1
    assert "lacks" in status.stderr and "NO" in status.stdout


def test_keys_commands_on_an_unreachable_database(env: Env) -> None:
    for command in ("status", "rotate"):
        result = env.cli("keys", command, database_url=unreachable_db(env.url))
        assert result.exit_code == 1
        assert "error:" in result.stderr and "hunter2" not in result.output


def test_rotate_killed_mid_way_leaves_every_row_readable_and_a_rerun_completes(
    env: Env, old_key: str, new_key: str, tmp_path: Path
) -> None:
    total = 2000
    before = fill(env, old_key, total)
    ring = f"{new_key},{old_key}"
    child_env = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    child_env.update(env.vars, ZOHOAUTH_ENCRYPTION_KEYS=ring)
    child = subprocess.Popen(
        [*CLI, "keys", "rotate", "--batch", "25", "--pause", "0.02"],
        env=child_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while counts(env.url, ring).get(kid(new_key), 0) < total // 4:
            assert child.poll() is None, "rotation ended before it could be interrupted"
            assert time.monotonic() < deadline, "rotation made no progress"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    mid = counts(env.url, ring)
    assert 0 < mid.get(kid(new_key), 0) < total
    assert sum(mid.values()) == total
    assert stored_tokens(env, ring) == before  # every row opens with the ring

    rerun = env.cli("keys", "rotate", encryption_keys=ring)
    assert rerun.exit_code == 0, rerun.output
    assert f"re-encrypted {mid[kid(old_key)]} credential(s)" in rerun.stdout
    assert counts(env.url, new_key) == {kid(new_key): total}
    assert stored_tokens(env, new_key) == before
