"""An offline Zoho: Accounts (OAuth 2.0) for all nine data centers and the CRM v8 API.

Faithful to Zoho's documented and observed behaviour (docs/zoho-reference.md): HTTP-200 token
errors, single-use grant codes, refresh throttling and access-token eviction, Zoho's CRM error
envelope. Each DC lives under its own path prefix on one port; `GET /_emulator/endpoints` says
where. It imports nothing from the rest of zohoauth, so it can test any Zoho client.
"""

from .app import create_app
from .config import EmulatorConfig
from .server import BackgroundEmulator, serve

__all__ = ["BackgroundEmulator", "EmulatorConfig", "create_app", "serve"]
