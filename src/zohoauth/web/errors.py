"""Every failure the web app answers becomes `{"error": "<code>", "message": "<what to do>"}`.

One table maps zohoauth's error tree to HTTP (the README lists the codes for users):

    401 not_logged_in     no session, or its connection is gone          → log in
    401 invalid_key       /api/v1: no, malformed, unknown, revoked or expired service key
    403 forbidden         /api/v1: the key's scope or connections do not allow it
    400 bad_proxy_path    /api/v1/proxy: not a plain crm/v8/... path
    429 rate_limited      /api/v1: the service key's token bucket is empty (Retry-After)
    401 reauth_required   the Zoho grant is gone (revoked, expired), the token lacks a scope,
                          or the stored API host is off the allow-list   → Reconnect
    403 csrf              a state-changing call without the page's proof → reload (csrf.py)
    403 no_permission     the user's CRM profile forbids it
    400 bad_json          the body is not JSON
    400 state_mismatch / mixup / access_denied / login_failed            → start the login again
    400 unknown_region    /login?region= names no data center
    403 dc_not_enabled    the user's data center is not one this app accepts (ZOHOAUTH_DATA_CENTERS)
    404 unknown_module / not_found / unknown_account / not_found (route)
    404 unknown_org       connect-org: Zoho does not let the user into that org
    409 already_connected connect-org: this browser already has that org of the user
    408 timeout           the body took too long to arrive (middleware.BodyTimeout)
    413 too_large         the body is over the limit
    422 invalid_request   parameters or body of the wrong shape
    422 invalid_data      Zoho refused the data (MANDATORY_NOT_FOUND, INVALID_DATA, ...)
    502 zoho_error        Zoho answered something unexpected
    503 zoho_unavailable  Zoho unreachable or failing (5xx)              → try again later
    503 rate_limited / throttled (with Retry-After)
    503 store_unavailable the token store failed: "unavailable, try again in a moment" and
                          Retry-After; where the store is and what failed go to the log only
    503 login_throttled   Zoho's "Access Denied" on the code exchange: too many sign-ins in its
                          window (with Retry-After) → try again in a few minutes. 503, like the
                          refresh throttle: the limit is Zoho's, not this client's request rate
    503 app_misconfigured Zoho refuses this app's client id/secret in the user's DC: nothing the
                          user can do; logged for the operator, whose settings must change
    500 internal          a bug: logged (redacted) with the request id, never a stack trace out

Messages come from the exceptions, which already say what to do and never hold a token, code or
secret; they are redacted once more on the way out all the same. Two kinds are not answered
as they are (`public_message`): a 500's (a bug) and a store failure's, which is written for
the operator (the database's host, port, user and name, the setting that holds its URL).

`ApiError`, `BodyTooLarge` and `BodyTimedOut` are the web app's own, internal to this
package: answers it decides on itself, never raised by the library (whose every error class is
in `zohoauth.errors`).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors as z
from ..logs import get_logger, redact_text
from .responses import json_response

log = get_logger("zohoauth.web")


class ApiError(Exception):
    """An answer the web app decided on itself (not logged in, unknown module, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        extra: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


class BodyTooLarge(StarletteHTTPException):
    """Raised by the body-size guard while a request body is read. An HTTPException, because
    FastAPI turns any other exception raised while it reads the body into a 400."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


TOO_LARGE = "the request body is too large; send less"


class BodyTimedOut(StarletteHTTPException):
    """Raised by the body-time guard when a body is too slow to arrive: 408, and the connection
    is closed (what is left of the body is never read)."""

    def __init__(self) -> None:
        super().__init__(408, TOO_SLOW, headers={"Connection": "close"})


TOO_SLOW = "the request body took too long to arrive; send it again on a faster connection"


NOT_LOGGED_IN = "you are not logged in (or that account was logged out); log in with Zoho"


def not_logged_in() -> ApiError:
    return ApiError(401, "not_logged_in", NOT_LOGGED_IN)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": redact_text(message)[:500], **extra}


#: The library's error tree, most specific first: the first matching type decides.
_BY_TYPE: tuple[tuple[type[Exception] | tuple[type[Exception], ...], int, str], ...] = (
    (z.ServiceKeyError, 401, "invalid_key"),  # /api/v1 (routes_api_v1.py)
    (z.ServiceScopeError, 403, "forbidden"),
    (z.ProxyPathError, 400, "bad_proxy_path"),
    (z.NotFoundError, 401, "not_logged_in"),
    (z.DecryptionError, 503, "store_unavailable"),  # the key ring does not open the store
    (z.InvalidClientError, 503, "app_misconfigured"),  # Zoho refuses our client id/secret
    ((z.ReauthRequiredError, z.InvalidTokenError, z.ScopeMismatchError), 401, "reauth_required"),
    (z.NoPermissionError, 403, "no_permission"),
    (z.InvalidModuleError, 404, "unknown_module"),
    (z.RecordNotFoundError, 404, "not_found"),
    (z.InvalidDataError, 422, "invalid_data"),
    (z.RateLimitedError, 503, "rate_limited"),
    (z.ThrottledError, 503, "throttled"),
    ((z.ZohoUnavailableError, z.LeaseTimeoutError), 503, "zoho_unavailable"),
    (z.LoginThrottledError, 503, "login_throttled"),
    (z.DataCenterNotEnabledError, 403, "dc_not_enabled"),
    (z.StateMismatchError, 400, "state_mismatch"),
    (z.MixUpError, 400, "mixup"),
    (z.AccessDeniedError, 400, "access_denied"),
    (z.LoginError, 400, "login_failed"),
    (z.StoreError, 503, "store_unavailable"),
    (z.DataCenterError, 401, "reauth_required"),  # a stored host off the allow-list: log in
)


#: Errors whose messages already say to try again later (documented on each class).
_SAY_WHEN_TO_RETRY = (z.ZohoUnavailableError, z.ThrottledError, z.LoginThrottledError)


def classify(exc: Exception) -> tuple[int, str]:
    """(HTTP status, error code) for an exception from the library."""
    for kinds, status, code in _BY_TYPE:
        if isinstance(exc, kinds):
            return status, code
    if isinstance(exc, z.CRMError):
        if 400 <= exc.status < 500:
            return 422, "invalid_data"  # Zoho refused what we passed on (a criteria, a token)
        if exc.status >= 500:
            return 503, "zoho_unavailable"  # INTERNAL_ERROR and friends: Zoho's side, retry
        return 502, "zoho_error"
    return 500, "internal"


#: What a browser is told when the token store fails. The store's own message is an
#: operator's (`store/engine.to_store_error`: the database's host, port, user and name, the
#: setting that holds its URL, the driver's words): it goes to the log, never into an answer.
STORE_UNAVAILABLE = "our token store is unavailable; try again in a moment"
#: Seconds a 503 `store_unavailable` asks a client to wait (a restart or fail-over is short).
STORE_RETRY_AFTER = 5


def public_message(exc: Exception, status: int, code: str) -> str:
    """What the answer for `exc` may tell the browser: the exception's own message, which
    says what to do, except where it speaks to the operator (`store_unavailable`) or
    reveals a bug (500). Those are logged by `log_detail`, never answered."""
    if code == "store_unavailable":
        return STORE_UNAVAILABLE
    if status == 500:
        return INTERNAL
    message = str(exc)
    if status in (502, 503) and not isinstance(exc, _SAY_WHEN_TO_RETRY):
        message += " — try again in a moment"
    return message


def log_detail(exc: Exception, status: int, code: str) -> None:
    """The operator's side of a server-side failure: the full message, to the log (which
    redacts tokens; the store's messages name no password, `store/engine.py`)."""
    if status >= 500:
        log.warning("request failed", error=code, kind=type(exc).__name__, detail=str(exc))


def retry_after(exc: Exception) -> dict[str, str]:
    """The `Retry-After` header for a throttle or rate limit that says when, or for a token
    store that failed (a short wait); else none."""
    wait: float | None = None
    if isinstance(exc, z.StoreError) and classify(exc)[1] == "store_unavailable":
        wait = STORE_RETRY_AFTER
    elif isinstance(exc, z.ThrottledError | z.LoginThrottledError):
        wait = exc.retry_after - time.time()
    elif isinstance(exc, z.ZohoUnavailableError) and exc.retry_after is not None:
        wait = exc.retry_after - time.time()  # a refresh back-off says when it ends
    elif isinstance(exc, z.RateLimitedError):
        raw = exc.details.get("retry_after")
        wait = float(raw) if isinstance(raw, int | float) else None
    if wait is None:
        return {}
    return {"Retry-After": str(max(1, int(wait + 0.999)))}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return json_response(error_body(exc.code, exc.message, **exc.extra), exc.status, exc.headers)


async def _zohoauth_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = classify(exc)
    log_detail(exc, status, code)
    return json_response(
        error_body(code, public_message(exc, status, code)), status, retry_after(exc)
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    for problem in problems:
        loc = tuple(problem.get("loc", ()))
        if loc[:2] == ("path", "module"):
            return json_response(error_body("unknown_module", _UNKNOWN_MODULE), 404)
        if loc[:2] == ("path", "record_id"):
            return json_response(error_body("not_found", _BAD_ID), 404)
        if problem.get("type") == "json_invalid":
            return json_response(error_body("bad_json", "the request body is not valid JSON"), 400)
    described = "; ".join(f"{_location(p)}: {_plain_message(p)}" for p in problems[:5])
    return json_response(error_body("invalid_request", f"invalid request — {described}"), 422)


#: Our words for pydantic's error types. Its own messages speak of its internals ("unable to
#: interpret input", "object to extract fields from", the regex a value must match) and its
#: errors carry the input, the validator's context and links to its docs: none of that is
#: answered, only where (the field's location) and what (one of these). `{...}` are filled
#: from the error's context, which holds the schema's limits, never the input.
_PLAIN: dict[str, str] = {
    "missing": "is required",
    "string_type": "should be a string",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "list_type": "should be a list",
    "dict_type": "should be a JSON object",
    "model_type": "should be a JSON object",
    "model_attributes_type": "should be a JSON object",
    "string_pattern_mismatch": "is not in the expected format",
    "literal_error": "should be {expected}",
    "enum": "should be {expected}",
    "string_too_short": "should have at least {min_length} characters",
    "string_too_long": "should have at most {max_length} characters",
    "too_short": "should have at least {min_length} items",
    "too_long": "should have at most {max_length} items",
    "greater_than": "should be more than {gt}",
    "greater_than_equal": "should be at least {ge}",
    "less_than": "should be less than {lt}",
    "less_than_equal": "should be at most {le}",
}


def _location(problem: Any) -> str:
    """`data.0.Last_Name`, `query.per_page`: where the problem is (`body` for the body itself)."""
    return ".".join(str(p) for p in problem.get("loc", ()) if p != "body") or "body"


def _plain_message(problem: Any) -> str:
    template = _PLAIN.get(str(problem.get("type", "")), "is not valid")
    try:
        return template.format(**(problem.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return "is not valid"


def describe_validation_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what a 422 really is: FastAPI documents its own body
    (`detail` with loc/msg/type/input/ctx), which `_validation_error` never sends."""
    schemas = spec.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas:
        schemas.pop("ValidationError", None)
        schemas["HTTPValidationError"] = {
            "title": "HTTPValidationError",
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "enum": ["invalid_request"]},
                "message": {
                    "type": "string",
                    "description": "Each wrong field's location and what it should be, e.g. "
                    "`invalid request — data.0: should be a JSON object`.",
                },
            },
        }
    return spec


_UNKNOWN_MODULE = "no such module here; use Leads, Contacts, Deals or Accounts (GET /api/modules)"
_BAD_ID = "no such record: Zoho record ids are digits only"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 408: "timeout", 413: "too_large"}
    code = codes.get(exc.status_code, "http_error")
    message = {
        404: "no such page or API endpoint",
        405: "this endpoint does not accept that HTTP method",
    }.get(exc.status_code, str(exc.detail))
    return json_response(error_body(code, message), exc.status_code, exc.headers)


INTERNAL = "something went wrong on our side; try again in a moment"


def install(app: FastAPI) -> None:
    """Register the handlers (Starlette walks each exception's MRO to find one). Anything else
    is a bug: `middleware.RequestContext` answers it with 500 `internal` and logs it."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(z.ZohoAuthError, _zohoauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
