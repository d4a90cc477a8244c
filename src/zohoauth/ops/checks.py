"""Health checks for an installation (`zohoauth doctor`): settings, database, keys, Zoho, redirect.

`--online` adds one more: Zoho's own list of its data centers (`GET /oauth/serverinfo` at the
Multi-DC sign-in) compared with the table zohoauth ships, so a new DC or a moved accounts server
shows up before a user from it is refused.

Each check returns one `Check` line: ok, warning (works, but probably not what you want),
failed (something will break) or not run (with why: a setting it needs is missing, an earlier
check failed, or a flag leaves it out), with a message that says what to do. No check is left
out silently. Until the settings every installation needs are set, nothing is probed that
needs them: an installation that is not configured gets "not configured" and a list of what
was not run, not a failure from every DC of real Zoho.

A check is one function from the settings (and what earlier checks built) to `Check`s;
`run_checks` calls each in the order a person would fix them, so a new check is one function
and one line there. Nothing here prints a secret: settings are reported by name, keys by id,
URLs with passwords masked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from .. import wiring
from .._http import ZohoHTTP
from ..config import Settings, env_name
from ..crypto import KeyRing
from ..datacenters import DataCenter, DataCenterRegistry
from ..errors import TransportError, ZohoAuthError

Level = Literal["ok", "warn", "fail", "not_run"]
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


def not_run(name: str, why: str) -> Check:
    """A check that did not run, and why (never left out silently)."""
    return Check(name, "not_run", why)


def missing_settings(s: Settings) -> list[str]:
    """The settings every installation needs (`wiring.REQUIRED`) that are unset, in order."""
    return [n for n in wiring.REQUIRED if not s.is_set(n)]


def check_settings(s: Settings) -> Check:
    missing = [env_name(n) for n in missing_settings(s)]
    if missing:
        return Check("settings", "fail", f"not configured: set {', '.join(missing)}")
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


def check_file_modes(s: Settings) -> Check:
    """The SQLite database (and its -wal/-shm/-journal files) 0600 and the data dir 0700: a
    looser mode lets other local users read emails, zuids and ciphertexts. Warns with the chmod
    to run; changes nothing (store/files.py)."""
    from ..store.files import loose_files
    from ..store.urls import normalize_url, sqlite_path

    try:
        database = sqlite_path(normalize_url(s.effective_database_url))
    except ZohoAuthError:
        database = None  # the database check says what is wrong with the URL
    data_dir = s.data_dir if s.data_dir.is_dir() else None
    if database is None and data_dir is None:
        return Check("file modes", "ok", "no SQLite file or data dir here to check")
    loose = loose_files(database, data_dir)
    if loose:
        return Check("file modes", "warn", "; ".join(str(item) for item in loose))
    checked = [str(p) for p in (database, data_dir) if p is not None]
    return Check("file modes", "ok", f"{', '.join(checked)}: owner only")


#: Seconds to wait for each data center (no network must not hang `doctor`).
DC_TIMEOUT = 3.0


async def check_dcs(
    registry: DataCenterRegistry,
    enabled: tuple[DataCenter, ...] | None = None,
    ca_bundle: str | None = None,
) -> list[Check]:
    """Each (enabled) DC's accounts server and API host answers HTTP at all (any status)."""
    dcs = tuple(registry) if enabled is None else enabled
    async with ZohoHTTP(timeout=DC_TIMEOUT, ca_bundle=ca_bundle) as http:
        return list(await asyncio.gather(*(_check_dc(http, dc) for dc in dcs)))


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


def enabled_dcs(s: Settings, registry: DataCenterRegistry) -> tuple[DataCenter, ...]:
    """The registry's DCs that `ZOHOAUTH_DATA_CENTERS` enables (all when it is empty)."""
    codes = s.data_center_codes
    return tuple(dc for dc in registry if codes is None or dc.code in codes)


def load_registry(s: Settings) -> tuple[Check, DataCenterRegistry | None]:
    try:
        registry = wiring.dc_registry(s)
    except ZohoAuthError as exc:
        return Check("data centers", "fail", str(exc)), None
    source = s.zoho_endpoints or "Zoho's (built in)"
    found = f"{len(registry.codes)} from {source}"
    missing = sorted((s.data_center_codes or frozenset()) - set(registry.codes))
    if missing:
        return Check(
            "data centers",
            "fail",
            f"{found}, without {', '.join(missing)} that ZOHOAUTH_DATA_CENTERS enables",
        ), registry
    enabled = enabled_dcs(s, registry)
    if len(enabled) == len(registry.codes):
        return Check("data centers", "ok", f"{found}; all enabled"), registry
    codes = ", ".join(dc.code for dc in enabled)
    of = f"{len(enabled)} of {len(registry.codes)}"
    return Check(
        "data centers", "ok", f"{found}; enabled (ZOHOAUTH_DATA_CENTERS): {codes} ({of})"
    ), registry


def check_secrets(s: Settings, registry: DataCenterRegistry) -> Check:
    """Which client secret each enabled DC uses, "own" or "common" (never a value)."""
    try:
        own = s.client_secret_map()
    except ZohoAuthError as exc:
        return Check("client secrets", "fail", str(exc))
    common = bool(s.client_secret.get_secret_value())
    enabled = enabled_dcs(s, registry)
    uses = {
        "own": [dc.code for dc in enabled if dc.code in own],
        "common": [dc.code for dc in enabled if dc.code not in own and common],
        "none": [dc.code for dc in enabled if dc.code not in own and not common],
    }
    said = "; ".join(f"{kind} for {', '.join(codes)}" for kind, codes in uses.items() if codes)
    if uses["none"]:
        return Check(
            "client secrets",
            "fail",
            f"{said}: set ZOHOAUTH_CLIENT_SECRET, or give {', '.join(uses['none'])} their own "
            "in ZOHOAUTH_CLIENT_SECRETS",
        )
    unused = sorted(set(own) - {dc.code for dc in enabled})
    if unused:
        return Check(
            "client secrets",
            "warn",
            f"{said}; a secret for {', '.join(unused)} is set, but that DC is not enabled",
        )
    return Check("client secrets", "ok", said or "none set")


