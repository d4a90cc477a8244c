"""The one way bytes go to Zoho and come back: aiohttp, one `ClientSession` per event loop.

Every call the library makes to Zoho — CRM requests, the token endpoint (code exchange,
refresh, revoke), identity lookups, `doctor`'s probes — goes through `ZohoHTTP.request`, which
sends one request and returns a `Response` record (status, headers, body bytes). What the
status means is decided above this module; here only transport failures are turned into
zohoauth's errors, at the boundary, with `raise ... from exc`:

    aiohttp / OSError               ─► TransportError      (a ZohoUnavailableError)
    any timeout                     ─► TransportTimeout    (a TransportError)
    certificate not trusted         ─► TLSVerificationError (a TransportError)

Their messages name the host and what failed, never the URL's query or a header, so no token,
code or secret can reach an error or a log line through them.

Why aiohttp: on this project's benchmark a CRM read costs ~330 µs of client CPU with a plain
`aiohttp.ClientSession` against ~1,800 µs with `httpx.AsyncClient`.

A `ClientSession` is bound to the event loop it was created on, and an app may use one
`ZohoAuth` from several loops (a web worker's loop, the private loop of `SyncCRMClient` or the
SDK token store, one `asyncio.run` after another in a script). So a `ZohoHTTP` holds one session
per loop, created on first use there, each with its own connection pool:

- a `TCPConnector` with a bounded pool (`limit` in all, `limit_per_host` per host: Zoho counts
  concurrent calls per org, and one slow DC must not take every connection), keep-alive
  (`keepalive_timeout`, below the 5 s idle timeout common servers use, so we never reuse a
  connection the server is closing), and a DNS cache (`ttl_dns_cache`);
- TLS verified against the system's CAs, or against `ca_bundle` / `ssl` when given, or the PEM
  file named by `ZOHOAUTH_CA_BUNDLE` (the emulator served over https with a private CA);
- no cookie jar (one pool serves many users; a cookie set for one must never go out for
  another), no redirects followed (as before: Zoho answers its API without redirects, and an
  `Authorization` header must never follow one), proxies from `HTTP(S)_PROXY`/`NO_PROXY` as
  httpx honoured them.

`aclose()` closes every session it created; a session the caller passed in stays theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
import os
import ssl as _ssl
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

import aiohttp

from ._version import __version__
from .errors import TLSVerificationError, TransportError, TransportTimeout

#: Environment variable naming a PEM file of CAs to trust instead of the system's.
CA_BUNDLE_ENV: Final = "ZOHOAUTH_CA_BUNDLE"

#: Token endpoint, identity and revoke calls. Before aiohttp: httpx `Timeout(15, connect=5)`,
#: i.e. 5 s to connect and 15 s for each read or write. aiohttp's `total` bounds the whole
#: exchange instead (pool wait, connect, send, read): a token call that has not finished in
#: 15 s is as good as failed, and a slowly trickling answer can no longer stretch it.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=15.0, sock_connect=5.0)


@lru_cache(maxsize=64)
def crm_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """A CRM call's timeout: `seconds` for the whole call (default 30), of which at most 10 to
    connect (before aiohttp: httpx `Timeout(seconds, connect=min(seconds, 10))`)."""
    return aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 10.0))


# -- errors ---------------------------------------------------------------------------------


def _host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    except ValueError:
        return ""


def _convert(exc: BaseException, url: str) -> TransportError:
    """aiohttp's exception, as the TransportError that says what happened (never the URL's
    path or query, which may carry a search term; the host is enough to act on)."""
    host = _host_of(url)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and aiohttp's Server/Socket/...
        return TransportTimeout(type(exc).__name__, host)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        why = getattr(exc.certificate_error, "verify_message", "") or "untrusted certificate"
        return TLSVerificationError(
            f"TLS certificate verification failed: {why}; if this server's certificate comes "
            f"from a private CA (an emulator over https), name its CA file in {CA_BUNDLE_ENV}",
            host,
        )
    if isinstance(exc, aiohttp.ClientSSLError | _ssl.SSLError):
        return TLSVerificationError(f"TLS handshake failed ({type(exc).__name__})", host)
    return TransportError(type(exc).__name__, host)


# -- TLS and proxies --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _tls_context(cafile: str | None, env: tuple[str | None, str | None]) -> _ssl.SSLContext:
    # `env` (SSL_CERT_FILE, SSL_CERT_DIR, which OpenSSL's default paths honour) is part of the
    # cache key so that a changed environment gives a fresh context.
    return _ssl.create_default_context(cafile=cafile or None)


def tls_context(ca_bundle: str | os.PathLike[str] | None = None) -> _ssl.SSLContext:
    """A verifying client context: the CAs in `ca_bundle` (else `ZOHOAUTH_CA_BUNDLE`) replace
    the system's; with neither, the system's CAs. Cached: loading CAs costs milliseconds."""
    cafile = os.fspath(ca_bundle) if ca_bundle else os.environ.get(CA_BUNDLE_ENV) or None
    env = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return _tls_context(cafile, env)


def proxy_for(url: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy for `url` from `proxies` (urllib's `getproxies()` shape: scheme -> URL, and
    `no` for NO_PROXY), or None (pure)."""
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or not parts.hostname:
        return None
    no_proxy = proxies.get("no")
    if no_proxy and proxy_bypass_environment(parts.hostname, {"no": no_proxy}):
        return None
    return proxy


