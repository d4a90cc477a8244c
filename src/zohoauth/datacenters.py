"""The data-center registry: Zoho's eight DCs, and the allow-list every request is checked against.

Zoho runs one accounts server and a few API hosts per DC (docs/zoho-reference.md §5). A login
callback names its DC in `location` and `accounts-server`, unauthenticated; the token response
names `api_domain`. RFC 9700 §4.4 (mix-up) requires checking all three against a fixed list, so
this table is the only place hosts come from. It can be replaced as a whole (an emulator's
`/_emulator/endpoints`, a JSON file) but never bypassed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, DataCenterError


@dataclass(frozen=True, slots=True)
class DataCenter:
    """One Zoho data center: where to log in and which API hosts serve its CRM."""

    code: str  # the `location` value Zoho sends: us, eu, in, ...
    name: str
    accounts_server: str
    api_domains: tuple[str, ...]  # production first, then sandbox and developer

    @property
    def api_domain(self) -> str:
        return self.api_domains[0]


def _dc(code: str, name: str, accounts: str, tld: str) -> DataCenter:
    hosts = tuple(f"https://{env}.zohoapis.{tld}" for env in ("www", "sandbox", "developer"))
    return DataCenter(code, name, accounts, hosts)


#: Zoho's real data centers (docs/zoho-reference.md §5).
ZOHO_DATA_CENTERS: Mapping[str, DataCenter] = {
    dc.code: dc
    for dc in (
        _dc("us", "United States", "https://accounts.zoho.com", "com"),
        _dc("eu", "Europe", "https://accounts.zoho.eu", "eu"),
        _dc("in", "India", "https://accounts.zoho.in", "in"),
        _dc("au", "Australia", "https://accounts.zoho.com.au", "com.au"),
        _dc("jp", "Japan", "https://accounts.zoho.jp", "jp"),
        _dc("cn", "China", "https://accounts.zoho.com.cn", "com.cn"),
        _dc("ca", "Canada", "https://accounts.zohocloud.ca", "ca"),
        _dc("sa", "Saudi Arabia", "https://accounts.zoho.sa", "sa"),
    )
}

#: The DC whose accounts server starts every login, as at Zoho (docs/zoho-reference.md §5).
LOGIN_DC = "us"


@lru_cache(maxsize=512)
def normalize_url(url: str) -> str:
    """Scheme, lower-cased host, explicit non-default port and path without trailing slash.

    Used for exact comparisons: `https://Accounts.Zoho.EU/` equals `https://accounts.zoho.eu`,
    but `https://accounts.zoho.eu.evil.example` equals nothing on the list. Cached: the web app
    checks a connection's `api_domain` on every request (a new CRM client each time), and
    there are only a few dozen distinct hosts.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DataCenterError("a data-center URL is malformed") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataCenterError("a data-center URL must be an absolute http(s) URL")
    default = 443 if parts.scheme == "https" else 80
    netloc = parts.hostname.lower() + (f":{port}" if port and port != default else "")
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


