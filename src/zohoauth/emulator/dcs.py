"""The data centers the emulator serves, each under its own path prefix on one port.

Real Zoho gives each DC its own hosts (`accounts.zoho.eu`, `www.zohoapis.eu`); the emulator gives
each its own prefix: accounts server `{base}/{dc}/accounts`, API domain `{base}/{dc}/api`.
Clients learn these from `GET /_emulator/endpoints` and never guess.
"""

from __future__ import annotations

from typing import Final

#: DC code -> the real accounts server, used for the display name on the consent page.
DATA_CENTERS: Final[dict[str, str]] = {
    "us": "accounts.zoho.com",
    "eu": "accounts.zoho.eu",
    "in": "accounts.zoho.in",
    "au": "accounts.zoho.com.au",
    "jp": "accounts.zoho.jp",
    "cn": "accounts.zoho.com.cn",
    "ca": "accounts.zohocloud.ca",
    "sa": "accounts.zoho.sa",
}

#: The DC whose accounts server shows the consent page, as at Zoho (accounts.zoho.com).
HOME_DC: Final = "us"


def accounts_server(base_url: str, dc: str) -> str:
    """The accounts server URL of `dc` as the emulator publishes it."""
    return f"{base_url.rstrip('/')}/{dc}/accounts"


def api_domain(base_url: str, dc: str) -> str:
    """The API domain of `dc` (what token responses carry as `api_domain`)."""
    return f"{base_url.rstrip('/')}/{dc}/api"


def endpoints(base_url: str) -> dict[str, dict[str, str]]:
    """The `/_emulator/endpoints` document for every DC."""
    return {
        dc: {
            "accounts_server": accounts_server(base_url, dc),
            "api_domain": api_domain(base_url, dc),
        }
        for dc in DATA_CENTERS
    }
