"""Login with Zoho: the authorization URL, the callback checks, and Zoho's token endpoint.

The decisions are pure (`start_login`, `verify_callback`, `parse_token_response`) so they can be
tested exhaustively; the I/O (`exchange_code`, `refresh_access_token`, `revoke_token`) sends a
request only after the target host passed the registry (RFC 9700 §4.4 mix-up defense): a forged
callback never makes us send a code or the client secret to a host that is not Zoho's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlencode

from .datacenters import DataCenter, DataCenterRegistry
from .errors import (
    AccessDeniedError,
    ConfigError,
    DataCenterNotEnabledError,
    InvalidClientError,
    LoginError,
    LoginThrottledError,
    MixUpError,
    ReauthRequiredError,
    StateMismatchError,
    ThrottledError,
    TokenError,
    TransportError,
    ZohoUnavailableError,
)

if TYPE_CHECKING:
    from ._http import ZohoHTTP

#: Scopes every login adds: identity lookup needs them (docs/zoho-reference.md §6.1, §6.2).
IDENTITY_SCOPES = ("ZohoCRM.users.READ", "ZohoCRM.org.READ")
#: How long a pending login (its `state`) stays valid.
STATE_MAX_AGE = 600.0


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """The app's registration in Zoho's API console (server-based, Multi-DC on).

    The client id is common to every DC; the secret is common or per DC, as the client's owner
    chose in the console (docs/zoho-reference.md §5). `client_secret` is the common one and
    `client_secrets` the DCs' own (`{"eu": "..."}`); `secret_for(dc)` picks, and each secret is
    only ever sent to its own DC's accounts server. `data_centers` mirrors the DCs the console
    enables for the client: a user from any other DC is refused before anything is sent to it
    (None: every DC of the registry).
    """

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...] = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.modules.READ")
    # Zoho returns a refresh token only on (re)consent (docs/zoho-reference.md §1)
    prompt_consent: bool = True
    # optional: Zoho documents PKCE only for mobile clients (docs/zoho-reference.md §1)
    use_pkce: bool = True
    client_secrets: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    data_centers: frozenset[str] | None = None

    def __post_init__(self) -> None:
        # A copy of our own (picklable, for worker processes), keyed by lower-case DC code.
        own = {k.strip().lower(): v for k, v in self.client_secrets.items()}
        object.__setattr__(self, "client_secrets", own)
        if self.data_centers is not None:
            codes = frozenset(c.strip().lower() for c in self.data_centers)
            object.__setattr__(self, "data_centers", codes)

    @property
    def all_scopes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.scopes, *IDENTITY_SCOPES)))

    def accepts(self, dc: str) -> bool:
        """Whether users of data center `dc` may log in to this app."""
        return self.data_centers is None or dc in self.data_centers

    def secret_source(self, dc: str) -> Literal["own", "common"]:
        """Which secret DC `dc` uses: its "own", or the "common" one (never the value)."""
        return "own" if self.client_secrets.get(dc) else "common"

    def secret_for(self, dc: str) -> str:
        """The client secret to send to DC `dc`'s accounts server, and to no other."""
        secret = self.client_secrets.get(dc) or self.client_secret
        if not secret:
            raise ConfigError(
                f"no client secret for data center {dc}: set ZOHOAUTH_CLIENT_SECRET (common to "
                f"every DC) or give {dc} its own in ZOHOAUTH_CLIENT_SECRETS"
            )
        return secret

    def secret_hint(self, dc: str) -> str:
        """Where an operator fixes DC `dc`'s secret (names settings, never a value)."""
        if self.secret_source(dc) == "own":
            return f"check the {dc} entry of ZOHOAUTH_CLIENT_SECRETS"
        return (
            f"check ZOHOAUTH_CLIENT_SECRET, or give {dc} its own secret in "
            "ZOHOAUTH_CLIENT_SECRETS if the client has one there"
        )


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What the app keeps (a signed cookie, a session) between `/login` and the callback.

    `login_dc` is the sign-in entry the login started at ("us" for Multi-DC, "cn" for China):
    only a callback for a DC of that entry can complete it.
    """

    #: Seconds a pending login stays valid: keep it (a cookie, a session) no longer.
    MAX_AGE: ClassVar[float] = STATE_MAX_AGE

    state: str
    code_verifier: str | None = field(repr=False)
    created_at: float
    url: str
    login_dc: str = "us"


@dataclass(frozen=True, slots=True)
class Callback:
    """The parameters Zoho appends to the redirect URI."""

    state: str | None
    code: str | None = field(default=None, repr=False)
    location: str | None = None
    accounts_server: str | None = None
    error: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Callback:
        """From a query string or JSON body (`accounts-server` or `accounts_server`)."""

        def get(*names: str) -> str | None:
            for n in names:
                v = params.get(n)
                if isinstance(v, str) and v:
                    return v
            return None

        return cls(
            state=get("state"),
            code=get("code"),
            location=get("location"),
            accounts_server=get("accounts-server", "accounts_server"),
            error=get("error"),
        )


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A parsed token response, already checked against the DC it came from."""

    dc: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    api_domain: str
    scopes: tuple[str, ...]


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def not_enabled(dc: DataCenter) -> DataCenterNotEnabledError:
    return DataCenterNotEnabledError(
        f"this app does not accept Zoho accounts from {dc.name} ({dc.code.upper()}); sign in "
        "with an account in another data center, or ask the app's administrator",
        dc=dc.code,
        dc_name=dc.name,
    )


