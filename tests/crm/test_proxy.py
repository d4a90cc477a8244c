"""The proxy's path rules (no SSRF), as a pure check."""

from __future__ import annotations

import pytest

from zohoauth.crm.proxy import check_path
from zohoauth.errors import ProxyPathError


@pytest.mark.parametrize(
    "path", ["crm/v8/Leads", "crm/v8/Leads/123/Notes", "crm/v8/settings/fields", "crm/v8/Leads/"]
)
def test_plain_crm_paths_pass(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/crm/v8/Leads",  # absolute URL
        "//evil.example/crm/v8/Leads",
        "crm/v8/../../oauth/v2/token",  # dot segments
        "crm/v8/./Leads",
        "crm/v8/%2e%2e/%2e%2e/oauth",  # encoded dots
        "crm/v8/Leads%2f..%2f..%2fx",  # encoded slash
        "crm/v8/Leads%2F1",
        "crm/v8/user@evil.example/x",  # userinfo
        "crm/v8\\..\\x",  # backslashes
        "crm/v8/Leads:8080",
        "crm/v2/Leads",  # other API versions
        "oauth/v2/token",  # other services on the host
        "crm/v8//Leads",
    ],
)
def test_anything_else_is_refused(path: str) -> None:
    with pytest.raises(ProxyPathError):
        check_path(path)
