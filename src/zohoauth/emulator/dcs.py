"""The data centers the emulator serves, each under its own path prefix on one port, and the
sign-in entry each belongs to.

Real Zoho gives each DC its own hosts (`accounts.zoho.eu`, `www.zohoapis.eu`); the emulator gives
each its own prefix: accounts server `{base}/{dc}/accounts`, API domain `{base}/{dc}/api`.
Clients learn these from `GET /_emulator/endpoints` and never guess.

Zoho runs two separate sign-in worlds (docs/zoho-reference.md §5): the Multi-DC DCs
(US, EU, IN, AU, JP, CA, SA, UK), whose logins start at accounts.zoho.com and are sent on to the
user's own DC, and China, a separate Zoho whose logins start at accounts.zoho.com.cn and which
knows nothing of the others' users (nor they of its).
"""

from __future__ import annotations

from typing import Final

#: DC code -> the real accounts server's host, shown on that DC's consent page.
DATA_CENTERS: Final[dict[str, str]] = {
    "us": "accounts.zoho.com",
    "eu": "accounts.zoho.eu",
    "in": "accounts.zoho.in",
    "au": "accounts.zoho.com.au",
    "jp": "accounts.zoho.jp",
    "cn": "accounts.zoho.com.cn",
    "ca": "accounts.zohocloud.ca",
    "sa": "accounts.zoho.sa",
    "uk": "accounts.zoho.uk",
}

#: The DC whose accounts server is the Multi-DC sign-in entry, as at Zoho (accounts.zoho.com).
HOME_DC: Final = "us"
#: China's own sign-in entry (accounts.zoho.com.cn), outside Multi-DC.
CHINA_DC: Final = "cn"

#: DC code -> the DC whose accounts server is its users' sign-in entry.
LOGIN_DC: Final[dict[str, str]] = {
    dc: CHINA_DC if dc == CHINA_DC else HOME_DC for dc in DATA_CENTERS
}


def login_dc(dc: str) -> str:
    """The sign-in entry of `dc`'s users: "us" for every Multi-DC DC, "cn" for China."""
    return LOGIN_DC[dc]


def same_sign_in(dc: str, other: str) -> bool:
    """Whether users of `other` sign in through the same entry as users of `dc` (one Zoho)."""
    return LOGIN_DC[dc] == LOGIN_DC[other]


def accounts_server(base_url: str, dc: str) -> str:
    """The accounts server URL of `dc` as the emulator publishes it."""
    return f"{base_url.rstrip('/')}/{dc}/accounts"


def api_domain(base_url: str, dc: str) -> str:
    """The API domain of `dc` (what token responses carry as `api_domain`)."""
    return f"{base_url.rstrip('/')}/{dc}/api"


def endpoints(base_url: str) -> dict[str, dict[str, str | bool]]:
    """The `/_emulator/endpoints` document for every DC.

    Besides where each DC lives, each entry says where its users sign in: `login_dc` names the
    DC whose accounts server shows their consent page, and `multi_dc` is true for the DCs that
    share the US entry (false for China).
    """
    return {
        dc: {
            "accounts_server": accounts_server(base_url, dc),
            "api_domain": api_domain(base_url, dc),
            "login_dc": LOGIN_DC[dc],
            "multi_dc": LOGIN_DC[dc] == HOME_DC,
        }
        for dc in DATA_CENTERS
    }


def server_locations(base_url: str, dc: str) -> dict[str, str]:
    """`location` -> accounts server for every DC that signs in where `dc`'s users do: what
    `GET /oauth/serverinfo` lists (the Multi-DC DCs at a Multi-DC server)."""
    return {
        other: accounts_server(base_url, other) for other in DATA_CENTERS if same_sign_in(dc, other)
    }
