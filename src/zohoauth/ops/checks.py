"""Health checks for an installation (`zohoauth doctor`): settings, database, keys, Zoho, redirect.

Each check returns one `Check` line: ok, warning (works, but probably not what you want) or
failed (something will break), with a message that says what to do. Nothing here prints a
secret: settings are reported by name, keys by id, URLs with passwords masked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from .. import wiring
from .._http import ZohoHTTP
from ..config import Settings, env_name
from ..crypto import KeyRing
from ..datacenters import DataCenter, DataCenterRegistry
from ..errors import TransportError, ZohoAuthError

Level = Literal["ok", "warn", "fail"]
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """`host` (a URL's hostname) is this machine: localhost, 127.0.0.0/8 or ::1 (pure)."""
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: Level
    message: str

    @property
    def failed(self) -> bool:
        return self.level == "fail"


def check_settings(s: Settings) -> Check:
    missing = [env_name(n) for n in wiring.REQUIRED if not s.is_set(n)]
    if missing:
        return Check("settings", "fail", f"missing {', '.join(missing)} (environment or .env)")
    if not s.is_set("session_secret"):
        return Check("settings", "warn", "ZOHOAUTH_SESSION_SECRET is not set: the web app needs it")
    return Check("settings", "ok", f"client {s.client_id}, {len(s.scope_list)} scope(s)")


def check_keyring(s: Settings) -> tuple[Check, KeyRing | None]:
    try:
        ring = wiring.key_ring(s)
    except ZohoAuthError as exc:
        return Check("key ring", "fail", str(exc)), None
    older = f", {len(ring.kids) - 1} older" if len(ring.kids) > 1 else ""
    return Check("key ring", "ok", f"active key {ring.active_kid}{older}"), ring


def check_redirect_uri(uri: str) -> Check:
    """Absolute; https unless on this machine; /redirect.html for the web app (pure)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return Check("redirect URI", "fail", f"{uri!r} is not a URL")
    if parts.scheme not in ("http", "https") or not host:
        return Check("redirect URI", "fail", f"{uri!r} must be an absolute http(s) URL")
    if parts.scheme != "https" and not is_loopback(host):
        return Check("redirect URI", "fail", f"{uri} must use https (plain http only on localhost)")
    if not parts.path.endswith("/redirect.html"):
        return Check(
            "redirect URI", "warn", f"{uri} does not end in /redirect.html (the web app's page)"
        )
    return Check("redirect URI", "ok", uri)


async def check_store(s: Settings, ring: KeyRing) -> list[Check]:
    """Reachable, migrated, and the ring opens what is stored (one sample per key id)."""
    from ..store.urls import mask_url

    try:
        async with wiring.token_store(s, ring) as store:
            checks = [Check("database", "ok", f"{mask_url(store.url)} reachable, schema current")]
            counts = await store.count_by_key_id()
            unknown = sorted(kid for kid in counts if kid not in ring)
            if unknown:
                n = sum(counts[k] for k in unknown)
                checks.append(
                    Check(
                        "decrypt",
                        "fail",
                        f"{n} credential(s) use key id(s) {', '.join(unknown)}, missing from "
                        "ZOHOAUTH_ENCRYPTION_KEYS: add those keys back (after the active one)",
                    )
                )
                return checks
            if not counts:
                checks.append(Check("decrypt", "ok", "no credentials stored yet"))
                return checks
            async for _cred in store.iter_credentials(batch=1):
                break  # decrypting one row proves the ring opens this database's rows
            total = sum(counts.values())
            older = sum(n for kid, n in counts.items() if kid != ring.active_kid)
            note = f"; {older} still on an older key (run `zohoauth keys rotate`)" if older else ""
            checks.append(Check("decrypt", "warn" if older else "ok", f"{total} stored{note}"))
            return checks
    except ZohoAuthError as exc:
        return [Check("database", "fail", str(exc))]


#: Seconds to wait for each data center (no network must not hang `doctor`).
DC_TIMEOUT = 3.0


async def check_dcs(registry: DataCenterRegistry, ca_bundle: str | None = None) -> list[Check]:
    """Each DC's accounts server and API host answers HTTP at all (any status counts)."""
    async with ZohoHTTP(timeout=DC_TIMEOUT, ca_bundle=ca_bundle) as http:
        return list(await asyncio.gather(*(_check_dc(http, dc) for dc in registry)))


async def _check_dc(http: ZohoHTTP, dc: DataCenter) -> Check:
    parts = []
    for label, url in (("accounts", dc.accounts_server), ("api", dc.api_domain)):
        started = time.monotonic()
        try:
            await http.request("GET", url)
        except TransportError as exc:
            return Check(f"dc {dc.code}", "fail", f"{label} {url} unreachable ({exc.reason})")
        parts.append(f"{label} {url} {int((time.monotonic() - started) * 1000)} ms")
    return Check(f"dc {dc.code}", "ok", ", ".join(parts))


def load_registry(s: Settings) -> tuple[Check, DataCenterRegistry | None]:
    try:
        registry = wiring.dc_registry(s)
    except ZohoAuthError as exc:
        return Check("data centers", "fail", str(exc)), None
    source = s.zoho_endpoints or "Zoho's (built in)"
    return Check("data centers", "ok", f"{len(registry.codes)} from {source}"), registry


async def run_checks(s: Settings, *, network: bool = True) -> list[Check]:
    """Every check, in the order a person would fix them."""
    checks = [check_settings(s)]
    ring_check, ring = check_keyring(s)
    checks.append(ring_check)
    if ring is not None:
        checks.extend(await check_store(s, ring))
    checks.append(check_redirect_uri(s.redirect_uri))
    reg_check, registry = load_registry(s)
    checks.append(reg_check)
    if network and registry is not None:
        checks.extend(await check_dcs(registry, s.ca_bundle or None))
    return checks


__all__ = ["Check", "check_redirect_uri", "check_settings", "run_checks"]
