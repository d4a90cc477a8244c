"""A whole login → refresh → records → revoke flow, logged at DEBUG through every logger:
none of the tokens, codes or secrets the emulator issued appears in the output."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from zohoauth.errors import InvalidModuleError

from .support.zoho import advance_clock, consent, make_auth, register_client


async def test_flow_logs_no_secret(
    emulator: Any, tmp_path: Path, keys: str, log_output: io.StringIO
) -> None:
    secrets_seen: set[str] = {keys}
    state = emulator.state

    def harvest() -> None:
        secrets_seen.update(state.access_tokens, state.refresh_tokens, state.codes)

    client = register_client(emulator.url, own_secrets=("us",))  # Ava's DC has its own secret
    secrets_seen.add(client.client_secret)
    secrets_seen.update(client.client_secrets.values())
    clock_offset = [0.0]
    auth = make_auth(
        emulator.url,
        f"sqlite:///{tmp_path / 'z.db'}",
        keys,
        client,
        clock=lambda: time.time() + clock_offset[0],
    )
    async with auth:
        pending = auth.start_login()
        secrets_seen.add(pending.state)
        assert pending.code_verifier is not None
        secrets_seen.add(pending.code_verifier)
        redirect = consent(pending.url, "ava@zylker.com")
        secrets_seen.add(redirect.params["code"])
        conn = await auth.complete_login(pending, str(redirect))
        harvest()
        crm = auth.crm(conn.id)
        [created] = await crm.create("Leads", [{"Last_Name": "Secretless", "Company": "X"}])
        assert created["status"] == "success"
        # Expire the token at both ends: the next call refreshes.
        clock_offset[0] = 3601
        advance_clock(emulator.url, 3601)
        found = [r async for r in crm.search("Leads", word="Secretless")]
        assert found
        harvest()
        await crm.get_record("Leads", created["details"]["id"])
        # A rejected call and an error path log too.
        with pytest.raises(InvalidModuleError):
            await crm.get_record("Nope", "1")
        harvest()
        assert (await auth.logout(conn.id, revoke=True)).revoked
    out = log_output.getvalue()
    assert "login completed" in out  # the capture works
    assert "token event" in out
    leaked = [s for s in secrets_seen if s and s in out]
    assert leaked == []
    assert len(secrets_seen) > 6
