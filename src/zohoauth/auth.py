"""`ZohoAuth`: the one object an app or a script holds.

It wires the pieces together — registry, OAuth client, encrypted store, token manager, event
hooks, CRM clients — and owns the HTTP transport to Zoho (`ZohoHTTP`: one aiohttp session, with
its connection pool, per event loop it is used on):

    async with ZohoAuth.from_settings() as auth:
        pending = auth.start_login()              # send the browser to pending.url
        # (China's users: auth.start_login(region="cn"), China's own sign-in)
        conn = await auth.complete_login(pending, callback_params)
        async for lead in auth.crm(conn.id).iter_records("Leads", ["Last_Name"]):
            ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from . import identity, login, oauth
from ._http import ZohoHTTP, as_http
from .config import Settings
from .credentials import Connection, Login, Status
from .crm.client import CRMClient
from .datacenters import DataCenter, DataCenterRegistry
from .errors import (
    AmbiguousConnectionError,
    ConfigError,
    InvalidTokenError,
    NotFoundError,
    StateMismatchError,
    TokenRejectedError,
    ZohoAuthError,
)
from .events import Event, EventBus, EventType
from .manager import AccessToken, ManagerConfig, TokenManager
from .oauth import Callback, OAuthClient, PendingLogin
from .revocations import Revoker
from .revoke import RevokeResult
from .store.base import TokenStore

if TYPE_CHECKING:
    from .refresher import Refresher, RefresherConfig
    from .service import ServiceConfig, TokenService


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A connection as an app shows it: who, which org and data center, and whether its grant
    still works here. No token in it."""

    connection: Connection
    status: Status  # of the credential the connection shares with the user's other orgs
    dc_name: str  # the data center's display name ("Europe"), or its code if unknown

    @property
    def needs_reconnect(self) -> bool:
        """The user must log in again before this connection works (reauth, revoke pending)."""
        return self.status is not Status.ACTIVE


@dataclass(frozen=True, slots=True)
class Health:
    """What `ZohoAuth.health()` found: can this instance serve requests?"""

    ok: bool
    failing: str = ""  # the part that failed ("store"); empty when ok
    message: str = "ok"  # what failed and what to do


@dataclass(frozen=True, slots=True)
class LogoutResult:
    """What `ZohoAuth.logout` did."""

    #: The connections this logout ended, which sessions naming them should drop: the one
    #: logged out, or with `revoke` every org connection sharing its grant (deleted, or kept
    #: as revoke_pending when Zoho did not confirm). Empty when it was already gone.
    connection_ids: tuple[str, ...]
    #: What revoking at Zoho did (None without `revoke`, or when there was nothing to revoke).
    revocation: RevokeResult | None = None

    @property
    def revoked(self) -> bool:
        """The grant no longer works at Zoho (see `RevokeResult.revoked`)."""
        return self.revocation is not None and self.revocation.revoked


