"""What counts as a correct answer under a fault, decided per response.

The app's documented errors (README "The web app", `zohoauth.web.errors`) are JSON
`{"error": "<code>", "message": "<what to do>"}`. Under a fault a user may see:

- `ok` — any 2xx;
- `allowed` — 503 `zoho_unavailable` / `throttled` / `rate_limited` / `store_unavailable` or
  502 `zoho_error`, in that JSON shape, whose message says to try again (`throttled` and
  `rate_limited` also with a `Retry-After` header); and 401 `reauth_required` for a user whose
  grant was revoked at Zoho (the one case where "log in again" is the right answer);
- `known` — a login answer that issue 12's "login error statuses" changes: a login whose code
  exchange met an accounts outage answers 400 `login_failed` today, and one that met a store
  outage a 503 whose message does not say to try again; the issue wants 503 with Retry-After
  (`tests/chaos/test_chaos.py` holds that as a strict xfail);
- `violation` — everything else: any 500, any other 5xx, a 5xx without our JSON shape, an
  undocumented code, a 401 for a user whose grant is alive (a lost token or session), any other
  4xx (the load only sends valid requests), a message that does not say what to do, or no
  answer at all (connection error or time-out).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

#: The web app's documented error codes by status (zohoauth.web.errors).
DOCUMENTED: dict[int, frozenset[str]] = {
    400: frozenset({"bad_json", "state_mismatch", "mixup", "access_denied", "login_failed"}),
    401: frozenset({"not_logged_in", "reauth_required"}),
    403: frozenset({"csrf", "no_permission"}),
    404: frozenset({"unknown_module", "not_found", "unknown_account", "unknown_org"}),
    413: frozenset({"too_large"}),
    422: frozenset({"invalid_request", "invalid_data"}),
    502: frozenset({"zoho_error"}),
    503: frozenset({"zoho_unavailable", "rate_limited", "throttled", "store_unavailable"}),
}
NEEDS_RETRY_AFTER = frozenset({"throttled", "rate_limited"})

OK, ALLOWED, KNOWN, VIOLATION = "ok", "allowed", "known", "violation"

#: What an answer to a browser must not reveal about the server behind it.
_INTERNALS = (
    (
        "a database URL",
        re.compile(r"\b(?:postgres(?:ql)?|mysql|mariadb|sqlite)(?:\+\w+)?://", re.I),
    ),
    ("a server setting's name", re.compile(r"\bZOHOAUTH_[A-Z_]+")),
    ("a stack trace", re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")),
)


def reveals(message: str) -> str | None:
    """What `message` reveals about the server's internals (None: nothing)."""
    found = [what for what, pattern in _INTERNALS if pattern.search(message)]
    return " and ".join(found) or None


def _shape(resp: httpx.Response) -> tuple[str, str] | None:
    """(code, message) if the body is our JSON error shape, else None."""
    try:
        body: Any = resp.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code, message = body.get("error"), body.get("message")
    if isinstance(code, str) and code and isinstance(message, str) and len(message) >= 10:
        return code, message
    return None


def message_of(resp: httpx.Response) -> str:
    """The answer's `message` (or the start of its body), for the report."""
    shape = _shape(resp)
    return shape[1] if shape else resp.text[:200]


def judge(resp: httpx.Response, *, revoked: bool, login: bool) -> tuple[str, str]:
    """(kind, verdict) for one answer: kind is `200`, `503 zoho_unavailable`, `500 ?`, ...;
    `revoked`: the user's grant was revoked at Zoho; `login`: this was the login callback."""
    status = resp.status_code
    if 200 <= status < 300:
        return str(status), OK
    shape = _shape(resp)
    if shape is None:
        return f"{status} (not our JSON error shape)", VIOLATION
    code, message = shape
    kind = f"{status} {code}"
    if code not in DOCUMENTED.get(status, frozenset()):
        return kind, VIOLATION
    if status in (502, 503):
        if "try again" not in message.lower():
            return kind + " (message does not say to try again)", KNOWN if login else VIOLATION
        if code in NEEDS_RETRY_AFTER and not resp.headers.get("retry-after", "").isdigit():
            return kind + " (no Retry-After)", VIOLATION
        return kind, ALLOWED
    if status == 401 and code == "reauth_required" and revoked:
        return kind, ALLOWED
    if login and status == 400 and code == "login_failed":
        return kind, KNOWN
    return kind, VIOLATION


def judge_error(exc: BaseException) -> tuple[str, str]:
    """A request that got no answer: the app dropped it or did not answer in time."""
    return f"no answer ({type(exc).__name__})", VIOLATION
