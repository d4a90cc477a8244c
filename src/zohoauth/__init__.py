"""zohoauth: multi-user, multi-data-center OAuth 2.0 for Zoho CRM.

    from zohoauth import ZohoAuth
    async with ZohoAuth.from_settings() as auth:          # ZOHOAUTH_* from env / .env
        conn = await auth.complete_login(pending, callback)
        async for lead in auth.crm(conn.id).iter_records("Leads", ["Last_Name", "Email"]):
            ...

See README.md for a full script and the web app.

Everything a user imports is named here and in `__all__` (pinned by a test). The names load on
first use (PEP 562), so `import zohoauth` and the CLI's `--help` stay fast: the store
(SQLAlchemy), the settings (pydantic) and the HTTP client (aiohttp) are imported only by what
needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._http import (
        ZohoHTTP,
    )
    from .auth import (
        ConnectionInfo,
        Health,
        LogoutResult,
        ZohoAuth,
    )
    from .config import (
        Settings,
    )
    from .credentials import (
        Connection,
        Credential,
        CredentialKey,
        Login,
        OrgInfo,
        Status,
        TokenSet,
    )
    from .crm import criteria
    from .crm.client import (
        CRMClient,
        Page,
    )
    from .crm.sync import (
        SyncCRMClient,
    )
    from .crypto import (
        KeyRing,
    )
    from .datacenters import (
        ZOHO_DATA_CENTERS,
        DataCenter,
        DataCenterRegistry,
    )
    from .errors import (
        AccessDeniedError,
        AmbiguousConnectionError,
        ConfigError,
        CRMError,
        DataCenterError,
        DataCenterNotEnabledError,
        DecryptionError,
        InvalidClientError,
        InvalidDataError,
        InvalidModuleError,
        InvalidTokenError,
        LeaseTimeoutError,
        LoginError,
        LoginThrottledError,
        MixUpError,
        NoPermissionError,
        NotFoundError,
        ProxyPathError,
        RateLimitedError,
        ReauthRequiredError,
        RecordNotFoundError,
        ScopeMismatchError,
        SDKFormatError,
        ServiceError,
        ServiceKeyError,
        ServiceScopeError,
        StateMismatchError,
        StoreError,
        ThrottledError,
        TLSVerificationError,
        TokenError,
        TokenRejectedError,
        TransportError,
        TransportTimeout,
        ZohoAuthError,
        ZohoUnavailableError,
    )
    from .events import (
        Event,
        EventBus,
        EventType,
    )
    from .manager import (
        AccessToken,
        ManagerConfig,
        TokenManager,
    )
    from .oauth import (
        Callback,
        OAuthClient,
        PendingLogin,
    )
    from .revoke import (
        RevokeOutcome,
        RevokeResult,
    )
    from .service import (
        ServiceConfig,
        ServiceKey,
        TokenService,
    )
    from .store.base import (
        TokenStore,
    )
    from .store.sql import (
        SQLTokenStore,
    )

#: public name -> the module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    "ConnectionInfo": ".auth",
    "Health": ".auth",
    "LogoutResult": ".auth",
    "ZohoHTTP": "._http",
    "ZohoAuth": ".auth",
    "Settings": ".config",
    "Connection": ".credentials",
    "Credential": ".credentials",
    "CredentialKey": ".credentials",
    "Login": ".credentials",
    "OrgInfo": ".credentials",
    "Status": ".credentials",
    "TokenSet": ".credentials",
    "CRMClient": ".crm.client",
    "Page": ".crm.client",
    "criteria": ".crm.criteria",
    "SyncCRMClient": ".crm.sync",
    "KeyRing": ".crypto",
    "DataCenter": ".datacenters",
    "DataCenterRegistry": ".datacenters",
    "ZOHO_DATA_CENTERS": ".datacenters",
    "AccessDeniedError": ".errors",
    "CRMError": ".errors",
    "ConfigError": ".errors",
    "DataCenterError": ".errors",
    "DataCenterNotEnabledError": ".errors",
    "DecryptionError": ".errors",
    "InvalidDataError": ".errors",
    "InvalidModuleError": ".errors",
    "InvalidTokenError": ".errors",
    "LeaseTimeoutError": ".errors",
    "LoginError": ".errors",
    "LoginThrottledError": ".errors",
    "MixUpError": ".errors",
    "NotFoundError": ".errors",
    "RateLimitedError": ".errors",
    "ReauthRequiredError": ".errors",
    "RecordNotFoundError": ".errors",
    "ScopeMismatchError": ".errors",
    "StateMismatchError": ".errors",
    "StoreError": ".errors",
    "ThrottledError": ".errors",
    "TokenError": ".errors",
    "ZohoAuthError": ".errors",
    "ZohoUnavailableError": ".errors",
    "TLSVerificationError": ".errors",
    "TransportError": ".errors",
    "TransportTimeout": ".errors",
    "AmbiguousConnectionError": ".errors",
    "InvalidClientError": ".errors",
    "NoPermissionError": ".errors",
    "SDKFormatError": ".errors",
    "TokenRejectedError": ".errors",
    "ProxyPathError": ".errors",
    "ServiceError": ".errors",
    "ServiceKeyError": ".errors",
    "ServiceScopeError": ".errors",
    "ServiceConfig": ".service",
    "ServiceKey": ".service",
    "TokenService": ".service",
    "Event": ".events",
    "EventBus": ".events",
    "EventType": ".events",
    "AccessToken": ".manager",
    "ManagerConfig": ".manager",
    "TokenManager": ".manager",
    "Callback": ".oauth",
    "OAuthClient": ".oauth",
    "PendingLogin": ".oauth",
    "RevokeOutcome": ".revoke",
    "RevokeResult": ".revoke",
    "TokenStore": ".store.base",
    "SQLTokenStore": ".store.sql",
}

__all__ = [
    "ZOHO_DATA_CENTERS",
    "AccessDeniedError",
    "AccessToken",
    "AmbiguousConnectionError",
    "CRMClient",
    "CRMError",
    "Callback",
    "ConfigError",
    "Connection",
    "ConnectionInfo",
    "Credential",
    "CredentialKey",
    "DataCenter",
    "DataCenterError",
    "DataCenterNotEnabledError",
    "DataCenterRegistry",
    "DecryptionError",
    "Event",
    "EventBus",
    "EventType",
    "Health",
    "InvalidClientError",
    "InvalidDataError",
    "InvalidModuleError",
    "InvalidTokenError",
    "KeyRing",
    "LeaseTimeoutError",
    "Login",
    "LoginError",
    "LoginThrottledError",
    "LogoutResult",
    "ManagerConfig",
    "MixUpError",
    "NoPermissionError",
    "NotFoundError",
    "OAuthClient",
    "OrgInfo",
    "Page",
    "PendingLogin",
    "ProxyPathError",
    "RateLimitedError",
    "ReauthRequiredError",
    "RecordNotFoundError",
    "RevokeOutcome",
    "RevokeResult",
    "SDKFormatError",
    "SQLTokenStore",
    "ScopeMismatchError",
    "ServiceConfig",
    "ServiceError",
    "ServiceKey",
    "ServiceKeyError",
    "ServiceScopeError",
    "Settings",
    "StateMismatchError",
    "Status",
    "StoreError",
    "SyncCRMClient",
    "TLSVerificationError",
    "ThrottledError",
    "TokenError",
    "TokenManager",
    "TokenRejectedError",
    "TokenService",
    "TokenSet",
    "TokenStore",
    "TransportError",
    "TransportTimeout",
    "ZohoAuth",
    "ZohoAuthError",
    "ZohoHTTP",
    "ZohoUnavailableError",
    "__version__",
    "criteria",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zohoauth' has no attribute {name!r}")
    if module == ".crm.criteria":
        value: Any = importlib.import_module(module, __name__)
    else:
        value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
