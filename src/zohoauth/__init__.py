"""zohoauth: multi-user, multi-data-center OAuth 2.0 for Zoho CRM.

    from zohoauth import ZohoAuth
    async with ZohoAuth.from_settings() as auth:          # ZOHOAUTH_* from env / .env
        conn = await auth.complete_login(pending, callback)
        async for lead in auth.crm(conn.id).iter_records("Leads", ["Last_Name", "Email"]):
            ...

See README.md for a full script and the web app.
"""

from . import criteria
from .auth import ZohoAuth
from .config import Settings
from .crm import CRMClient, Page
from .crm_sync import SyncCRMClient
from .crypto import KeyRing
from .datacenters import ZOHO_DATA_CENTERS, DataCenter, DataCenterRegistry
from .errors import (
    AccessDeniedError,
    ConfigError,
    CRMError,
    DataCenterError,
    DecryptionError,
    InvalidDataError,
    InvalidModuleError,
    InvalidTokenError,
    LeaseTimeoutError,
    LoginError,
    MixUpError,
    NotFoundError,
    RateLimitedError,
    ReauthRequiredError,
    RecordNotFoundError,
    ScopeMismatchError,
    StateMismatchError,
    StoreError,
    ThrottledError,
    TokenError,
    ZohoAuthError,
    ZohoUnavailableError,
)
from .events import Event, EventBus, EventType
from .manager import AccessToken, ManagerConfig, TokenManager
from .oauth import Callback, OAuthClient, PendingLogin
from .store.base import TokenStore
from .store.sql import SQLTokenStore
from .tokens import Connection, Credential, CredentialKey, OrgInfo, Status, TokenSet

__version__ = "0.1.0"

__all__ = [
    "ZOHO_DATA_CENTERS",
    "AccessDeniedError",
    "AccessToken",
    "CRMClient",
    "CRMError",
    "Callback",
    "ConfigError",
    "Connection",
    "Credential",
    "CredentialKey",
    "DataCenter",
    "DataCenterError",
    "DataCenterRegistry",
    "DecryptionError",
    "Event",
    "EventBus",
    "EventType",
    "InvalidDataError",
    "InvalidModuleError",
    "InvalidTokenError",
    "KeyRing",
    "LeaseTimeoutError",
    "LoginError",
    "ManagerConfig",
    "MixUpError",
    "NotFoundError",
    "OAuthClient",
    "OrgInfo",
    "Page",
    "PendingLogin",
    "RateLimitedError",
    "ReauthRequiredError",
    "RecordNotFoundError",
    "SQLTokenStore",
    "ScopeMismatchError",
    "Settings",
    "StateMismatchError",
    "Status",
    "StoreError",
    "SyncCRMClient",
    "ThrottledError",
    "TokenError",
    "TokenManager",
    "TokenSet",
    "TokenStore",
    "ZohoAuth",
    "ZohoAuthError",
    "ZohoUnavailableError",
    "__version__",
    "criteria",
]
