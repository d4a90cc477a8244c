"""The README's script, run as a user would: first run logs in, second run reuses the login."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from zohoauth.crypto import KeyRing

from .support.zoho import consent, register_client

SCRIPT = Path(__file__).parent.parent / "examples" / "leads.py"


def _env(emulator: Any, tmp_path: Path) -> dict[str, str]:
    client = register_client(emulator.url)
    return {
        **os.environ,
        "ZOHOAUTH_CLIENT_ID": client.client_id,
        "ZOHOAUTH_CLIENT_SECRET": client.client_secret,
        "ZOHOAUTH_REDIRECT_URI": client.redirect_uri,
        "ZOHOAUTH_ENCRYPTION_KEYS": KeyRing.generate_key(),
        "ZOHOAUTH_ZOHO_ENDPOINTS": emulator.url + "/_emulator/endpoints",
        "ZOHOAUTH_DATA_DIR": str(tmp_path / "data"),
    }


def test_script_logs_in_once_then_reuses_the_connection(emulator: Any, tmp_path: Path) -> None:
    env = _env(emulator, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "clara@brightwave.eu"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert "Open this URL" in proc.stdout.readline()
    url = proc.stdout.readline().strip()
    redirect = consent(url, "clara@brightwave.eu")
    out, err = proc.communicate(str(redirect) + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert "Connected: clara@brightwave.eu in Brightwave GmbH (eu)" in out
    assert "created success" in out
    secret = env["ZOHOAUTH_CLIENT_SECRET"]
    assert secret not in out + err

    again = subprocess.run(
        [sys.executable, str(SCRIPT), "clara@brightwave.eu"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == 0, again.stderr
    assert "Open this URL" not in again.stdout
    assert "Lovelace" in again.stdout  # the lead created by the first run
