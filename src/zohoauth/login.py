"""Completing Login with Zoho: callback checks, code exchange, identity, encrypted storage.

    verify_callback (state, DC, accounts-server, sign-in entry, DC accepted)
        ─► exchange_code at that DC (with that DC's client secret)
        ─► api_domain must be that DC's ─► identify (CurrentUser + org) ─► store.save_login

Nothing is stored unless every step succeeded; nothing is sent to a host off the registry, nor
to the DC of a user the app does not accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import identity, oauth
from .credentials import Connection, CredentialKey, Login, TokenSet
from .datacenters import DataCenterRegistry
from .errors import (
    AccessDeniedError,
    DataCenterNotEnabledError,
    LoginError,
    LoginThrottledError,
    MixUpError,
    StateMismatchError,
)
from .events import Event, EventBus, EventType
from .logs import get_logger
from .metrics import LOGINS
from .oauth import Callback, OAuthClient, PendingLogin
from .store.base import TokenStore

if TYPE_CHECKING:
    from ._http import ZohoHTTP

log = get_logger("zohoauth.login")


async def complete_login(
    *,
    http: ZohoHTTP,
    registry: DataCenterRegistry,
    client: OAuthClient,
    store: TokenStore,
    pending: PendingLogin | None,
    callback: Callback,
    events: EventBus | None = None,
    clock: Callable[[], float] = time.time,
    revoke_replaced: bool = True,
) -> Connection:
    """Finish a login and return the user's connection to their (default) org.

    Logging in again updates the credential in place and keeps the connection id; with
    `revoke_replaced` the refresh token it replaces is queued, in the same transaction, to be
    revoked at Zoho (`zohoauth.revocations`; the caller runs the revocation after this).
    """
    try:
        conn = await _complete(
            http, registry, client, store, pending, callback, events, clock, revoke_replaced
        )
    except StateMismatchError:
        LOGINS.labels("state_mismatch").inc()
        raise
    except MixUpError:
        LOGINS.labels("mixup").inc()
        raise
    except AccessDeniedError:
        LOGINS.labels("access_denied").inc()
        raise
    except DataCenterNotEnabledError:
        LOGINS.labels("dc_not_enabled").inc()
        raise
    except LoginThrottledError:
        LOGINS.labels("throttled").inc()
        raise
    except Exception:
        LOGINS.labels("error").inc()
        raise
    LOGINS.labels("ok").inc()
    return conn


async def _complete(
    http: ZohoHTTP,
    registry: DataCenterRegistry,
    client: OAuthClient,
    store: TokenStore,
    pending: PendingLogin | None,
    callback: Callback,
    events: EventBus | None,
    clock: Callable[[], float],
    revoke_replaced: bool,
) -> Connection:
    dc = oauth.verify_callback(registry, pending, callback, clock(), client=client)
    assert callback.code is not None
    assert pending is not None
    grant = await oauth.exchange_code(
        http, registry, client, dc, callback.code, pending.code_verifier, clock()
    )
    assert grant.refresh_token is not None
    who = await identity.identify(http, grant.api_domain, grant.access_token)
    key = CredentialKey(client.client_id, dc.code, who.zuid)
    tokens = TokenSet(grant.refresh_token, grant.access_token, grant.expires_at)
    connections = await store.save_login(
        Login(key, who.email, tokens, grant.api_domain, grant.scopes, (who.org,)),
        revoke_replaced=revoke_replaced,
    )
    if not connections:
        raise LoginError("the login could not be stored; try again")
    log.info("login completed", dc=dc.code, credential=str(key), org_id=who.org.org_id)
    if events is not None:
        await events.emit(Event(EventType.LOGGED_IN, str(key), who.email, dc.code))
    return connections[0]
