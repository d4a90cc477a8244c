"""Zoho CRM's error envelope and the JSON responses every CRM route sends.

Request-level failures are one object, `{"code", "details", "message", "status": "error"}`
[docs/zoho-reference.md §6]; per-record failures use the same shape inside `data[]`.
Handlers raise `CrmError`; the router turns it into a response, so no handler builds one by hand.
Codes and messages are Zoho's where known (docs/zoho-reference.md §6.5); guesses are
marked [?].
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.responses import Response

#: Zoho's content type on every CRM JSON answer (and on Accounts' too) [docs/zoho-reference.md
#: §Token endpoint errors].
JSON_TYPE: Final = "application/json;charset=UTF-8"


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as Zoho sends it (no ASCII escaping of names like "Müller")."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON_TYPE)


def no_content(status: int = 204) -> Response:
    """204 (nothing found) or 304 (not modified): an EMPTY body, not `{}` [docs/zoho-reference.md
    §Records]."""
    return Response(b"", status_code=status)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


class CrmError(Exception):
    """A request-level CRM failure: HTTP `status` with Zoho's envelope."""

    def __init__(
        self, code: str, message: str, status: int = 400, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)

    def response(self) -> Response:
        return json_response(self.body(), self.status)


# -- the catalogue (docs/zoho-reference.md §6.5) ------------------------------------


def invalid_token() -> CrmError:
    # [docs/zoho-reference.md §6.5]: unknown, expired, evicted and revoked tokens all
    # look like this.
    return CrmError("INVALID_TOKEN", "invalid oauth token", 401)


def authentication_failure() -> CrmError:
    # No Authorization header, or an X-CRM-ORG the user is not a member of [?].
    return CrmError("AUTHENTICATION_FAILURE", "Authentication failed", 401)


def scope_mismatch() -> CrmError:
    # [docs/zoho-reference.md §6.5].
    return CrmError("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", 401)


def invalid_module(resource_path_index: int = 0) -> CrmError:
    # Message as observed [docs/zoho-reference.md §6.5]; record.json's enum spells it
    # with a capital T.
    return CrmError(
        "INVALID_MODULE",
        "the module name given seems to be invalid",
        400,
        {"resource_path_index": resource_path_index},
    )


def invalid_module_param(param: str = "module") -> CrmError:
    return CrmError(
        "INVALID_MODULE", "the module name given seems to be invalid", 400, {"param_name": param}
    )


def invalid_url() -> CrmError:
    # HTTP 404 is a guess [?]; the message is the spec's [docs/zoho-reference.md §6.5].
    return CrmError(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404
    )


def method_not_allowed() -> CrmError:
    return CrmError(
        "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", 405
    )


def required_param(name: str) -> CrmError:
    return CrmError(
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        400,
        {"param_name": name},
    )


def invalid_param(name: str, **extra: Any) -> CrmError:
    """A query parameter with a value of the wrong type or outside its allowed set [?]."""
    return CrmError("INVALID_DATA", "invalid data", 400, {"param_name": name, **extra})


def invalid_id(resource_path_index: int) -> CrmError:
    # The shape Zoho's v8 APIs use for an unknown id in the path (Zoho's OpenAPI examples).
    return CrmError(
        "INVALID_DATA",
        "the id given seems to be invalid",
        400,
        {"resource_path_index": resource_path_index},
    )


def invalid_body() -> CrmError:
    # Malformed, empty or non-object JSON. "body" is a message Zoho's spec enumerates for
    # INVALID_DATA [docs/zoho-reference.md §6.3]; which case sends it is not documented [?].
    return CrmError("INVALID_DATA", "body", 400, {"expected_data_type": "jsonobject"})


def limit_exceeded(message: str, **details: Any) -> CrmError:
    return CrmError("LIMIT_EXCEEDED", message, 400, details)


def body_too_large(limit: int) -> CrmError:
    # Zoho maps 413 to an over-size upload and the spec names this code [docs/zoho-reference.md
    # §Error catalogue]; details [?].
    return CrmError(
        "FILE_SIZE_MORE_THAN_ALLOWED_SIZE",
        "the request body is larger than allowed",
        413,
        {"allowed_size": limit},
    )


def too_many_requests(reason: str, limit: int) -> CrmError:
    # 429 TOO_MANY_REQUESTS [docs/zoho-reference.md §6.5, §API credits and concurrency];
    # the body was never captured, so this one is a guess [?].
    return CrmError(
        "TOO_MANY_REQUESTS",
        f"too many requests: the org's {reason} limit of {limit} is used up",
        429,
        {"limit": limit, "limit_type": reason},
    )


def internal_error() -> CrmError:
    return CrmError("INTERNAL_ERROR", "Internal server error occurred.", 500)


# -- per-record errors (inside data[]) ---------------------------------------------------------


def record_error(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return error_body(code, message, details)


def mandatory_missing(api_name: str, json_path: str) -> dict[str, Any]:
    return record_error(
        "MANDATORY_NOT_FOUND",
        "required field not found",
        {"api_name": api_name, "json_path": json_path},
    )


def invalid_value(api_name: str, json_path: str, **extra: Any) -> dict[str, Any]:
    return record_error(
        "INVALID_DATA", "invalid data", {"api_name": api_name, "json_path": json_path, **extra}
    )
