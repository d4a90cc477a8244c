"""The audit log of refused calls, on a real store: who (when known), what, the outcome, never
the key presented; and a flood of refused calls can't flood the table."""

from __future__ import annotations

import json

import pytest

from zohoauth.errors import ServiceKeyError
from zohoauth.service import TokenService
from zohoauth.service.keys import generate
from zohoauth.service.ratelimit import TokenBuckets
from zohoauth.service.service import ANONYMOUS, REFUSALS_BURST
from zohoauth.store.sql import SQLTokenStore


async def test_a_flood_of_bad_keys_is_counted_into_one_row(store: SQLTokenStore) -> None:
    service = TokenService(store, auth=None)
    # The burst and no refill, whatever the machine's speed (the rate is 10 a second).
    service.refusal_buckets = TokenBuckets(rate=1e-9, burst=REFUSALS_BURST)
    presented = [generate() for _ in range(150)]  # well-formed, unknown
    for key in presented:
        with pytest.raises(ServiceKeyError):
            await service.authenticate(f"Bearer {key}", "token", "conn_x")
    await service.flush()
    rows = await service.audit_log(limit=1000)
    one_by_one = [r for r in rows if r.action == "token"]
    assert len(one_by_one) == REFUSALS_BURST
    assert {(r.key_id, r.outcome, r.detail, r.connection_id) for r in one_by_one} == {
        (ANONYMOUS, "invalid_key", "unknown key", "conn_x")
    }
    # The rest are counted, one row per flush (a flush may have come mid-flood).
    summaries = [r for r in rows if r.action == "refused"]
    assert 1 <= len(summaries) <= 3
    assert {(r.key_id, r.outcome) for r in summaries} == {(ANONYMOUS, "invalid_key")}
    counted = sum(int(r.detail.split(" more refused call(s) like this")[0]) for r in summaries)
    assert counted == 150 - REFUSALS_BURST
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
