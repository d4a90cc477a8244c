"""Forwarding one CRM v8 call for a connection, as it came: the token service's proxy.

`CRMTransport._send` parses JSON and raises on Zoho's errors, which is right for the CRM
client but wrong for a proxy, which must pass Zoho's status and body through untouched. So
this is the one other request path, deliberately small: the path is checked (`check_path`,
pure), the host is the connection's own API domain checked against the DC allow-list, the
token and `X-CRM-ORG` are added, and a 401 INVALID_TOKEN is answered by a refresh and a
retry, at most twice (docs/zoho-reference.md §6.5), like the transport does.

Path rules (no SSRF): only `crm/v8/` followed by plain segments of letters, digits, `_`, `-`
and `.` (no segment `.` or `..`); no `%` at all (so no encoded slash, dot or anything else),
no `@`, `\\`, `:`, `//`, no scheme or host. The query string is passed on as given: it can't
change the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from ..errors import DataCenterError, ProxyPathError, TransportError, ZohoUnavailableError
from ._transport import MAX_STALE

if TYPE_CHECKING:
    from .._http import ZohoHTTP
    from ..datacenters import DataCenterRegistry
    from ._transport import TokenProvider

_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: Request headers passed on to Zoho (everything else, cookies and auth included, is dropped).
_PASS_REQUEST = ("content-type", "accept", "if-modified-since")
#: Response headers passed back.
_PASS_RESPONSE = ("content-type", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining")


def check_path(path: str) -> str:
    """The path if it is a plain `crm/v8/...` path; ProxyPathError saying why not otherwise."""
    if not path.startswith("crm/v8/"):
        raise ProxyPathError("the proxy only forwards crm/v8/... paths of Zoho CRM")
    if "%" in path:
        raise ProxyPathError("percent-encoded characters are not allowed in a proxy path")
    for bad, what in (("\\", "backslashes"), ("@", "'@'"), (":", "':'"), ("//", "empty segments")):
        if bad in path:
            raise ProxyPathError(f"{what} are not allowed in a proxy path")
    for segment in path.split("/")[2:]:
        if segment in ("", ".", ".."):
            if segment == "" and path.endswith("/"):
                continue
            raise ProxyPathError("'.' and '..' segments are not allowed in a proxy path")
        if not _SEGMENT.match(segment):
            raise ProxyPathError("a proxy path segment has characters CRM paths never use")
    return path


@dataclass(frozen=True, slots=True)
class ProxyResponse:
    """Zoho's answer, passed through."""

    status: int
    headers: Mapping[str, str]
    content: bytes


async def forward(
    tokens: TokenProvider,
    connection_id: str,
    method: str,
    path: str,
    *,
    query: str,
    body: bytes,
    headers: Mapping[str, str],
    http: ZohoHTTP,
    registry: DataCenterRegistry,
    seconds: float = 30.0,
) -> ProxyResponse:
    """Send `method path?query` with `body` to the connection's API domain; Zoho's answer."""
    check_path(path)
    sent = {k: v for k, v in headers.items() if k.lower() in _PASS_REQUEST}
    write = method.upper() not in ("GET", "HEAD")  # confirmed live first, as CRMClient does
    tok = await tokens.access_token(connection_id, verify=write)
    for attempt in range(MAX_STALE + 1):
        if not registry.is_api_domain(tok.dc, tok.api_domain):
            raise DataCenterError(
                f"refusing to call {tok.api_domain!r}: not an API host of data center "
                f"{tok.dc!r}; log in again"
            )
        url = f"{tok.api_domain.rstrip('/')}/{path}" + (f"?{query}" if query else "")
        auth = {"Authorization": f"Zoho-oauthtoken {tok.token}"}
        if tok.org_id:
            auth["X-CRM-ORG"] = tok.org_id
        try:
            resp = await http.request(
                method,
                url,
                data=body or None,
                headers={**sent, **auth},
                timeout=aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 10.0)),
            )
        except TransportError as exc:
            raise ZohoUnavailableError(
                f"could not reach Zoho CRM for {method} {path} ({exc.reason}); try again later"
            ) from exc
        if resp.status == 401 and attempt < MAX_STALE and b"INVALID_TOKEN" in resp.body:
            tok = await tokens.access_token(connection_id, stale=tok.token, verify=write)
            continue
        break
    kept = {k: v for k, v in resp.headers.items() if k.lower() in _PASS_RESPONSE}
    return ProxyResponse(resp.status, kept, resp.body)


__all__ = ["ProxyResponse", "check_path", "forward"]