def sign_in_entry(
    registry: DataCenterRegistry, client: OAuthClient, region: str | None = None
) -> DataCenter:
    """Where a login starts: the accounts server of the sign-in entry of `region`.

    `region` is a DC code; its users' entry is used ("cn" → China's accounts server, any
    Multi-DC code → the US one). None: the Multi-DC entry, or China's when the client accepts
    no Multi-DC DC. DataCenterError for an unknown code, DataCenterNotEnabledError when the
    client accepts no DC of that entry.
    """
    accepted = [dc for dc in registry if client.accepts(dc.code)]
    if region is None:
        entries = [e for e in registry.entries if any(d.login_dc == e.code for d in accepted)]
        return entries[0] if entries else registry.login_dc
    asked = registry.get(region)
    entry = registry.entry_of(asked.code)
    if not any(d.login_dc == entry.code for d in accepted):
        raise not_enabled(asked)
    return entry


def start_login(
    registry: DataCenterRegistry,
    client: OAuthClient,
    now: float,
    region: str | None = None,
) -> PendingLogin:
    """A fresh single-use `state` (and PKCE verifier) and the URL to send the browser to.

    Multi-DC logins start at the US accounts server, which routes the user to their DC and
    reports it back in `location`; China's start at China's accounts server, the only one that
    knows its users (docs/zoho-reference.md §5). `region` chooses (`sign_in_entry`).
    """
    entry = sign_in_entry(registry, client, region)
    state = secrets.token_urlsafe(32)
    params = {
        "scope": ",".join(client.all_scopes),
        "client_id": client.client_id,
        "response_type": "code",
        "access_type": "offline",
        "redirect_uri": client.redirect_uri,
        "state": state,
    }
    if client.prompt_consent:
        params["prompt"] = "consent"
    verifier = None
    if client.use_pkce:
        verifier, challenge = pkce_pair()
        params["code_challenge"] = challenge
        params["code_challenge_method"] = "S256"
    url = f"{entry.accounts_server.rstrip('/')}/oauth/v2/auth?{urlencode(params)}"
    return PendingLogin(
        state=state, code_verifier=verifier, created_at=now, url=url, login_dc=entry.code
    )


