"""The data-center registry: Zoho's nine DCs, and the allow-list every request is checked against.

Zoho runs one accounts server and a few API hosts per DC (docs/zoho-reference.md §5). A login
callback names its DC in `location` and `accounts-server`, unauthenticated; the token response
names `api_domain`. RFC 9700 §4.4 (mix-up) requires checking all three against a fixed list, so
this table is the only place hosts come from. It can be replaced as a whole (an emulator's
`/_emulator/endpoints`, a JSON file) but never bypassed.

Zoho has two sign-in entries: Multi-DC logins (US, EU, IN, AU, JP, CA, SA, UK) start at the US
accounts server, which sends each user on to their own DC; China is a separate Zoho whose logins
start at its own accounts server and which knows no Multi-DC user (nor they it). Each DC names
its entry in `login_dc`, so a login knows where it may start and which callbacks may end it.
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
    accounts_server: str  # where codes and tokens are sent: the only URL ever requested
    api_domains: tuple[str, ...]  # production first, then sandbox and developer
    #: The DC whose accounts server starts this DC's logins: "us" (Multi-DC) or "cn" (China).
    login_dc: str = "us"
    #: Other spellings of the accounts server a callback may carry, each matched exactly like
    #: `accounts_server` itself; never requested (requests go to `accounts_server` only).
    accounts_aliases: tuple[str, ...] = ()

    @property
    def api_domain(self) -> str:
        return self.api_domains[0]

    @property
    def multi_dc(self) -> bool:
        """Whether this DC's users sign in through the Multi-DC entry (the US accounts server)."""
        return self.login_dc == LOGIN_DC


def _dc(
    code: str,
    name: str,
    accounts: str,
    tld: str,
    *,
    login_dc: str = "us",
    aliases: tuple[str, ...] = (),
) -> DataCenter:
    hosts = tuple(f"https://{env}.zohoapis.{tld}" for env in ("www", "sandbox", "developer"))
    return DataCenter(code, name, accounts, hosts, login_dc, aliases)


#: Zoho's real data centers; the evidence for each row: docs/zoho-reference.md §5.
ZOHO_DATA_CENTERS: Mapping[str, DataCenter] = {
    dc.code: dc
    for dc in (
        _dc("us", "United States", "https://accounts.zoho.com", "com"),
        _dc("eu", "Europe", "https://accounts.zoho.eu", "eu"),
        _dc("in", "India", "https://accounts.zoho.in", "in"),
        # Zoho's accounts pages, its CRM pages and the official SDK name accounts.zoho.com.au,
        # and that is what Zoho sends as `accounts-server`: requests go there. Some newer Zoho
        # pages (e.g. Zoho Creator's) name accounts.zoho.au instead, so a callback naming that
        # exact URL is accepted too, should Zoho switch; it is compared, never requested, so
        # accepting it widens nothing a forged callback could reach. Exact match, never a
        # suffix: accounts.zoho.au.example is still refused.
        _dc(
            "au",
            "Australia",
            "https://accounts.zoho.com.au",
            "com.au",
            aliases=("https://accounts.zoho.au",),
        ),
        _dc("jp", "Japan", "https://accounts.zoho.jp", "jp"),
        _dc("ca", "Canada", "https://accounts.zohocloud.ca", "ca"),
        _dc("sa", "Saudi Arabia", "https://accounts.zoho.sa", "sa"),
        # Zoho's Multi-DC page lists the UK's accounts server; www.zohoapis.uk comes from
        # third-party code, and sandbox/developer.zohoapis.uk follow the other DCs' pattern
        # without a source that confirms them (docs/zoho-reference.md §5 marks them uncertain).
        _dc("uk", "United Kingdom", "https://accounts.zoho.uk", "uk"),
        # China is a separate Zoho: its logins start at its own accounts server.
        _dc("cn", "China", "https://accounts.zoho.com.cn", "com.cn", login_dc="cn"),
    )
}

