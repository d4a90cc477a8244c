"""examples/token-service/ run against a live app and the emulator, as other backends would.
Skipped, with the reason, when node or go is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ..support.service import make_key
from ..support.web import LiveApp

EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "token-service"


def _run(live: LiveApp, command: list[str], cwd: Path) -> dict[str, object]:
    b = live.browser()
    try:
        b.login("ava@zylker.com")
    finally:
        b.close()
    env = {
        **os.environ,
        "ZOHOAUTH_URL": live.url,
        "ZOHOAUTH_SERVICE_KEY": make_key(live, "example", "admin"),
    }
    done = subprocess.run(
        [*command, "ava@zylker.com"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_node_example(live: LiveApp) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed; install Node 18+ to run the Node example")
    out = _run(live, ["node", str(EXAMPLES / "token.mjs")], EXAMPLES)
    assert out["dc"] == "us" and out["direct"] == out["proxied"] and out["direct"]


def test_the_go_example(live: LiveApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("go") is None:
        pytest.skip("go is not installed; install Go to run the Go example")
    monkeypatch.setenv("GOCACHE", str(tmp_path / "gocache"))
    out = _run(live, ["go", "run", str(EXAMPLES / "main.go")], tmp_path)
    assert out["dc"] == "us" and out["direct"] == out["proxied"] and out["direct"]
