"""The audit log of refused calls, on a real store: who (when known), what, the outcome, never
the key presented; and a flood of refused calls can't flood the table."""

from __future__ import annotations

import json

import pytest

from zohoauth.errors import ServiceKeyError
from zohoauth.service import TokenService
from zohoauth.service.keys import generate
from zohoauth.service.service import ANONYMOUS, REFUSALS_BURST
from zohoauth.store.sql import SQLTokenStore


async def test_a_flood_of_bad_keys_is_counted_into_one_row(store: SQLTokenStore) -> None:
    service = TokenService(store, auth=None)
    presented = [generate() for _ in range(150)]  # well-formed, unknown
    for key in presented:
        with pytest.raises(ServiceKeyError):
            await service.authenticate(f"Bearer {key}", "token", "conn_x")
    await service.flush()
    rows = await service.audit_log(limit=1000)
    one_by_one = [r for r in rows if r.action == "token"]
    # The burst, and what the bucket refilled while the loop ran (10 a second).
    assert REFUSALS_BURST <= len(one_by_one) < 140
    assert {(r.key_id, r.outcome, r.detail, r.connection_id) for r in one_by_one} == {
        (ANONYMOUS, "invalid_key", "unknown key", "conn_x")
    }
    [summary] = [r for r in rows if r.action == "refused"]
    assert (summary.key_id, summary.outcome) == (ANONYMOUS, "invalid_key")
    assert summary.detail.startswith(f"{150 - len(one_by_one)} more refused")
    dumped = json.dumps([r.row() for r in rows])
    assert not any(key[4:44] in dumped for key in presented)
    await service.aclose()


async def test_a_revoked_keys_refusals_are_its_own(store: SQLTokenStore) -> None:
    service = TokenService(store, auth=None)
    made = await service.create_key("billing", "token")
    assert await service.revoke_key("billing")
    with pytest.raises(ServiceKeyError, match="revoked"):
        await service.authenticate(f"Bearer {made.key}", "proxy", "conn_y")
    await service.flush()
    [row] = await service.audit_log()
    assert (row.key_id, row.key_name, row.action, row.outcome, row.detail) == (
        made.record.id,
        "billing",
        "proxy",
        "invalid_key",
        "revoked",
    )
    await service.aclose()
