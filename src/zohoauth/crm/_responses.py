"""Pure decisions for the CRM client's failure paths: error mapping and redaction.

Kept out of `client.py` so the hot path stays short and these can be tested exhaustively without
HTTP. Nothing here does I/O.

Zoho answers request-level failures with an envelope `{"code","details","message","status"}`
(docs/zoho-reference.md §6, §6.5); `error_from_response` turns it into the matching class of the
error tree, keeping Zoho's `code`, the HTTP status and `details` on the exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ..errors import (
    CRMError,
    InvalidDataError,
    InvalidModuleError,
    InvalidTokenError,
    NoPermissionError,
    RateLimitedError,
    RecordNotFoundError,
    ScopeMismatchError,
    ZohoAuthError,
    ZohoUnavailableError,
)

#: Codes that mean "the data or parameters you sent are wrong" (docs/zoho-reference.md §6.5).
INVALID_DATA_CODES: Final = frozenset(
    {
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "REQUIRED_PARAM_MISSING",
        "LIMIT_EXCEEDED",
        "DUPLICATE_DATA",
        "INVALID_QUERY",
        "INVALID_REQUEST",
        "PATTERN_NOT_MATCHED",
    }
)

# Zoho tokens, codes and secrets look like 1000.<32 hex>.<32 hex> (docs/zoho-reference.md §1);
# anything shaped like one is cut from text we put into a message, whatever its source.
_TOKENISH = re.compile(r"\b1000\.[0-9a-fA-F]{16,}\.[0-9a-fA-F]{16,}\b")
_MAX_ZOHO_MESSAGE = 200


def redact(text: str, *secrets: str) -> str:
    """`text` with every token-shaped string (and each of `secrets`) replaced by `[redacted]`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _TOKENISH.sub("[redacted]", text)


def scope_hint(path: str) -> str:
    """The scope a CRM path needs (docs/zoho-reference.md §7), for ScopeMismatchError's advice."""
    if path.startswith("settings/"):
        return "ZohoCRM.settings.modules.READ (or ZohoCRM.settings.ALL)"
    if path.startswith("users"):
        return "ZohoCRM.users.READ"
    if path.startswith("org"):
        return "ZohoCRM.org.READ"
    module = path.split("/", 1)[0]
    return f"ZohoCRM.modules.ALL (or ZohoCRM.modules.{module}.ALL)"


def _envelope(body: Any) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) of an error body, tolerating anything Zoho or a proxy sends."""
    if isinstance(body, Mapping):
        if "code" not in body and isinstance(body.get("data"), list) and body["data"]:
            # Some failures arrive as a one-item `data` array rather than the top-level
            # envelope (a by-id PUT/DELETE on a missing record) (docs/zoho-reference.md §6.3).
            first = body["data"][0]
            if isinstance(first, Mapping):
                body = first
        code = body.get("code")
        message = body.get("message")
        details = body.get("details")
        return (
            code if isinstance(code, str) else "",
            message if isinstance(message, str) else "",
            dict(details) if isinstance(details, Mapping) else {},
        )
    return "", "", {}


def error_from_response(
    status: int,
    body: Any,
    *,
    method: str,
    path: str,
    record_id: str | None = None,
    secret: str = "",
) -> ZohoAuthError:
    """The exception for a failed CRM response (`body` already parsed, None if not JSON).

    `record_id` is set when the URL named one record, so INVALID_DATA about its id means "no
    such record" (RecordNotFoundError), not "bad input". `secret` (the access token sent) is
    redacted from anything Zoho echoed back.
    """
    code, zoho_message, details = _envelope(body)
    zoho_message = redact(zoho_message[:_MAX_ZOHO_MESSAGE], secret)
    where = f"{method} {path}"
    said = f": {zoho_message}" if zoho_message else ""
    tag = f"({code or 'no code'}, HTTP {status})"
    kw: dict[str, Any] = {"code": code, "status": status, "details": details}

    if not code and status >= 500:
        return ZohoUnavailableError(
            f"Zoho CRM failed on {where} with HTTP {status} and no error body; "
            "it may be down or overloaded — try again later"
        )
    if code == "INVALID_TOKEN":
        return InvalidTokenError(
            f"Zoho CRM rejected the access token on {where} even after a refresh {tag}; "
            "the connection may have been revoked — log in again",
            **kw,
        )
    if code == "AUTHENTICATION_FAILURE":
        return InvalidTokenError(
            f"Zoho CRM could not authenticate {where}{said} {tag}; log in again", **kw
        )
    if code == "OAUTH_SCOPE_MISMATCH":
        return ScopeMismatchError(
            f"the access token lacks the scope {where} needs {tag}; log in again and grant "
            f"{scope_hint(path)}",
            **kw,
        )
    if code == "INVALID_MODULE":
        module = path.split("/", 1)[0]
        return InvalidModuleError(
            f"Zoho CRM has no module {module!r} in this org {tag}; modules() lists the "
            "API names this org has",
            **kw,
        )
    if record_id is not None and code == "INVALID_DATA" and _about_id(details, zoho_message):
        return RecordNotFoundError(
            f"no record {record_id} in {path.split('/', 1)[0]} (or this user cannot see it) {tag}",
            **kw,
        )
    if code in INVALID_DATA_CODES:
        return InvalidDataError(f"Zoho CRM refused {where}{said} {tag}", **kw)
    if code == "TOO_MANY_REQUESTS" or status == 429:
        return RateLimitedError(
            f"Zoho CRM's API limit was hit on {where} and persisted after back-off {tag}; "
            "slow down or wait for credits to return (rolling 24 h)",
            **kw,
        )
    if code == "NO_PERMISSION":
        return NoPermissionError(
            f"this user's CRM profile may not do {where}{said} {tag}; ask the org's "
            "administrator for the permission (a new login will not help)",
            **kw,
        )
    if body is None or not isinstance(body, Mapping):
        return CRMError(f"Zoho CRM answered {where} with HTTP {status} and no JSON body", **kw)
    return CRMError(f"Zoho CRM failed {where}{said} {tag}", **kw)


def _about_id(details: Mapping[str, Any], message: str) -> bool:
    # Zoho: `{"id": ...}` or `{"resource_path_index": ...}`, "the id given seems to be invalid".
    return "id" in details or "resource_path_index" in details or " id " in f" {message} "
