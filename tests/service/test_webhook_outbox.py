"""The webhook outbox on a real store with a clock of the test's own: a receiver that keeps
failing is retried with a doubling backoff, then given up 24 hours after the event."""

from __future__ import annotations

from zohoauth.crypto import KeyRing
from zohoauth.events import Event, EventType
from zohoauth.service import ServiceConfig, TokenService
from zohoauth.service.webhooks import RETRY_WINDOW
from zohoauth.store.sql import SQLTokenStore

DOWN = "http://127.0.0.1:9/hook"  # nothing listens on the discard port


async def test_a_failing_receiver_is_retried_with_backoff_then_given_up_after_24h(
    store_url: str, keys: str
) -> None:
    now = [1_800_000_000.0]
    store = SQLTokenStore(store_url, KeyRing.from_config(keys), clock=lambda: now[0])
    await store.open()
    service = TokenService(store, ServiceConfig(webhook_backoff=10, webhook_timeout=5), auth=None)
    try:
        hook = await service.add_webhook(DOWN, ("reauth_required",))
        ignored = await service.add_webhook(DOWN, ("login",))
        service.on_event(Event(EventType.REAUTH_REQUIRED, "1000.X:us:1", "ava@zylker.com", "us"))
        await service.flush()
        [queued] = await service.deliveries()
        assert (queued.webhook_id, queued.state) == (hook.record.id, "pending")
        assert await service.deliveries(ignored.record.id) == []

        waits = []
        for _ in range(4):
            assert await service.deliver_due() == 1
            [d] = await service.deliveries()
            assert d.state == "pending" and d.last_status is None and d.last_error
            waits.append(d.next_attempt_at - now[0])
            assert await service.deliver_due() == 0  # not due again yet
            now[0] = d.next_attempt_at
        assert waits == [10, 20, 40, 80]

        now[0] = queued.created_at + RETRY_WINDOW + 1  # a day later, still failing
        assert await service.deliver_due() == 1
        [d] = await service.deliveries()
        assert (d.state, d.attempts) == ("failed", 5)
        now[0] += 86_400
        assert await service.deliver_due() == 0  # never tried again
    finally:
        await service.aclose()
        await store.close()
