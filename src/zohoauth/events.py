"""Hooks an app subscribes to: a token was refreshed, a refresh failed, a user must log in again,
logged in, logged out, or revoked the grant.

Handlers may be plain functions or coroutines. A failing handler is logged and never breaks the
token flow that emitted the event. Events carry no token, only who and what.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from .logs import get_logger

log = get_logger("zohoauth.events")


class EventType(StrEnum):
    REFRESHED = "refreshed"
    REFRESH_FAILED = "refresh_failed"
    REAUTH_REQUIRED = "reauth_required"
    LOGGED_IN = "logged_in"
    LOGGED_OUT = "logged_out"  # a connection was logged out of this app (not revoked)
    REVOKED = "revoked"  # the grant was revoked at Zoho (every connection sharing it ended)


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    credential: str  # str(CredentialKey): client_id:dc:zuid
    email: str
    dc: str
    detail: str = ""


Handler = Callable[[Event], Awaitable[None] | None]


class EventBus:
    """A tiny pub/sub: `bus.subscribe(EventType.REAUTH_REQUIRED, notify_user)`."""

    def __init__(self) -> None:
        self._handlers: dict[EventType, list[Handler]] = {}

    def subscribe(self, event_type: EventType | str, handler: Handler) -> Callable[[], None]:
        """Register `handler`; returns a function that unsubscribes it."""
        kind = EventType(event_type)
        self._handlers.setdefault(kind, []).append(handler)
        return lambda: self._handlers[kind].remove(handler)

    async def emit(self, event: Event) -> None:
        for handler in list(self._handlers.get(event.type, ())):
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # a subscriber's bug must not break token refresh
                log.warning("event handler failed", kind=event.type.value, error=repr(exc))