def verify_callback(
    registry: DataCenterRegistry,
    pending: PendingLogin | None,
    callback: Callback,
    now: float,
    max_age: float = STATE_MAX_AGE,
    client: OAuthClient | None = None,
) -> DataCenter:
    """Check `state`, then resolve the DC and require `accounts-server` to be exactly its own,
    the DC to sign in where the login started, and (with `client`) the client to accept it.

    Raises StateMismatchError, AccessDeniedError, MixUpError, DataCenterNotEnabledError or
    LoginError; returns the DC whose accounts server may receive the code.
    """
    if pending is None or not callback.state:
        raise StateMismatchError(
            "the login has no pending state (expired, already used, or cookies blocked); "
            "start the login again"
        )
    if not hmac.compare_digest(pending.state.encode(), callback.state.encode()):
        raise StateMismatchError("the login's state does not match; start the login again")
    if now - pending.created_at > max_age:
        raise StateMismatchError("the login took too long and expired; start the login again")
    if callback.error:
        if callback.error == "access_denied":
            # Also what Zoho sends past its grant-code limit; the redirect does not say which
            # (docs/zoho-reference.md §4), so the user's Reject is the reading we give.
            raise AccessDeniedError("access was declined at Zoho; log in again to grant it")
        raise LoginError(f"Zoho reported an error ({callback.error[:60]}); try logging in again")
    if not callback.code:
        raise LoginError("Zoho's redirect carried no code; start the login again")
    if not callback.location or callback.location.lower() not in registry:
        raise MixUpError("the callback names an unknown data center; start the login again")
    dc = registry.get(callback.location)
    if not callback.accounts_server or not registry.is_accounts_server(
        dc.code, callback.accounts_server
    ):
        raise MixUpError(
            f"the callback's accounts server is not Zoho's for data center {dc.code}; "
            "the login was refused (possible mix-up attack)"
        )
    if dc.login_dc != pending.login_dc:
        started = registry.get(pending.login_dc) if pending.login_dc in registry else None
        where = started.name if started is not None else pending.login_dc
        raise MixUpError(
            f"the callback names data center {dc.code}, whose users do not sign in where this "
            f"login started ({where}'s accounts server); the login was refused (possible "
            "mix-up attack)"
        )
    if client is not None and not client.accepts(dc.code):
        raise not_enabled(dc)
    return dc


def _expires_at(body: Mapping[str, Any], now: float) -> float:
    """Expiry from `expires_in`; the legacy shape with `expires_in_sec` gave milliseconds
    (docs/zoho-reference.md §2a)."""
    if "expires_in_sec" in body:
        return now + float(body["expires_in_sec"])
    raw = body.get("expires_in")
    seconds = float(raw) if isinstance(raw, int | float | str) and str(raw).strip() else 3600.0
    return now + seconds


def parse_token_response(
    registry: DataCenterRegistry,
    dc: DataCenter,
    body: Any,
    now: float,
    client: OAuthClient | None = None,
) -> TokenGrant:
    """Check and parse a token endpoint answer (errors are HTTP 200 bodies at Zoho:
    docs/zoho-reference.md §2c). With `client`, a refused client secret says which setting
    holds that DC's secret."""
    if not isinstance(body, Mapping):
        raise ZohoUnavailableError(
            "Zoho's token endpoint answered with something not JSON — try again later"
        )
    error = body.get("error")
    if error == "Access Denied":
        # no refresh for the rest of Zoho's 10-minute window (docs/zoho-reference.md §4)
        raise ThrottledError(
            "Zoho is throttling token requests for this user; try again later", now + 600.0
        )
    if error == "invalid_code":
        raise ReauthRequiredError("the grant is no longer valid at Zoho; log in again")
    if error == "invalid_client_secret":
        hint = client.secret_hint(dc.code) if client is not None else "check the client secret"
        raise InvalidClientError(
            f"Zoho rejected this app's client secret for data center {dc.name} ({dc.code}) "
            f"(invalid_client_secret); the app's operator should {hint}"
        )
    if error == "invalid_client":
        raise InvalidClientError(
            "Zoho does not accept this app's client id/secret in data center "
            f"{dc.name} ({dc.code}) (invalid_client); the app's operator should check the "
            "credentials and that the client has this DC enabled (Multi-DC) in Zoho's console"
        )
    if error:
        raise TokenError(f"Zoho's token endpoint refused the request ({str(error)[:60]})")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenError("Zoho's token response had no access token")
    api_domain = body.get("api_domain") or dc.api_domain
    if not isinstance(api_domain, str) or not registry.is_api_domain(dc.code, api_domain):
        raise MixUpError(
            f"the token response's api_domain is not an API host of data center {dc.code}; "
            "the tokens were discarded"
        )
    refresh = body.get("refresh_token")
    scope = body.get("scope")
    scopes = tuple(str(scope).replace(",", " ").split()) if scope else ()
    return TokenGrant(
        dc=dc.code,
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=_expires_at(body, now),
        api_domain=api_domain.rstrip("/"),
        scopes=scopes,
    )


async def _post_token(http: ZohoHTTP, dc: DataCenter, data: dict[str, str]) -> Any:
    url = f"{dc.accounts_server.rstrip('/')}/oauth/v2/token"
    try:
        resp = await http.request("POST", url, data=data)
    except TransportError as exc:
        raise ZohoUnavailableError(
            f"could not reach Zoho's accounts server for {dc.code} ({exc.reason}) — try again later"
        ) from exc
    if resp.status >= 500:
        raise ZohoUnavailableError(
            f"Zoho's accounts server for {dc.code} answered HTTP {resp.status} — try again later"
        )
    try:
        return resp.json()
    except ValueError as exc:
        raise ZohoUnavailableError(
            f"Zoho's accounts server for {dc.code} answered HTTP {resp.status} without JSON "
            "— try again later"
        ) from exc