class DataCenterRegistry:
    """The allow-list: look DCs up by code and check URLs against them."""

    def __init__(self, dcs: Mapping[str, DataCenter]) -> None:
        if not dcs:
            raise ConfigError("the data-center registry is empty")
        self._dcs = dict(dcs)
        self._accounts = {code: normalize_url(dc.accounts_server) for code, dc in dcs.items()}
        self._apis = {
            code: frozenset(normalize_url(u) for u in dc.api_domains) for code, dc in dcs.items()
        }

    def __iter__(self) -> Iterator[DataCenter]:
        return iter(self._dcs.values())

    def __contains__(self, code: object) -> bool:
        return code in self._dcs

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._dcs)

    def get(self, code: str) -> DataCenter:
        """The DC for a `location` code; DataCenterError if it is not on the list."""
        found = self._dcs.get(code.strip().lower()) if isinstance(code, str) else None
        if found is None:
            raise DataCenterError(
                f"unknown Zoho data center {code!r}; known: {', '.join(self._dcs)}"
            )
        return found

    @property
    def login_dc(self) -> DataCenter:
        return self._dcs.get(LOGIN_DC) or next(iter(self._dcs.values()))

    def is_accounts_server(self, code: str, url: str) -> bool:
        """True only if `url` is exactly DC `code`'s accounts server."""
        try:
            return self._accounts.get(code) == normalize_url(url)
        except DataCenterError:
            return False

    def is_api_domain(self, code: str, url: str) -> bool:
        """True only if `url` is one of DC `code`'s API hosts (www, sandbox, developer)."""
        try:
            return normalize_url(url) in self._apis.get(code, frozenset())
        except DataCenterError:
            return False

    def dc_of_api_domain(self, url: str) -> DataCenter | None:
        """The DC an `api_domain` belongs to (for importing the official SDK's rows)."""
        try:
            norm = normalize_url(url)
        except DataCenterError:
            return None
        return next((self._dcs[c] for c, hosts in self._apis.items() if norm in hosts), None)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def zoho(cls) -> DataCenterRegistry:
        return cls(ZOHO_DATA_CENTERS)

    @classmethod
    def from_endpoints(cls, doc: Mapping[str, Any]) -> DataCenterRegistry:
        """From an emulator's `/_emulator/endpoints` document (or the same shape in a file):
        `{"us": {"accounts_server": URL, "api_domain": URL, "api_domains"?: [URL, ...]}, ...}`.
        """
        dcs: dict[str, DataCenter] = {}
        for code, ep in doc.items():
            if not isinstance(ep, Mapping) or "accounts_server" not in ep or "api_domain" not in ep:
                raise ConfigError(
                    f"endpoints entry {code!r} needs 'accounts_server' and 'api_domain' URLs"
                )
            apis = [
                ep["api_domain"],
                *[u for u in ep.get("api_domains", []) if u != ep["api_domain"]],
            ]
            for url in (ep["accounts_server"], *apis):
                normalize_url(str(url))  # validates
            name = ZOHO_DATA_CENTERS[code].name if code in ZOHO_DATA_CENTERS else code.upper()
            dcs[code.lower()] = DataCenter(
                code.lower(), name, str(ep["accounts_server"]), tuple(str(u) for u in apis)
            )
        return cls(dcs)

    @classmethod
    def load(cls, source: str | None, *, ca_bundle: str | None = None) -> DataCenterRegistry:
        """Zoho's DCs when `source` is empty; else an endpoints URL or a JSON file path.

        This is `ZOHOAUTH_ZOHO_ENDPOINTS`. Failures raise ConfigError saying what to fix. An
        https URL is verified like every call to Zoho (`ca_bundle`, else ZOHOAUTH_CA_BUNDLE,
        else the system's CAs). It is read once, while the app is being built (a synchronous
        step), so with the standard library's blocking client rather than the async transport.
        """
        if not source:
            return cls.zoho()
        if source.startswith(("http://", "https://")):
            import urllib.request

            from ._http import tls_context

            try:
                with urllib.request.urlopen(  # noqa: S310 (the scheme is checked above)
                    source, timeout=10, context=tls_context(ca_bundle)
                ) as resp:
                    doc = json.loads(resp.read())
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"ZOHOAUTH_ZOHO_ENDPOINTS: could not read endpoints from {source} ({exc}); "
                    "is the emulator running?"
                ) from exc
        else:
            try:
                doc = json.loads(Path(source).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"ZOHOAUTH_ZOHO_ENDPOINTS: {source} is neither an http(s) URL nor a "
                    f"readable JSON file ({exc})"
                ) from exc
        if not isinstance(doc, dict):
            raise ConfigError("ZOHOAUTH_ZOHO_ENDPOINTS must describe a JSON object of DCs")
        return cls.from_endpoints(doc)
