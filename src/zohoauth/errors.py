"""zohoauth's one error tree: every exception class of the library is defined here.

    ZohoAuthError                       base of everything zohoauth raises
    ├── ConfigError                     a setting is missing or invalid (names it, says how to fix)
    ├── DataCenterError                 an unknown DC, or a host that is not on the allow-list
    ├── ZohoUnavailableError            Zoho unreachable, timed out, or 5xx after bounded retries
    │   └── TransportError              no complete answer (refused, reset, DNS, died mid-answer)
    │       ├── TransportTimeout        no complete answer within the timeout
    │       └── TLSVerificationError    the server's certificate was not trusted
    ├── LoginError                      completing "Login with Zoho" failed
    │   ├── StateMismatchError          state missing, wrong, expired or replayed (CSRF defense)
    │   ├── MixUpError                  location, accounts-server, api_domain disagree (RFC 9700)
    │   ├── AccessDeniedError           the user pressed Reject at Zoho
    │   ├── DataCenterNotEnabledError   the user's DC is not one this app accepts
    │   ├── LoginThrottledError         Zoho is limiting sign-ins ("Access Denied"), retry_after
    │   └── TokenRejectedError          CRM refused the access token while identifying the user
    ├── TokenError                      getting or refreshing a token failed
    │   ├── ReauthRequiredError         the grant is gone (revoked, invalid_code): log in again
    │   ├── ThrottledError              Zoho's "Access Denied" refresh throttle, with retry_after
    │   ├── InvalidClientError          Zoho does not accept the client id/secret in that DC
    │   └── LeaseTimeoutError           another process held the refresh lease too long
    ├── StoreError                      the token store failed
    │   ├── NotFoundError               no such credential or connection
    │   │   └── AmbiguousConnectionError  several connections match where one was asked for
    │   └── DecryptionError             wrong key, tampered or swapped ciphertext
    ├── CRMError                        Zoho CRM answered with an error envelope
    │   ├── InvalidTokenError           401 INVALID_TOKEN (after one refresh-and-retry)
    │   ├── ScopeMismatchError          401 OAUTH_SCOPE_MISMATCH
    │   ├── NoPermissionError           403 NO_PERMISSION: the user's CRM profile forbids it
    │   ├── InvalidModuleError          400 INVALID_MODULE
    │   ├── RecordNotFoundError         a record id that is not there
    │   ├── InvalidDataError            400 INVALID_DATA, MANDATORY_NOT_FOUND, ...
    │   └── RateLimitedError            429 TOO_MANY_REQUESTS, after back-off
    ├── SDKFormatError                  the input is not an official SDK token store
    └── ServiceError                    the token service refused a caller or a request
        ├── ServiceKeyError             no, malformed, unknown, revoked or expired service key
        ├── ServiceScopeError           the key's scope or connections do not allow this
        └── ProxyPathError              a proxy path that is not a CRM v8 path of this connection

The tree follows where a failure happens: Zoho being unreachable is neither a token nor a CRM
error (like httpx's `TransportError`, which sits beside its HTTP status errors the same way), so one
`except ZohoUnavailableError` covers the accounts server and CRM alike. Callers decide by type
(and by the attributes some classes carry), never by a message's wording; a test checks this
drawing against the real classes.

Messages say what happened and what to do; they never contain a token, code or secret.
aiohttp and SQLAlchemy errors are converted at the boundary (`_http.py`, `store/engine.py`) with
`raise ... from exc`.
"""

from __future__ import annotations

from typing import Any


class ZohoAuthError(Exception):
    """Base class of every error zohoauth raises."""


class ConfigError(ZohoAuthError):
    """A setting is missing or invalid."""


class DataCenterError(ZohoAuthError):
    """An unknown data center, or a URL whose host is not one of Zoho's (the allow-list)."""


class ZohoUnavailableError(ZohoAuthError):
    """Zoho (its accounts server or CRM) could not be reached, did not answer in time, or kept
    answering 5xx after bounded retries. Nothing is wrong with the token or the request: the
    message says to try again later, so callers need not add that advice. `retry_after`
    (epoch seconds), when known: no new try happens before then (a refresh back-off)."""

    retry_after: float | None = None

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        if retry_after is not None:
            self.retry_after = retry_after


class TransportError(ZohoUnavailableError):
    """A request got no complete answer: connection refused or reset, DNS, TLS, timeout, or a
    connection that died mid-response. `reason` says which in a few words (no URL, no secret);
    callers put it into their own message, which says what was being done."""

    def __init__(self, reason: str, host: str = "") -> None:
        super().__init__(f"{reason} ({host})" if host else reason)
        self.reason = reason
        self.host = host


class TransportTimeout(TransportError):
    """No complete answer within the timeout."""


class TLSVerificationError(TransportError):
    """The server's certificate was not trusted (or the TLS handshake failed)."""


class LoginError(ZohoAuthError):
    """Completing Login with Zoho failed; nothing was stored."""


class StateMismatchError(LoginError):
    """The `state` was missing, unknown, expired or already used."""