class ZohoAuth:
    """Login with Zoho, stored tokens and CRM clients for many users across data centers."""

    def __init__(
        self,
        *,
        client: OAuthClient,
        store: TokenStore,
        registry: DataCenterRegistry | None = None,
        http: ZohoHTTP | aiohttp.ClientSession | None = None,
        manager_config: ManagerConfig | None = None,
        clock: Callable[[], float] = time.time,
        service_config: ServiceConfig | None = None,
    ) -> None:
        self.client = client
        self.service_config = service_config
        self._service: TokenService | None = None
        self.store = store
        self.registry = registry or DataCenterRegistry.zoho()
        named = {*client.client_secrets, *(client.data_centers or ())}
        unknown = sorted(code for code in named if code not in self.registry)
        if unknown:
            raise ConfigError(
                f"the client's data centers or secrets name {', '.join(unknown)}, which the "
                f"data-center registry does not have ({', '.join(self.registry.codes)})"
            )
        self._own_http = http is None
        # ZohoHTTP's defaults: 15 s per token/identity call (5 to connect), 200 connections
        # per loop of which 100 to one host; CRM clients set their own 30 s per call.
        self.http = as_http(http)
        self.events = EventBus()
        self.clock = clock
        # States already redeemed in this process (single use, RFC 6749 §10.12). Across
        # processes the code itself is single-use at Zoho, so a replay fails there too.
        self._used_states: dict[str, float] = {}
        self.manager = TokenManager(
            store,
            self.registry,
            client,
            http=self.http,
            config=manager_config,
            events=self.events,
            clock=clock,
        )
        # Refresh tokens re-logins replaced are revoked at Zoho, now or later (revocations.py);
        # a refresh that worked in a DC says its accounts server answers again.
        self.revocations = Revoker(store, self.registry, self.http, clock=clock)
        self.events.subscribe(EventType.REFRESHED, lambda e: self.revocations.refreshed_in(e.dc))

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kw: Any) -> ZohoAuth:
        """Build from `ZOHOAUTH_*` settings (environment / `.env`); the parts come from
        `zohoauth.wiring`, like everywhere else settings become components."""
        from . import wiring

        s = settings or Settings.load()
        s.require(*wiring.REQUIRED)
        client = wiring.oauth_client(s)
        store = wiring.token_store(s, auto_migrate=kw.pop("auto_migrate", False))
        registry = wiring.dc_registry(s)
        config = kw.pop("manager_config", None) or wiring.manager_config(s)
        kw.setdefault("service_config", wiring.service_config(s))
        http = kw.pop("http", None)
        auth = cls(
            client=client,
            store=store,
            registry=registry,
            manager_config=config,
            http=http or wiring.zoho_http(s),
            **kw,
        )
        auth._own_http = http is None  # the transport made here is closed with `auth`
        return auth

    async def open(self) -> ZohoAuth:
        """Open the store, and start retrying revocations of replaced refresh tokens (a pass
        over every queued one now, then in the background; see `zohoauth.revocations`)."""
        await self.store.open()
        self.revocations.start()
        return self

    async def aclose(self) -> None:
        await self.revocations.aclose()  # queued rows stay for the next start
        if self._service is not None:
            await self._service.aclose()  # writes queued audit rows while the store is open
        await self.manager.aclose()  # writes pending "last used" times while the store is open
        await self.store.close()
        if self._own_http:
            await self.http.aclose()

    def refresher(
        self, settings: Settings | None = None, config: RefresherConfig | None = None
    ) -> Refresher:
        """A background refresher on this store and token manager (`zohoauth.refresher`), its
        configuration from `config`, else `settings` (`ZOHOAUTH_REFRESHER_*`), else defaults.
        Not started: `await r.run()`, or `r.start()` and later `await r.aclose()`."""
        from . import wiring
        from .refresher import Refresher
        from .store.sql import SQLTokenStore

        if not isinstance(self.store, SQLTokenStore):
            raise ConfigError("the background refresher needs the SQL token store")
        if config is None and settings is not None:
            config = wiring.refresher_config(settings)
        return Refresher(self.store, self.manager, config, clock=self.clock)

    async def __aenter__(self) -> ZohoAuth:
        return await self.open()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- login -----------------------------------------------------------------------------
    @property
    def data_centers(self) -> tuple[DataCenter, ...]:
        """The DCs whose users may log in: the registry's, less those the client leaves out."""
        return tuple(dc for dc in self.registry if self.client.accepts(dc.code))

    def start_login(self, region: str | None = None) -> PendingLogin:
        """A new pending login: keep it (cookie/session) and send the browser to `.url`.

        By default the login starts at Zoho's Multi-DC sign-in (accounts.zoho.com), which
        serves every DC but China; `region="cn"` starts it at Zoho China's own sign-in
        (accounts.zoho.com.cn). Any DC code works and picks its users' sign-in. The pending
        login remembers where it started: a callback for a DC of the other sign-in is refused.
        DataCenterNotEnabledError when the app accepts no DC of that sign-in.
        """
        return oauth.start_login(self.registry, self.client, self.clock(), region)

    async def complete_login(
        self, pending: PendingLogin | None, callback: Callback | Mapping[str, Any] | str
    ) -> Connection:
        """Finish the login from the callback's parameters (a mapping, a `Callback`, or the
        full redirect URL a script user pasted). Returns the stored connection."""
        if isinstance(callback, str):
            callback = Callback.from_params(dict(parse_qsl(urlsplit(callback).query)))
        elif not isinstance(callback, Callback):
            callback = Callback.from_params(callback)
        if pending is not None:
            now = self.clock()
            self._used_states = {
                s: t for s, t in self._used_states.items() if now - t < oauth.STATE_MAX_AGE
            }
            if pending.state in self._used_states:
                raise StateMismatchError("this login was already completed; start a new one")
            self._used_states[pending.state] = now
        conn = await login.complete_login(
            http=self.http,
            registry=self.registry,
            client=self.client,
            store=self.store,
            pending=pending,
            callback=callback,
            events=self.events,
            clock=self.clock,
        )
        self.manager.forget(key=conn.credential)  # a re-login replaced the tokens
        # The new token is committed; now revoke the one it replaced (never raises; what
        # fails stays queued and is retried).
        await self.revocations.after_login(conn.credential)
        return conn

    async def connect_org(self, connection_id: str, org_id: str) -> Connection:
        """Add a connection to another org of the same user (X-CRM-ORG), sharing the credential.

        Zoho offers no "list my orgs" call, so the org id (zgid) comes from the app or user;
        it is verified with `GET /org` under that org before anything is stored.
        """
        base = await self.manager.connection(connection_id)
        tok = await self.manager.access_token(connection_id)
        try:
            org = await identity.fetch_org(self.http, tok.api_domain, tok.token, org_id)
        except TokenRejectedError as exc:
            if exc.code != "INVALID_TOKEN":
                raise  # e.g. an org the user is not in: no refresh mends that
            # Zoho dropped a token we hold as fresh (evicted, revoked, clocks apart): refresh
            # once and ask again, as every CRM call does (crm/_transport.py). A second refusal
            # is the grant's problem, not the org's: log in again.
            tok = await self.manager.access_token(connection_id, stale=tok.token)
            try:
                org = await identity.fetch_org(self.http, tok.api_domain, tok.token, org_id)
            except TokenRejectedError as exc:
                raise InvalidTokenError(
                    "Zoho CRM rejected the access token even after a refresh; log in again",
                    code="INVALID_TOKEN",
                    status=401,
                ) from exc
        cred = await self.store.get_credential(base.credential)
        if cred is None:
            raise NotFoundError("the credential was deleted; log in again")
        conns = await self.store.save_login(
            Login(cred.key, cred.email, cred.tokens, cred.api_domain, cred.scopes, (org,))
        )
        self.manager.forget(key=cred.key)
        return conns[0]

    # -- lookups ---------------------------------------------------------------------------
    async def connection(self, connection_id: str) -> Connection:
        return await self.manager.connection(connection_id)

    async def connection_info(self, connection_id: str) -> ConnectionInfo | None:
        """The connection with its credential's status and its DC's name (one read; no token
        leaves the store), or None when it no longer exists — what a session shows its user."""
        found = await self.store.get_connection_with_credential(connection_id)
        if found is None:
            return None
        conn, cred = found
        dc_name = self.registry.get(conn.dc).name if conn.dc in self.registry else conn.dc
        return ConnectionInfo(conn, cred.status, dc_name)

    async def connection_for(self, email: str, org_id: str | None = None) -> Connection:
        """The connection of `email` (and org), like the official SDK's `UserSignature`.

        NotFoundError when nothing matches; AmbiguousConnectionError when the user has several
        orgs here and `org_id` does not choose one."""
        found = await self.store.find_connections(
            email=email, org_id=org_id, client_id=self.client.client_id
        )
        if not found:
            raise NotFoundError(f"no connection for {email}; log that user in first")
        if len(found) > 1 and org_id is None:
            orgs = ", ".join(c.org_id for c in found)
            raise AmbiguousConnectionError(
                f"{email} has several orgs ({orgs}); pass org_id to choose"
            )
        return found[0]

    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken:
        """A valid access token; `stale` names one Zoho just rejected (forces a refresh);
        `verify` confirms from the store that the connection was not ended by any process
        (one indexed read; do it before a write)."""
        return await self.manager.access_token(connection_id, stale=stale, verify=verify)

    def crm(self, connection_id: str, **kw: Any) -> CRMClient:
        """An async CRM client for the connection, sharing this object's connection pool."""
        return CRMClient(self.manager, connection_id, http=self.http, registry=self.registry, **kw)

    @property
    def service(self) -> TokenService:
        """The token service for other backends (service keys, tokens, proxy, audit log,
        webhooks): what `zohoauth serve`'s /api/v1 uses. Needs the SQL token store."""
        if self._service is None:
            from .service import TokenService
            from .store.sql import SQLTokenStore

            if not isinstance(self.store, SQLTokenStore):
                raise ConfigError("the token service needs the SQL token store (SQLTokenStore)")
            self._service = TokenService(self.store, self.service_config, auth=self)
        return self._service

    # -- operations ------------------------------------------------------------------------
    async def health(self) -> Health:
        """Readiness: whether the token store answers a read. Never raises — for a probe, any
        failure is the answer "not ready" (with what failed), not an error."""
        try:
            await self.store.get_connection("conn_readiness_probe")
        except ZohoAuthError as exc:
            return Health(False, "store", str(exc))
        except Exception as exc:
            return Health(False, "store", f"the token store failed ({type(exc).__name__})")
        return Health(True)

    # -- logout ----------------------------------------------------------------------------
    async def logout(self, connection_id: str, *, revoke: bool = False) -> LogoutResult:
        """Log the connection out of this app.

        Without `revoke`, its stored copy is deleted (the grant at Zoho stays; the credential
        goes with its last connection). With `revoke`, the grant is revoked at Zoho, which
        ends every connection sharing it, by `revoke()`'s rule: deleted here once Zoho no
        longer honours it, else kept as revoke_pending. Zoho's failures are not raised: the
        result says what happened. A connection that is already gone is not an error.
        """
        if revoke:
            try:
                done = await self.revoke(connection_id)
            except NotFoundError:
                return LogoutResult(())
            return LogoutResult(done.connection_ids or (connection_id,), done)
        conn = await self.store.get_connection(connection_id)
        deleted = await self.manager.delete(connection_id)
        if deleted and conn is not None:
            key = conn.credential
            await self.events.emit(Event(EventType.LOGGED_OUT, str(key), conn.email, key.dc))
        return LogoutResult((connection_id,) if deleted else ())

    async def revoke(self, connection_id: str) -> RevokeResult:
        """Revoke the connection's grant at Zoho (every org connection sharing it ends).

        The one rule (`zohoauth.revoke`): the local copy is deleted only when Zoho confirmed,
        or said the token was no longer valid; if Zoho could not be reached or refused, the
        credential is kept, marked revoke_pending (no token is served from it), and the result
        says why. NotFoundError when the connection does not exist.
        """
        conn = await self.store.get_connection(connection_id)
        done = await self.manager.revoke(connection_id)
        if done.revoked and conn is not None:
            key = conn.credential
            await self.events.emit(Event(EventType.REVOKED, str(key), conn.email, key.dc))
        return done