async def exchange_code(
    http: ZohoHTTP,
    registry: DataCenterRegistry,
    client: OAuthClient,
    dc: DataCenter,
    code: str,
    code_verifier: str | None,
    now: float,
) -> TokenGrant:
    """Redeem the code at its DC's accounts server (never at a URL from the callback).

    A refusal is a LoginError (start again); Zoho's accounts server being down, slow or
    answering 5xx stays a ZohoUnavailableError (the web app: 503 with Retry-After): nothing
    is wrong with the login, and a new one works once Zoho is back.
    """
    data = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "client_secret": client.secret_for(dc.code),
        "redirect_uri": client.redirect_uri,
        "code": code,
    }
    if code_verifier:
        data["code_verifier"] = code_verifier
    try:
        body = await _post_token(http, dc, data)
        grant = parse_token_response(registry, dc, body, now, client)
    except ReauthRequiredError as exc:
        raise LoginError("the login code expired or was already used; log in again") from exc
    except ThrottledError as exc:
        # "Access Denied" at the exchange: Zoho's limit on new refresh tokens per user and
        # client (docs/zoho-reference.md §4) — a wait, not a fault of this login.
        raise LoginThrottledError(
            "Zoho is limiting sign-ins; try again in a few minutes", exc.retry_after
        ) from exc
    except TokenError as exc:
        # Zoho refused: whatever stopped the exchange, the way on is a new login.
        raise LoginError(f"Zoho refused the login: {exc}") from exc
    if grant.refresh_token is None:
        raise LoginError(
            "Zoho returned no refresh token; log in again (the app asks for offline access "
            "with prompt=consent)"
        )
    return grant


async def refresh_access_token(
    http: ZohoHTTP,
    registry: DataCenterRegistry,
    client: OAuthClient,
    dc: DataCenter,
    refresh_token: str,
    now: float,
) -> TokenGrant:
    """One refresh request (no retries here; the manager decides about retrying)."""
    data = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.secret_for(dc.code),
        "refresh_token": refresh_token,
    }
    return parse_token_response(registry, dc, await _post_token(http, dc, data), now, client)


class RevokeAnswer(StrEnum):
    """What Zoho's revoke endpoint said about a token."""

    REVOKED = "revoked"  # HTTP 200 {"status":"success"}: revoked now
    INVALID = "invalid"  # HTTP 400, the documented answer for a token it does not honour
    REFUSED = "refused"  # anything else: not revoked, and not known to be dead either


def parse_revoke_response(status: int, body: Any) -> RevokeAnswer:
    """Zoho's answer to a revocation (pure). Success is HTTP 200 `{"status":"success"}`; an
    invalid token is HTTP 400 with an undocumented body (docs/zoho-reference.md §3), so a 400 counts
    as "invalid" unless its body names another error (a malformed request, a client problem):
    only then might the grant still be live. 5xx is the caller's ZohoUnavailableError."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if status == 200 and error is None:
        return RevokeAnswer.REVOKED
    if status in (200, 400) and error in (None, "invalid_token", "invalid_code"):
        return RevokeAnswer.INVALID
    return RevokeAnswer.REFUSED


async def revoke_token(http: ZohoHTTP, dc: DataCenter, token: str) -> RevokeAnswer:
    """Revoke a refresh token at Zoho (its access tokens die with it) (docs/zoho-reference.md §3).

    ZohoUnavailableError when Zoho cannot be reached or answers 5xx: nothing is known then.
    """
    url = f"{dc.accounts_server.rstrip('/')}/oauth/v2/token/revoke"
    try:
        resp = await http.request("POST", url, data={"token": token})
    except TransportError as exc:
        raise ZohoUnavailableError(
            f"could not reach Zoho's accounts server for {dc.code} to revoke access "
            f"({type(exc).__name__}) — try again later"
        ) from exc
    if resp.status >= 500:
        raise ZohoUnavailableError(
            f"Zoho's accounts server for {dc.code} answered HTTP {resp.status} to the "
            "revocation — try again later"
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    return parse_revoke_response(resp.status, body)