class MixUpError(LoginError):
    """The callback's `location`, `accounts-server` or the token's `api_domain` disagree."""


class AccessDeniedError(LoginError):
    """The user declined at Zoho's consent page."""


class DataCenterNotEnabledError(LoginError):
    """The user's data center is not one this app accepts (`ZOHOAUTH_DATA_CENTERS`, or the
    client's `data_centers`); nothing was sent to it. `dc` is its code, `dc_name` its name."""

    def __init__(self, message: str, *, dc: str, dc_name: str) -> None:
        super().__init__(message)
        self.dc = dc
        self.dc_name = dc_name


class LoginThrottledError(LoginError):
    """Zoho refused the code exchange with its "Access Denied" throttle: too many sign-ins of
    this client or user in Zoho's window. Try again after `retry_after` (epoch seconds)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenRejectedError(LoginError):
    """CRM answered 401 to the access token while identifying the user (expired, revoked or
    evicted): refresh, then retry.

    A LoginError like every identity failure, so login code needs no new case; importers of
    stored tokens (`zohoauth.sdk`) catch it to refresh once and try again. `code` is CRM's
    (`INVALID_TOKEN`: the token itself; `AUTHENTICATION_FAILURE`: e.g. an org the user is not
    in, which no refresh mends).
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class TokenError(ZohoAuthError):
    """Getting a valid access token failed."""


class ReauthRequiredError(TokenError):
    """The user's grant is gone (revoked or expired at Zoho): they must log in again."""


class ThrottledError(TokenError):
    """Zoho refuses refreshes for this token until `retry_after` (epoch seconds); the message
    says to try again later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidClientError(TokenError):
    """Zoho does not accept the client id/secret in this data center (`invalid_client`,
    `invalid_client_secret`): check the credentials and that Multi-DC is enabled for it."""


class LeaseTimeoutError(TokenError):
    """Another worker held the refresh lease longer than we were willing to wait."""


class StoreError(ZohoAuthError):
    """The token store failed (database unreachable, not migrated, ...)."""


class NotFoundError(StoreError):
    """No credential or connection with that key."""


class AmbiguousConnectionError(NotFoundError):
    """Several connections match where one was asked for (a user in several orgs, a name that
    fits more than one): name the org or the connection id. A NotFoundError, since no *single*
    connection was found, so code that handles "not found" keeps working."""


class DecryptionError(StoreError):
    """A stored secret could not be decrypted: wrong key ring, or the row was tampered with."""


class CRMError(ZohoAuthError):
    """Zoho CRM answered with an error. `code` is Zoho's (e.g. INVALID_DATA)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int = 0,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details or {}


class InvalidTokenError(CRMError):
    """CRM rejected the access token even after a refresh."""


class ScopeMismatchError(CRMError):
    """The token lacks the scope this call needs: log in again with the scope added."""


class NoPermissionError(CRMError):
    """Zoho CRM's 403 NO_PERMISSION: this user's CRM profile may not do it. The org's
    administrator can grant it; logging in again will not help."""


class InvalidModuleError(CRMError):
    """The module name is not one this org has."""


class RecordNotFoundError(CRMError):
    """No record with that id in this module (or not visible to this user)."""


class InvalidDataError(CRMError):
    """Zoho rejected the request's data or parameters."""


class RateLimitedError(CRMError):
    """Zoho's concurrency or credit limit (429) persisted after back-off."""


class SDKFormatError(ZohoAuthError):
    """The input is not an official SDK token store (wrong header, not text, no such table)."""


class ServiceError(ZohoAuthError):
    """The token service (`zohoauth serve`'s /api/v1) refused a caller or a request."""


class ServiceKeyError(ServiceError):
    """The request carries no service key, or one that is malformed, unknown, revoked or
    expired: ask the operator for a key (`zohoauth keys service create`)."""


class ServiceScopeError(ServiceError):
    """The service key is valid but its scope or its connections do not allow this call."""


class ProxyPathError(ServiceError):
    """A proxy path that is not a plain `crm/v8/...` path (absolute URL, `..`, encoded
    slashes or dots, `@`, backslashes): refused before any request leaves."""


__all__ = [
    "AccessDeniedError",
    "AmbiguousConnectionError",
    "CRMError",
    "ConfigError",
    "DataCenterError",
    "DataCenterNotEnabledError",
    "DecryptionError",
    "InvalidClientError",
    "InvalidDataError",
    "InvalidModuleError",
    "InvalidTokenError",
    "LeaseTimeoutError",
    "LoginError",
    "LoginThrottledError",
    "MixUpError",
    "NoPermissionError",
    "NotFoundError",
    "ProxyPathError",
    "RateLimitedError",
    "ReauthRequiredError",
    "RecordNotFoundError",
    "SDKFormatError",
    "ScopeMismatchError",
    "ServiceError",
    "ServiceKeyError",
    "ServiceScopeError",
    "StateMismatchError",
    "StoreError",
    "TLSVerificationError",
    "ThrottledError",
    "TokenError",
    "TokenRejectedError",
    "TransportError",
    "TransportTimeout",
    "ZohoAuthError",
    "ZohoUnavailableError",
]
