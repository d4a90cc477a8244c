"""`zohoauth.sdk`: the official Zoho SDK's `TokenStore`, kept in zohoauth's encrypted store.

For apps still on the official SDK (`pip install zohoauth[sdk]`):

    from zohoauth.sdk import ZohoAuthTokenStore
    store = ZohoAuthTokenStore()            # ZOHOAUTH_* settings: database, keys, client
    Initializer.initialize(environment=..., token=OAuthToken(...), store=store)

What changes for the app, compared with the SDK's FileStore / DBStore:

- tokens are encrypted at rest (AES-GCM, the row's key as associated data); the client secret
  is never stored — the store fills it in from ZOHOAUTH_CLIENT_SECRET when the SDK asks;
- any database zohoauth supports (SQLite, PostgreSQL, MySQL), with transactions: no
  half-written CSV when threads save at once;
- refresh exactly once: before handing a token to the SDK, the store renews it through
  zohoauth's TokenManager (single flight per process, a lease in the row across processes),
  5 minutes ahead of expiry — so the SDK, which would refresh in every thread that sees an
  expired token, finds a fresh one and never refreshes at all.

Mapping: the SDK's token `id` is zohoauth's connection id (`conn_...`), its `user_name` is
`"<email>:<org zgid>"` as the SDK writes it, `expiry_time` is epoch milliseconds. Grant tokens
are not kept (a used grant code is worthless): after the first run, find the user by
`UserSignature(email)` or the token id. The store serves one client (ZOHOAUTH_CLIENT_ID):
`get_tokens` and `delete_tokens` see only that client's credentials, so a database shared with
other apps stays theirs.

The SDK calls the store from its own threads; every call runs on the store's private event
loop (`LoopThread`) and waits for the result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

try:
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import (
        TokenStore as SDKTokenStore,
    )
    from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
    from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        "zohoauth.sdk needs Zoho's official SDK: pip install 'zohoauth[sdk]'"
    ) from exc

from .. import identity, wiring
from .._http import ZohoHTTP
from .._loop_thread import LoopThread
from ..config import Settings
from ..credentials import Connection, Credential, CredentialKey, Login, OrgInfo, TokenSet
from ..errors import DataCenterError, TokenError, ZohoAuthError, ZohoUnavailableError
from ..manager import ManagerConfig, TokenManager

_STORE = "TOKEN_STORE"  # the SDK's error code for store failures


class ZohoAuthTokenStore(SDKTokenStore):  # type: ignore[misc]
    """The official SDK's TokenStore on zohoauth's encrypted SQL store (see module doc)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        auto_migrate: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        s = settings or Settings.load()
        s.require(*wiring.REQUIRED)
        self._client = wiring.oauth_client(s)
        self._registry = wiring.dc_registry(s)
        self._store = wiring.token_store(s, auto_migrate=auto_migrate, clock=clock)
        self._ca_bundle = s.ca_bundle or None
        self._loop = LoopThread("zohoauth-sdk-store")
        self._http: ZohoHTTP | None = None
        self._manager: TokenManager | None = None
        self._clock = clock
        try:
            self._loop.run(self._open(wiring.manager_config(s)))
        except BaseException:
            self._loop.close()
            raise

    async def _open(self, config: ManagerConfig) -> None:
        await self._store.open()
        self._http = ZohoHTTP(ca_bundle=self._ca_bundle)  # its session lives on this loop
        self._manager = TokenManager(
            self._store,
            self._registry,
            self._client,
            http=self._http,
            config=config,
            clock=self._clock,
        )

    def close(self) -> None:
        """Close the database pool and stop the loop thread (idempotent)."""
        if not self._loop.closed:
            try:
                self._loop.run(self._aclose())
            finally:
                self._loop.close()

    async def _aclose(self) -> None:
        if self._manager is not None:
            await self._manager.aclose()  # writes pending "last used" times
        if self._http is not None:
            await self._http.aclose()
        await self._store.close()

    def __repr__(self) -> str:
        return f"ZohoAuthTokenStore({self._store!r}, client_id={self._client.client_id!r})"

    def _call(self, coro: Any) -> Any:
        """Run on the loop; zohoauth's errors reach the SDK as its own SDKException."""
        try:
            return self._loop.run(coro)
        except ZohoAuthError as exc:
            raise SDKException(_STORE, str(exc)) from exc

    # -- the SDK's TokenStore interface -----------------------------------------------------
    def find_token(self, token: Any) -> Any:
        """Fill `token` from the stored one it names (user signature, access token, refresh
        token); None if there is none. Grant tokens are never stored, so they never match."""
        if not isinstance(token, OAuthToken):
            return token
        found = self._call(self._find(token))
        if found is None:
            return None
        _merge(token, self._sdk_token(*found))
        return token

    def find_token_by_id(self, id: str) -> Any:
        found = self._call(self._by_id(id))
        if found is None:
            raise SDKException(_STORE, f"no token with id {id!r} in the zohoauth store")
        return self._sdk_token(*found)

    def save_token(self, token: Any) -> None:
        """Store what the SDK obtained (a first exchange or its own refresh); the client secret
        and the grant code are left out. Sets the token's id to the connection id."""
        if not isinstance(token, OAuthToken):
            return
        conn, cred = self._call(self._save(token))
        token.set_id(conn.id)
        if token.get_user_signature() is None:
            token.set_user_signature(UserSignature(f"{cred.email}:{conn.org_id}"))

    def delete_token(self, id: str) -> None:
        if not self._call(self._store.delete_connection(id)):
            raise SDKException(_STORE, f"no token with id {id!r} in the zohoauth store")

    def get_tokens(self) -> list[Any]:
        return [self._sdk_token(conn, cred) for conn, cred in self._call(self._all())]

    def delete_tokens(self) -> None:
        """Delete this client's credentials (not other apps' in a shared database)."""
        self._call(self._delete_all())

    # -- on the loop ------------------------------------------------------------------------
    async def _fresh(self, conn: Connection) -> tuple[Connection, Credential] | None:
        """The connection's credential, renewed first if due (exactly once, see module doc)."""
        manager = self._manager
        assert manager is not None
        if conn.credential.client_id == self._client.client_id:
            manager.forget(key=conn.credential)  # read the store: another process may write
            # Reauth needed, throttled or unreachable: the SDK gets what is stored.
            with contextlib.suppress(TokenError, ZohoUnavailableError):
                await manager.access_token(conn.id)
        cred = await self._store.get_credential(conn.credential)
        return None if cred is None else (conn, cred)

    async def _by_id(self, connection_id: str) -> tuple[Connection, Credential] | None:
        conn = await self._store.get_connection(connection_id)
        return None if conn is None else await self._fresh(conn)

    async def _find(self, token: Any) -> tuple[Connection, Credential] | None:
        signature = token.get_user_signature()
        if signature is not None and signature.get_name():
            email, org_id = _split_user_name(signature.get_name())
            found = await self._store.find_connections(
                email=email, org_id=org_id, client_id=self._client.client_id
            )
            return await self._fresh(found[0]) if found else None
        access, refresh = token.get_access_token(), token.get_refresh_token()
        if token.get_id():
            return await self._by_id(token.get_id())
        for conn, cred in await self._all():  # tokens are encrypted: no index, a scan
            if (refresh and cred.tokens.refresh_token == refresh) or (
                access and not refresh and cred.tokens.access_token == access
            ):
                return await self._fresh(conn)
        return None

    async def _all(self) -> list[tuple[Connection, Credential]]:
        conns = await self._store.find_connections(client_id=self._client.client_id)
        creds = {c.key: c async for c in self._store.iter_credentials()}
        return [(conn, creds[conn.credential]) for conn in conns if conn.credential in creds]

    async def _delete_all(self) -> None:
        for conn in await self._store.find_connections(client_id=self._client.client_id):
            await self._store.delete_credential(conn.credential)

    async def _save(self, token: Any) -> tuple[Connection, Credential]:
        refresh, access = token.get_refresh_token(), token.get_access_token()
        if not refresh or not access:
            raise TokenError("zohoauth keeps offline grants only: the token has no refresh token")
        expiry = token.get_expires_in()
        tokens = TokenSet(refresh, access, int(expiry) / 1000 if expiry else 0.0)
        known = await self._find_saved(token)
        if known is not None:
            conn, cred = known
            api_domain = token.get_api_domain() or cred.api_domain
            key, email, scopes, org = (
                cred.key,
                cred.email,
                cred.scopes,
                OrgInfo(conn.org_id, conn.org_name),
            )
        else:
            key, email, api_domain, org = await self._identify(token, access)
            scopes = ()
        login = Login(key, email, tokens, api_domain, scopes, (org,))
        [saved] = await self._store.save_login(login)
        got = await self._store.get_credential(key)
        assert got is not None
        return saved, got

    async def _find_saved(self, token: Any) -> tuple[Connection, Credential] | None:
        if token.get_id():
            conn = await self._store.get_connection(token.get_id())
            cred = None if conn is None else await self._store.get_credential(conn.credential)
            if conn is not None and cred is not None:
                return conn, cred
        for conn, cred in await self._all():
            if cred.tokens.refresh_token == token.get_refresh_token():
                return conn, cred
        return None

    async def _identify(self, token: Any, access: str) -> tuple[CredentialKey, str, str, OrgInfo]:
        """A token zohoauth has not seen: who (zuid), which DC and org (CurrentUser, org)."""
        api_domain = (token.get_api_domain() or "").rstrip("/")
        dc = self._registry.dc_of_api_domain(api_domain) if api_domain else None
        if dc is None:
            raise DataCenterError(
                f"api_domain {api_domain or '(none)'} is not an API host of a known data center"
            )
        assert self._http is not None
        zuid, email, _ = await identity.current_user(self._http, api_domain, access)
        signature = token.get_user_signature()
        _, org_id = _split_user_name(signature.get_name() if signature else "")
        org = await identity.fetch_org(self._http, api_domain, access, org_id)
        client_id = token.get_client_id() or self._client.client_id
        return CredentialKey(client_id, dc.code, zuid), email, api_domain, org

    # -- conversions ------------------------------------------------------------------------
    def _sdk_token(self, conn: Connection, cred: Credential) -> Any:
        """An SDK OAuthToken for a stored connection (built as the SDK's own stores do)."""
        t = object.__new__(OAuthToken)
        secret = (  # the secret of the token's own DC (common, or that DC's own)
            self._client.secret_for(cred.key.dc)
            if cred.key.client_id == self._client.client_id
            else None
        )
        expiry = str(int(cred.tokens.expires_at * 1000)) if cred.tokens.access_token else None
        t.set_id(conn.id)
        t.set_user_signature(UserSignature(f"{cred.email}:{conn.org_id}"))
        t.set_client_id(cred.key.client_id)
        t.set_client_secret(secret)
        t.set_refresh_token(cred.tokens.refresh_token)
        t.set_access_token(cred.tokens.access_token)
        t.set_grant_token(None)
        t.set_expires_in(expiry)
        t.set_redirect_url(None)
        t.set_api_domain(cred.api_domain)
        return t


_FIELDS = (
    "id",
    "user_signature",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expires_in",
    "redirect_url",
    "api_domain",
)


def _merge(token: Any, stored: Any) -> None:
    """Fill the token's empty fields from the stored one (the SDK stores' `set_merge_data`)."""
    for name in _FIELDS:
        if getattr(token, f"get_{name}")() is None:
            getattr(token, f"set_{name}")(getattr(stored, f"get_{name}")())


def _split_user_name(name: str) -> tuple[str | None, str | None]:
    """`email:zgid` -> (email, zgid); `email` -> (email, None); "" -> (None, None)."""
    head, sep, tail = name.rpartition(":")
    if sep and head and tail.isdigit():
        return head, tail
    return (name or None), None


__all__ = ["ZohoAuthTokenStore"]
