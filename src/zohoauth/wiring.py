"""From settings to components: the one place `Settings` becomes a key ring, a data-center
registry, an OAuth client, a token store and the token manager's configuration.

`ZohoAuth.from_settings`, the official SDK's store (`zohoauth.sdk`), the CLI and `doctor`'s
checks all build their parts here, so a setting means the same thing to each of them:

    s = Settings.load()
    s.require(*REQUIRED)
    store = token_store(s)            # not opened: `async with store:` or `await store.open()`

Every builder is pure but `dc_registry`, which reads `ZOHOAUTH_ZOHO_ENDPOINTS` when it names
a file or an emulator's URL; the store touches its database only when opened. A bad setting
raises ConfigError naming the variable and what to do (the messages of `KeyRing`,
`DataCenterRegistry` and `Settings.require`, unchanged).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import Settings
from .crypto import KeyRing
from .datacenters import DataCenterRegistry
from .manager import ManagerConfig
from .oauth import OAuthClient
from .store.sql import SQLTokenStore

if TYPE_CHECKING:
    from ._http import ZohoHTTP
    from .refresher.plan import RefresherConfig
    from .service.service import ServiceConfig

#: Settings every installation needs: the web app, scripts and the SDK's store alike (`doctor`
#: checks these; the web app also needs ZOHOAUTH_SESSION_SECRET).
REQUIRED = ("client_id", "client_secret", "encryption_keys")


def key_ring(s: Settings) -> KeyRing:
    """The encryption keys (`ZOHOAUTH_ENCRYPTION_KEYS`, the first one active)."""
    return KeyRing.from_config(s.encryption_keys.get_secret_value())


def dc_registry(s: Settings) -> DataCenterRegistry:
    """Zoho's data centers, or those `ZOHOAUTH_ZOHO_ENDPOINTS` describes (a JSON file, or an
    emulator's `/_emulator/endpoints` URL, read now)."""
    return DataCenterRegistry.load(s.zoho_endpoints or None, ca_bundle=s.ca_bundle)


def zoho_http(s: Settings) -> ZohoHTTP:
    """The transport for calls to Zoho, trusting `ZOHOAUTH_CA_BUNDLE` when it is set."""
    from ._http import ZohoHTTP

    return ZohoHTTP(ca_bundle=s.ca_bundle or None)


def oauth_client(s: Settings) -> OAuthClient:
    """The app's registration at Zoho: client id and secrets (common and per DC; the client
    picks), redirect URI, scopes, PKCE, and the DCs whose users may log in."""
    return OAuthClient(
        client_id=s.client_id,
        client_secret=s.client_secret.get_secret_value(),
        redirect_uri=s.redirect_uri,
        scopes=s.scope_list,
        use_pkce=s.use_pkce,
        client_secrets=s.client_secret_map(),
        data_centers=s.data_center_codes,
    )


def token_store(
    s: Settings,
    ring: KeyRing | None = None,
    *,
    auto_migrate: bool = False,
    clock: Callable[[], float] = time.time,
) -> SQLTokenStore:
    """The encrypted store at `ZOHOAUTH_DATABASE_URL` (default: SQLite in the data dir), with
    `ring` or the settings' keys. Not opened; without `auto_migrate`, opening a database that
    is not at the current schema says to run `zohoauth db upgrade`."""
    if ring is None:
        s.require("encryption_keys")
        ring = key_ring(s)
    return SQLTokenStore(s.effective_database_url, ring, auto_migrate=auto_migrate, clock=clock)


def manager_config(s: Settings) -> ManagerConfig:
    """The token manager's configuration: refresh `ZOHOAUTH_REFRESH_SKEW` seconds early."""
    return ManagerConfig(skew=s.refresh_skew)


def refresher_config(s: Settings) -> RefresherConfig:
    """The background refresher's: lead, active window, idle check period, batch, pace."""
    from .refresher.plan import RefresherConfig

    return RefresherConfig(
        lead=s.refresher_lead,
        active_window=s.refresher_active_hours * 3600.0,
        check_period=s.refresher_check_hours * 3600.0,
        batch_size=s.refresher_batch_size,
        client_rate=s.refresher_client_rate,
        claim_ttl=s.refresher_claim_ttl,
    )


def service_config(s: Settings) -> ServiceConfig:
    """The token service's: the service-key pepper (empty: derived from the key ring) and the
    per-key rate limit."""
    from .service.service import ServiceConfig

    return ServiceConfig(
        pepper=s.service_key_pepper.get_secret_value(),
        rate=s.service_rate_limit,
        burst=s.service_rate_burst,
    )


__all__ = [
    "REQUIRED",
    "dc_registry",
    "key_ring",
    "manager_config",
    "oauth_client",
    "refresher_config",
    "service_config",
    "token_store",
]