#: The DC whose accounts server starts Multi-DC logins (every DC but China), as at Zoho
#: (docs/zoho-reference.md §5).
LOGIN_DC = "us"


@lru_cache(maxsize=512)
def normalize_url(url: str) -> str:
    """Scheme, lower-cased host, explicit non-default port and path without trailing slash.

    The table's own URLs are stored in this form, and API hosts are compared in it (they come
    from Zoho's token answer over TLS, or from the store): `https://Www.Zohoapis.EU/` equals
    `https://www.zohoapis.eu`, but `https://www.zohoapis.eu.evil.example` equals nothing on the
    list. A callback's `accounts-server` is not normalised (`is_accounts_server`). Cached:
    the web app checks a connection's `api_domain` on every request (a new CRM client each
    time), and there are only a few dozen distinct hosts.
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
        for dc in self._dcs.values():
            entry = self._dcs.get(dc.login_dc)
            if entry is None or entry.login_dc != entry.code:
                raise ConfigError(
                    f"data center {dc.code!r} signs in at {dc.login_dc!r}, which is not a "
                    "sign-in entry of this registry"
                )
        self._accounts = {
            code: frozenset(normalize_url(u) for u in (dc.accounts_server, *dc.accounts_aliases))
            for code, dc in dcs.items()
        }
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
        """The Multi-DC sign-in entry (the US accounts server), or the first entry there is."""
        return self._dcs.get(LOGIN_DC) or self.get(next(iter(self._dcs.values())).login_dc)

    def entry_of(self, code: str) -> DataCenter:
        """The DC whose accounts server starts the logins of DC `code`'s users."""
        return self._dcs[self.get(code).login_dc]

    @property
    def entries(self) -> tuple[DataCenter, ...]:
        """The sign-in entries, Multi-DC first: ("us", "cn") for Zoho's own table."""
        codes = dict.fromkeys(dc.login_dc for dc in self._dcs.values())
        return tuple(sorted((self._dcs[c] for c in codes), key=lambda d: d.code != LOGIN_DC))

    def is_accounts_server(self, code: str, url: str) -> bool:
        """True only if `url` is, character for character, DC `code`'s accounts server (or a
        listed alias) as the table spells it — the form Zoho sends in a callback's
        `accounts-server`, e.g. `https://accounts.zoho.eu` (docs/zoho-reference.md §1, §5).

        A simple string comparison, as RFC 9207 §2.4 asks of an issuer, and nothing
        normalised first: a form a browser or an HTTP library would read differently from a
        parser like ours (userinfo `@`, backslashes, a query or fragment, spaces, case, a
        trailing slash or dot, a port) is not Zoho's, so it is refused rather than
        interpreted. Only the table's own entries are normalised (`normalize_url`, once, when
        the registry is built), since they are configuration, not input.
        """
        return isinstance(url, str) and url in self._accounts.get(code, frozenset())

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
        `{"us": {"accounts_server": URL, "api_domain": URL, "api_domains"?: [URL, ...],
        "login_dc"?: "us"|"cn"}, ...}`.

        `login_dc` names the DC whose accounts server starts the DC's logins; documents written
        before it existed have none, and their DCs sign in at "us" (or, if the document has no
        "us", each at its own accounts server), as they did.
        """
        lowered = {str(code).lower() for code in doc}
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
            code = code.lower()
            name = ZOHO_DATA_CENTERS[code].name if code in ZOHO_DATA_CENTERS else code.upper()
            default_entry = LOGIN_DC if LOGIN_DC in lowered else code
            entry = ep.get("login_dc", default_entry)
            if not isinstance(entry, str) or entry.lower() not in lowered:
                raise ConfigError(
                    f"endpoints entry {code!r}: login_dc must name a data center of the "
                    f"document ({', '.join(sorted(lowered))})"
                )
            dcs[code] = DataCenter(
                code,
                name,
                str(ep["accounts_server"]),
                tuple(str(u) for u in apis),
                login_dc=entry.lower(),
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
