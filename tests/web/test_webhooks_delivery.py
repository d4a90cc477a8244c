"""Webhook deliveries from the live app: signed, retried until the receiver is back, and still
sent after the service restarts (the outbox is in the database)."""

from __future__ import annotations

import time
from pathlib import Path

from zohoauth.emulator import BackgroundEmulator
from zohoauth.service import ServiceConfig
from zohoauth.service.webhooks import verify

from ..support.service import receiver, with_service
from ..support.web import LiveApp, free_port

FAST = ServiceConfig(webhook_poll=0.1, webhook_backoff=0.2)


def _login(live: LiveApp, email: str = "ava@zylker.com") -> None:
    b = live.browser()
    try:
        b.login(email)
    finally:
        b.close()


def _wait(cond: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_receiver_that_is_down_gets_the_signed_delivery_when_it_is_back(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    port = free_port()
    store = f"sqlite:///{tmp_path / 'w.db'}"
    with LiveApp(emulator.url, store, service_config=FAST) as live:
        hook = with_service(
            live, lambda s: s.add_webhook(f"http://127.0.0.1:{port}/hook", ("login",))
        )
        _login(live)
        _wait(lambda: any(d.attempts >= 2 for d in with_service(live, lambda s: s.deliveries())))
        with receiver(port) as got:
            _wait(lambda: got)
            _wait(
                lambda: (
                    [d.state for d in with_service(live, lambda s: s.deliveries())] == ["delivered"]
                )
            )
        header, body = got[0]
        assert verify(hook.secret, header, body)
        assert b'"type":"login"' in body and b"ava@zylker.com" in body


def test_a_restarted_service_still_delivers(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    port = free_port()
    store = f"sqlite:///{tmp_path / 'w.db'}"
    # The first attempt fails at once; the next is due 2 s later, after the restart.
    slow = ServiceConfig(webhook_poll=0.1, webhook_backoff=2.0)
    with LiveApp(emulator.url, store, service_config=slow) as first:
        keys = first.keys
        with_service(first, lambda s: s.add_webhook(f"http://127.0.0.1:{port}/h", ("login",)))
        _login(first)
        _wait(lambda: any(d.attempts >= 1 for d in with_service(first, lambda s: s.deliveries())))
    # The first service is gone; a new one on the same database, with the receiver up.
    with receiver(port) as got, LiveApp(emulator.url, store, service_config=FAST, keys=keys):
        _wait(lambda: got, seconds=60)
    assert b'"type":"login"' in got[0][1]