# -- the transport ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """One complete answer: status, headers (case-insensitive) and the body's bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return _json.loads(self.body)


def _dumps(obj: Any) -> str:
    return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class ZohoHTTP:
    """Requests to Zoho over aiohttp: one kept-alive, bounded `ClientSession` per event loop.

    `timeout`: the default per request (`aiohttp.ClientTimeout`, or seconds for the total);
    `limit`, `limit_per_host`: connections per loop in all and per host; `keepalive_timeout`:
    seconds an idle connection is kept; `ttl_dns_cache`: seconds a DNS answer is reused;
    `ca_bundle` or `ssl`: whom to trust (default: `ZOHOAUTH_CA_BUNDLE`, else the system's CAs);
    `proxies`: scheme -> proxy URL (default: from the environment, as urllib reads it);
    `trace_configs`: aiohttp request hooks (tests use them to watch what was sent);
    `session`: an `aiohttp.ClientSession` of yours to send through (then every other option
    is yours too, and `aclose()` leaves it open).
    """

    def __init__(
        self,
        *,
        timeout: aiohttp.ClientTimeout | float = DEFAULT_TIMEOUT,
        limit: int = 200,
        limit_per_host: int = 100,
        keepalive_timeout: float = 4.0,
        ttl_dns_cache: int = 60,
        ca_bundle: str | os.PathLike[str] | None = None,
        ssl: _ssl.SSLContext | None = None,
        proxies: Mapping[str, str] | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not isinstance(timeout, aiohttp.ClientTimeout):
            timeout = aiohttp.ClientTimeout(total=float(timeout))
        self.timeout = timeout
        self.limit = limit
        self.limit_per_host = limit_per_host
        self.keepalive_timeout = keepalive_timeout
        self.ttl_dns_cache = ttl_dns_cache
        self._ca_bundle = ca_bundle
        self._ssl = ssl
        self._proxies = dict(urllib.request.getproxies() if proxies is None else proxies)
        self._proxy_cache: dict[str, str | None] = {}
        self._trace_configs = list(trace_configs)
        self._borrowed = session
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._orphans: list[aiohttp.ClientSession] = []  # of closed loops, to close
        # The last (loop, session) pair, one attribute so that threads running other loops
        # never see half an update: the hot path is one identity check.
        self._last: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None

    def __repr__(self) -> str:
        return (
            f"ZohoHTTP(limit={self.limit}, limit_per_host={self.limit_per_host}, "
            f"sessions={len(self._sessions)})"
        )

    @property
    def ssl_context(self) -> _ssl.SSLContext:
        """The context every https connection is verified with."""
        return self._ssl or tls_context(self._ca_bundle)

    # -- sessions, one per loop ---------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        """The running loop's session (created on first use on that loop)."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        if self._borrowed is not None:
            return self._borrowed
        session = self._sessions.get(loop)
        if session is None or session.closed:
            self._forget_dead_loops()
            session = self._sessions[loop] = self._new_session()
        self._last = (loop, session)
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limit,
            limit_per_host=self.limit_per_host,
            keepalive_timeout=self.keepalive_timeout,
            ttl_dns_cache=self.ttl_dns_cache,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            headers={"User-Agent": f"zohoauth/{__version__}"},
            cookie_jar=aiohttp.DummyCookieJar(),
            json_serialize=_dumps,
            trace_configs=self._trace_configs or None,
        )

    def _forget_dead_loops(self) -> None:
        """Set aside sessions whose loop has closed (a script's earlier `asyncio.run` that did
        not `aclose()`): the next request marks them closed. Their sockets cannot be closed
        without their loop and are left to the garbage collector."""
        for loop in [lp for lp in list(self._sessions) if lp.is_closed()]:  # other threads add
            dead = self._sessions.pop(loop, None)
            if dead is not None:
                self._orphans.append(dead)

    async def _close_orphans(self) -> None:
        orphans, self._orphans = self._orphans, []
        for session in orphans:
            await session.close()  # its loop is closed: aiohttp just marks it closed

    async def aclose(self) -> None:
        """Close every session this object created: the running loop's here, a session on
        another thread's running loop there; one on a closed loop is dropped. A borrowed
        session is left open. The object stays usable: the next request opens a new one."""
        sessions, self._sessions = self._sessions, {}
        self._last = None
        await self._close_orphans()
        current = asyncio.get_running_loop()
        for loop, session in sessions.items():
            if loop is current or loop.is_closed():
                await session.close()
            elif loop.is_running():
                done = asyncio.run_coroutine_threadsafe(session.close(), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.wrap_future(done), 5.0)

    async def __aenter__(self) -> ZohoHTTP:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one request path -----------------------------------------------------------------
    def _proxy(self, url: str) -> str | None:
        end = url.find("/", 8)  # past "https://": the end of scheme://host:port
        origin = url if end < 0 else url[:end]
        if origin not in self._proxy_cache:
            self._proxy_cache[origin] = proxy_for(url, self._proxies)
        return self._proxy_cache[origin]

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | bytes | None = None,
        json: Any = None,
        timeout: aiohttp.ClientTimeout | None = None,  # noqa: ASYNC109 (aiohttp applies it per phase)
    ) -> Response:
        """Send one request and read the whole answer; TransportError if none came.

        `data` is sent form-encoded (a mapping) or as it is (bytes: the token service's proxy),
        `json` as JSON; `timeout` overrides the default.
        """
        session = self.session()
        if self._orphans:
            await self._close_orphans()
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                json=json,
                timeout=timeout or self.timeout,
                allow_redirects=False,
                proxy=self._proxy(url) if self._proxies else None,
            ) as resp:
                body = await resp.read()
                return Response(resp.status, resp.headers, body)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _convert(exc, url) from exc


def as_http(http: ZohoHTTP | aiohttp.ClientSession | None, **defaults: Any) -> ZohoHTTP:
    """What an `http=` argument means: a `ZohoHTTP` as is, an `aiohttp.ClientSession` wrapped
    (it stays the caller's), None a new `ZohoHTTP(**defaults)` (the caller then owns it)."""
    if http is None:
        return ZohoHTTP(**defaults)
    if isinstance(http, ZohoHTTP):
        return http
    if isinstance(http, aiohttp.ClientSession):
        return ZohoHTTP(session=http)
    raise TypeError(
        f"http= takes a zohoauth.ZohoHTTP or an aiohttp.ClientSession, not "
        f"{type(http).__module__}.{type(http).__name__} (zohoauth sends its requests with "
        "aiohttp; see the README's 'HTTP to Zoho')"
    )


__all__ = [
    "CA_BUNDLE_ENV",
    "DEFAULT_TIMEOUT",
    "Response",
    "TLSVerificationError",
    "TransportError",
    "TransportTimeout",
    "ZohoHTTP",
    "as_http",
    "crm_timeout",
    "proxy_for",
    "tls_context",
]
