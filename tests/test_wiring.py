"""Settings become components in one place: what each builder makes of which setting, and the
errors people see for missing or bad ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zohoauth import wiring
from zohoauth.auth import ZohoAuth
from zohoauth.config import Settings
from zohoauth.crypto import KeyRing
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import ConfigError


def settings(**values: Any) -> Settings:
    """Settings from `values` only (no environment file)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def complete(tmp_path: Path) -> Settings:
    return settings(
        client_id="1000.WIRING",
        client_secret="s3cret",
        encryption_keys=KeyRing.generate_key(),
        redirect_uri="https://app.example/redirect.html",
        scopes="ZohoCRM.modules.Leads.ALL, ZohoCRM.org.READ",
        use_pkce=False,
        refresh_skew=120,
        data_dir=tmp_path,
    )


def test_oauth_client_is_the_registration(complete: Settings) -> None:
    client = wiring.oauth_client(complete)
    assert client.client_id == "1000.WIRING"
    assert client.client_secret == "s3cret"
    assert client.redirect_uri == "https://app.example/redirect.html"
    assert client.scopes == ("ZohoCRM.modules.Leads.ALL", "ZohoCRM.org.READ")
    assert client.use_pkce is False


def test_key_ring_reads_the_keys_first_active() -> None:
    new, old = KeyRing.generate_key(), KeyRing.generate_key()
    ring = wiring.key_ring(settings(encryption_keys=f"{new},{old}"))
    assert ring.kids == (KeyRing.from_config(new).active_kid, KeyRing.from_config(old).active_kid)
    assert ring.active_kid == KeyRing.from_config(new).active_kid


@pytest.mark.parametrize(
    ("keys", "said"),
    [("", "is not set or empty"), ("not-a-key", "not urlsafe base64"), ("AAAA", "3 bytes")],
)
def test_a_bad_key_ring_says_how_to_fix_it(keys: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said) as info:
        wiring.key_ring(settings(encryption_keys=keys))
    assert "zohoauth keys generate" in str(info.value)


def test_token_store_defaults_to_sqlite_in_the_data_dir(complete: Settings, tmp_path: Path) -> None:
    store = wiring.token_store(complete, auto_migrate=True)
    assert store.dialect == "sqlite"
    assert store.url.database == str(tmp_path / "zohoauth.db")
    assert store.auto_migrate is True
    assert store.keyring.active_kid == wiring.key_ring(complete).active_kid


def test_token_store_uses_the_database_url_and_a_given_ring(complete: Settings) -> None:
    ring = KeyRing.from_config(KeyRing.generate_key())
    s = complete.model_copy(update={"database_url": "postgresql://zoho@db.example/tokens"})
    store = wiring.token_store(s, ring)
    assert store.dialect == "postgresql"
    assert store.url.host == "db.example"
    assert store.keyring is ring
    assert store.auto_migrate is False


def test_token_store_without_keys_says_to_generate_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        wiring.token_store(settings(data_dir=tmp_path))
    message = str(info.value)
    assert message.startswith("missing setting(s): ZOHOAUTH_ENCRYPTION_KEYS")
    assert "generate a key with `zohoauth keys generate`" in message


def test_dc_registry_is_zoho_by_default_or_the_endpoints_file(tmp_path: Path) -> None:
    assert wiring.dc_registry(settings()).codes == DataCenterRegistry.zoho().codes
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(
        json.dumps(
            {
                "us": {
                    "accounts_server": "http://127.0.0.1:9/us/accounts",
                    "api_domain": "http://127.0.0.1:9/us/api",
                }
            }
        )
    )
    registry = wiring.dc_registry(settings(zoho_endpoints=str(endpoints)))
    assert registry.codes == ("us",)
    assert registry.get("us").accounts_server == "http://127.0.0.1:9/us/accounts"
    with pytest.raises(ConfigError, match="ZOHOAUTH_ZOHO_ENDPOINTS"):
        wiring.dc_registry(settings(zoho_endpoints=str(tmp_path / "missing.json")))


def test_manager_config_takes_the_refresh_skew(complete: Settings) -> None:
    assert wiring.manager_config(complete).skew == 120


def test_from_settings_names_every_missing_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ZohoAuth.from_settings(settings(data_dir=tmp_path))
    for name in ("ZOHOAUTH_CLIENT_ID", "ZOHOAUTH_CLIENT_SECRET", "ZOHOAUTH_ENCRYPTION_KEYS"):
        assert name in str(info.value)


async def test_from_settings_builds_from_the_same_parts(complete: Settings) -> None:
    auth = ZohoAuth.from_settings(complete, auto_migrate=True)
    try:
        assert auth.client == wiring.oauth_client(complete)
        assert auth.registry.codes == wiring.dc_registry(complete).codes
        assert auth.manager.config == wiring.manager_config(complete)
        await auth.open()
        assert await auth.store.find_connections() == []
    finally:
        await auth.aclose()