#: Seconds to wait for Zoho's serverinfo (`doctor --online`).
SERVERINFO_TIMEOUT = 10.0


async def check_serverinfo(registry: DataCenterRegistry, ca_bundle: str | None = None) -> Check:
    """Compare the registry with what the Multi-DC sign-in lists at `GET /oauth/serverinfo`
    (Zoho's list of its DCs' accounts servers: docs/zoho-reference.md §5). A DC Zoho lists that
    the table lacks is a warning (its users cannot log in); an accounts server that differs
    fails (its users' logins would be refused as a mix-up)."""
    entry = registry.login_dc
    url = f"{entry.accounts_server.rstrip('/')}/oauth/serverinfo"
    try:
        async with ZohoHTTP(timeout=SERVERINFO_TIMEOUT, ca_bundle=ca_bundle) as http:
            resp = await http.request("GET", url)
    except TransportError as exc:
        return Check("serverinfo", "fail", f"{url} could not be read ({exc.reason})")
    if resp.status != 200:
        return Check("serverinfo", "fail", f"{url} answered HTTP {resp.status}")
    try:
        body = resp.json()
    except ValueError:
        return Check("serverinfo", "warn", f"{url} answered in a shape zohoauth does not know")
    return compare_serverinfo(registry, body, url)


def compare_serverinfo(registry: DataCenterRegistry, body: Any, url: str) -> Check:
    """The serverinfo check's verdict on `body` (pure)."""
    locations = body.get("locations") if isinstance(body, Mapping) else None
    if not isinstance(locations, Mapping) or not locations:
        return Check("serverinfo", "warn", f"{url} answered in a shape zohoauth does not know")
    unknown, moved = [], []
    for code, server in sorted(locations.items()):
        code = str(code).lower()
        if code not in registry:
            unknown.append(f"{code} ({str(server)[:80]})")
        elif not isinstance(server, str) or not registry.is_accounts_server(code, server):
            moved.append(
                f"{code}: Zoho says {str(server)[:80]}, the table "
                f"{registry.get(code).accounts_server}"
            )
    entry = registry.login_dc.code
    unlisted = [dc.code for dc in registry if dc.login_dc == entry and dc.code not in locations]
    notes = []
    if moved:
        notes.append("accounts server differs for " + "; ".join(moved))
    if unknown:
        notes.append("Zoho lists data centers the table does not know: " + ", ".join(unknown))
    if unlisted:
        notes.append(f"the table's {', '.join(unlisted)} are not in Zoho's list")
    if notes:
        advice = "; upgrade zohoauth (or report it) so these users can log in"
        return Check("serverinfo", "fail" if moved else "warn", "; ".join(notes) + advice)
    return Check(
        "serverinfo", "ok", f"{url} lists the same {len(locations)} accounts servers as the table"
    )


#: The DC probes' line when they do not run (when they run: one line per DC, `dc us`, ...).
DC_PROBES = "dc reachability"


async def run_checks(s: Settings, *, network: bool = True, online: bool = False) -> list[Check]:
    """Every check, in the order a person would fix them, each ok / warn / fail / not run;
    `network` probes each DC, `online` adds Zoho's serverinfo. Without the settings every
    installation needs, nothing that needs them runs (`not_run`, saying which)."""
    missing = missing_settings(s)
    unconfigured = f"needs {', '.join(env_name(n) for n in missing)}"
    checks = [check_settings(s)]
    ring: KeyRing | None = None
    if s.is_set("encryption_keys"):
        ring_check, ring = check_keyring(s)
        checks.append(ring_check)
    else:
        checks.append(not_run("key ring", "ZOHOAUTH_ENCRYPTION_KEYS is not set"))
    if ring is not None:
        checks.extend(await check_store(s, ring))
    else:
        checks += [not_run(n, "needs the key ring") for n in ("database", "decrypt")]
    checks.append(check_file_modes(s))
    checks.append(check_redirect_uri(s.redirect_uri))
    reg_check, registry = load_registry(s)
    checks.append(reg_check)
    if registry is None:
        why = "needs the data centers (above)"
        checks += [not_run(n, why) for n in ("client secrets", DC_PROBES, "serverinfo")]
        return checks
    secrets = (s.client_secret, s.client_secrets)
    started = s.client_id or s.client_secrets_file or any(x.get_secret_value() for x in secrets)
    if started:  # which DC lacks a secret is worth a line once a client is being set up
        checks.append(check_secrets(s, registry))
    else:
        checks.append(not_run("client secrets", "needs ZOHOAUTH_CLIENT_ID and its secret"))
    if not network:
        checks.append(not_run(DC_PROBES, "--no-network"))
    elif missing:
        checks.append(not_run(DC_PROBES, f"{unconfigured} (no DC is probed before those)"))
    else:
        checks.extend(await check_dcs(registry, enabled_dcs(s, registry), s.ca_bundle or None))
    if not online:
        checks.append(not_run("serverinfo", "only with --online"))
    else:
        checks.append(await check_serverinfo(registry, s.ca_bundle or None))
    return checks


__all__ = [
    "DC_PROBES",
    "Check",
    "check_file_modes",
    "check_redirect_uri",
    "check_secrets",
    "check_serverinfo",
    "check_settings",
    "compare_serverinfo",
    "missing_settings",
    "not_run",
    "run_checks",
]
