"""The CRM client's one request path: token, host check, headers, retries, error mapping.

Every request goes to `{api_domain}/crm/v8/...` with `Authorization: Zoho-oauthtoken <token>`
and, for a connection bound to an org, `X-CRM-ORG: <zgid>` (docs/zoho-reference.md §6). What a
request may meet on the way, and what happens:

- 401 INVALID_TOKEN: ask the token provider for a fresh token (`stale=` the rejected one) and
  retry (docs/zoho-reference.md §6.5; docs/architecture.md, "Refresh exactly once"). The
  provider may answer with a token another process stored without asking Zoho ("someone
  already replaced it"); if Zoho rejects that one too (every token died at once: revoked
  sessions, clocks apart), it is asked once more with that token, which now makes it refresh.
  A 401 after that raises InvalidTokenError. So a live grant is never sent to "log in again"
  without one refresh at Zoho having been tried, and no request asks the provider more than
  twice.
- 429 TOO_MANY_REQUESTS: back off as `retry.ON_RATE_LIMIT` says (Retry-After, else exponential
  with jitter) a bounded number of times, then RateLimitedError (docs/zoho-reference.md §6.6).
- timeouts and network errors: ZohoUnavailableError; nothing is retried blindly, because a
  POST that timed out may have been applied.
- any other error envelope: the typed error from `_responses.error_from_response`.

The hot path is one cached token lookup, one f-string URL, cached headers, one request on a
kept-alive aiohttp connection (`zohoauth._http`) and one JSON parse; nothing is logged on
success.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Protocol, Self

import aiohttp

from .._http import ZohoHTTP, as_http, crm_timeout
from ..errors import (
    CRMError,
    DataCenterError,
    TransportError,
    TransportTimeout,
    ZohoUnavailableError,
)
from ..logs import get_logger
from ..metrics import CRM_CALLS
from ..retry import ON_RATE_LIMIT, RetryPolicy, failure_of_status, retry_after_seconds
from ._params import Params
from ._responses import error_from_response

if TYPE_CHECKING:
    from ..datacenters import DataCenterRegistry
    from ..manager import AccessToken

log = get_logger("zohoauth.crm")
#: How often a 401 INVALID_TOKEN is answered by asking for a fresh token: the first may return
#: what another process stored meanwhile (also rejected when Zoho ended every token of the
#: user's, e.g. its clock moved past their expiry), the second then refreshes at Zoho.
MAX_STALE = 2


class TokenProvider(Protocol):
    """Where CRMClient gets tokens; `TokenManager` is one. `stale` = a token CRM just rejected;
    `verify` = confirm the connection is still live first (asked before every write)."""

    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken: ...


class CRMTransport:
    """Sends CRM requests for one connection; `CRMClient` adds the API on top.

    `http`: a shared `ZohoHTTP` or `aiohttp.ClientSession` (not closed by us); else a
    `ZohoHTTP` is created and owned.
    `timeout`: seconds for each request, of which at most 10 to connect (or an
    `aiohttp.ClientTimeout`), applied even to a shared transport.
    `max_retries_429`, `backoff_base`, `backoff_max`: the 429 back-off (`retry.ON_RATE_LIMIT`
    by default): retries after a 429, the first wait's ceiling, the longest wait.
    `registry`: when given, a token whose `api_domain` is not one of its DC's API hosts is
    refused (DataCenterError) before any request: defense in depth against a poisoned store.
    """

    def __init__(
        self,
        tokens: TokenProvider,
        connection_id: str,
        *,
        http: ZohoHTTP | aiohttp.ClientSession | None = None,
        timeout: float | aiohttp.ClientTimeout = 30.0,
        max_retries_429: int = ON_RATE_LIMIT.attempts - 1,
        backoff_base: float = ON_RATE_LIMIT.base,
        backoff_max: float = ON_RATE_LIMIT.cap,
        registry: DataCenterRegistry | None = None,
    ) -> None:
        self.tokens = tokens
        self.connection_id = connection_id
        if isinstance(timeout, aiohttp.ClientTimeout):
            self._timeout = timeout
        else:
            self._timeout = crm_timeout(float(timeout))
        self._own_http = http is None
        self._http = as_http(http, timeout=self._timeout)
        self.retry = RetryPolicy(
            attempts=max_retries_429 + 1,
            base=backoff_base,
            cap=backoff_max,
            retry_on=ON_RATE_LIMIT.retry_on,
        )
        self.registry = registry
        self._bases: dict[tuple[str, str], str] = {}  # (dc, api_domain) -> checked base URL
        self._auth: tuple[str, str, dict[str, str]] = ("", "", {})  # (token, org, headers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(connection_id={self.connection_id!r})"  # never a token

    async def aclose(self) -> None:
        """Close the HTTP transport if this object created it (a shared one is left open)."""
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one request path ----------------------------------------------------------------
    def _base(self, tok: AccessToken) -> str:
        key = (tok.dc, tok.api_domain)
        base = self._bases.get(key)
        if base is None:
            if self.registry is not None and not self.registry.is_api_domain(*key):
                raise DataCenterError(
                    f"refusing to call {tok.api_domain!r}: it is not an API host of data center "
                    f"{tok.dc!r} (connection {self.connection_id}); log in again"
                )
            base = self._bases[key] = f"{tok.api_domain.rstrip('/')}/crm/v8/"
        return base

    def _headers(self, tok: AccessToken) -> dict[str, str]:
        token, org, headers = self._auth
        if token != tok.token or org != tok.org_id:
            headers = {"Authorization": f"Zoho-oauthtoken {tok.token}"}
            if tok.org_id:
                headers["X-CRM-ORG"] = tok.org_id  # selects the org for a multi-org user
            self._auth = (tok.token, tok.org_id, headers)
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Any = None,
        *,
        record_id: str | None = None,
        batch: bool = False,
    ) -> tuple[int, Any]:
        """(status, parsed JSON or None) of a successful call; raises on anything else.

        `batch`: a write whose failures are per record in `data[]` (207, or 400 when all
        fail): those are results to return, not errors to raise (docs/zoho-reference.md §6.3).
        """
        # A write is confirmed against the store first: a connection logged out, deleted,
        # revoked or reauth-required in any process must never write again (issue 12).
        write = method != "GET"
        tok = await self.tokens.access_token(self.connection_id, verify=write)
        refreshes = 0  # 401 INVALID_TOKEN answered by a token refresh (at most MAX_STALE)
        retries = 0  # back-offs so far (the one resend after a refresh is not one)
        while True:
            try:
                resp = await self._http.request(
                    method,
                    self._base(tok) + path,
                    params=params,
                    json=body,
                    headers=self._headers(tok),
                    timeout=self._timeout,
                )
            except TransportTimeout as exc:
                CRM_CALLS.labels(method, "0").inc()
                raise ZohoUnavailableError(
                    f"Zoho CRM did not answer {method} {path} in time "
                    f"({exc.reason}, timeout {self._timeout.total}s); it may be slow or "
                    "unreachable — try again later or raise the client's timeout"
                ) from exc
            except TransportError as exc:
                CRM_CALLS.labels(method, "0").inc()
                raise ZohoUnavailableError(
                    f"could not reach Zoho CRM for {method} {path} ({exc.reason}); "
                    "check the network and try again"
                ) from exc
            status = resp.status
            content = resp.body
            CRM_CALLS.labels(method, str(status)).inc()
            if status < 300:
                if status == 204 or not content:
                    return status, None  # 204: no records, empty body (docs/zoho-reference.md §6.3)
                try:
                    return status, json.loads(content)
                except ValueError as exc:
                    raise CRMError(
                        f"Zoho CRM answered {method} {path} with a body that is not JSON",
                        status=status,
                    ) from exc
            try:
                data = json.loads(content) if content else None
            except ValueError:
                data = None
            code = data.get("code") if isinstance(data, dict) else None
            if status == 401 and code == "INVALID_TOKEN" and refreshes < MAX_STALE:
                refreshes += 1
                log.debug("crm token rejected; refreshing once", connection=self.connection_id)
                tok = await self.tokens.access_token(
                    self.connection_id, stale=tok.token, verify=write
                )
                continue
            retry_after = retry_after_seconds(resp.headers.get("retry-after"))
            delay = self.retry.next_delay(failure_of_status(status), retries + 1, retry_after)
            if delay is not None:
                retries += 1
                log.info(
                    "crm rate limited; backing off",
                    connection=self.connection_id,
                    attempt=retries,
                    delay=round(delay, 3),
                )
                await asyncio.sleep(delay)
                continue
            if batch and code is None and isinstance(data, dict) and "data" in data:
                return status, data
            err = error_from_response(
                status, data, method=method, path=path, record_id=record_id, secret=tok.token
            )
            if status == 429 and retry_after is not None and isinstance(err, CRMError):
                err.details.setdefault("retry_after", retry_after)
            raise err
