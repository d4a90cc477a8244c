"""Who is calling: the Authorization header, the token's user and org, and the token's scopes.

Zoho CRM takes only `Authorization: Zoho-oauthtoken <token>` [docs/zoho-reference.md §6].
A token is good only in the DC that issued it (each DC is its own Zoho). A user in several orgs
works in the first by default and picks another with `X-CRM-ORG: <zgid>`, as the official SDK does.
Scopes are checked per call: `ZohoCRM.<resource>.<operation>` [docs/zoho-reference.md §7],
compared case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers

from ..model import IssuedAccessToken, Org, User
from ..state import EmulatorState
from . import errors

_PREFIX: Final = "zoho-oauthtoken "
_BEARER: Final = "bearer "


@dataclass(slots=True)
class Caller:
    """An authenticated CRM call: the token, its user, and the org the call works in."""

    token: IssuedAccessToken
    user: User
    org: Org
    scopes: frozenset[str]  # lower-cased

    @property
    def zgid(self) -> str:
        return self.org.zgid

    @property
    def crm_user_id(self) -> str:
        return self.user.crm_user_ids.get(self.org.zgid, self.user.zuid)

    def stamp(self) -> dict[str, str]:
        """`{"name", "id"}` of the caller's CRM user, for Created_By / Modified_By."""
        return {"name": self.user.full_name, "id": self.crm_user_id}

    def owner(self) -> dict[str, str]:
        """The default Owner of a record the caller creates (user lookups carry the email)."""
        return {"name": self.user.full_name, "id": self.crm_user_id, "email": self.user.email}


def token_from(headers: Headers, accept_bearer: bool) -> str | None:
    """The access token in the Authorization header, or None when there is no header.

    Raises INVALID_TOKEN for a header in another scheme (e.g. `Bearer`, unless accepted).
    """
    raw = headers.get("authorization")
    if raw is None:
        return None
    lowered = raw[:16].lower()
    if lowered.startswith(_PREFIX):
        return raw[len(_PREFIX) :].strip()
    if accept_bearer and lowered.startswith(_BEARER):
        return raw[len(_BEARER) :].strip()
    raise errors.invalid_token()


def authenticate(state: EmulatorState, headers: Headers, dc: str) -> Caller:
    """The caller of a request at DC `dc`; else INVALID_TOKEN or AUTHENTICATION_FAILURE."""
    token_value = token_from(headers, state.config.accept_bearer)
    if token_value is None:
        # Which code a missing header gets is not documented [?].
        raise errors.authentication_failure()
    token = state.authenticate(token_value)
    if token is None or token.dc != dc:
        # A token used at another DC's API is unknown there [docs/zoho-reference.md §5:
        # each DC is separate].
        raise errors.invalid_token()
    user = state.users.get(token.zuid)
    if user is None:
        raise errors.invalid_token()
    wanted = headers.get("x-crm-org")
    if wanted is not None:
        zgid = wanted.strip()
        if zgid not in user.orgs:
            # The user is not a member of that org: Zoho's answer is undocumented [?].
            raise errors.authentication_failure()
    elif user.orgs:
        zgid = user.orgs[0]  # the default org is the first one the user joined
    else:
        raise errors.authentication_failure()
    org = state.orgs.get(zgid)
    if org is None or org.dc != dc:
        raise errors.authentication_failure()
    return Caller(token, user, org, _scopes(token.scopes))


_SCOPE_CACHE: dict[tuple[str, ...], frozenset[str]] = {}


def _scopes(raw: tuple[str, ...]) -> frozenset[str]:
    found = _SCOPE_CACHE.get(raw)
    if found is None:
        found = frozenset(s.lower() for s in raw)
        if len(_SCOPE_CACHE) < 4096:
            _SCOPE_CACHE[raw] = found
    return found


# -- scope rules [docs/zoho-reference.md §7] ----------------------------------------------

#: Which module-scope operations allow each record action. WRITE covers create and update [?].
_RECORD_OPS: Final[dict[str, tuple[str, ...]]] = {
    "read": ("all", "read"),
    "create": ("all", "create", "write"),
    "update": ("all", "update", "write"),
    "delete": ("all", "delete"),
}


def require_record_scope(caller: Caller, module: str, action: str) -> None:
    """Record endpoints: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.{module}.{op}`."""
    scopes = caller.scopes
    if "zohocrm.modules.all" in scopes:
        return
    prefix = f"zohocrm.modules.{module.lower()}."
    for op in _RECORD_OPS[action]:
        if prefix + op in scopes:
            return
    raise errors.scope_mismatch()


def require_upsert_scope(caller: Caller, module: str) -> None:
    """Upsert may insert or update, so it needs both rights."""
    require_record_scope(caller, module, "create")
    require_record_scope(caller, module, "update")


def require_scope(caller: Caller, *accepted: str) -> None:
    """Any one of `accepted` (lower-case scope names) lets the call through."""
    for scope in accepted:
        if scope in caller.scopes:
            return
    raise errors.scope_mismatch()


USERS_READ: Final = ("zohocrm.users.read", "zohocrm.users.all")
ORG_READ: Final = ("zohocrm.org.read", "zohocrm.org.all")
MODULES_READ: Final = (
    "zohocrm.settings.all",
    "zohocrm.settings.modules.read",
    "zohocrm.settings.modules.all",
)
FIELDS_READ: Final = (
    "zohocrm.settings.all",
    "zohocrm.settings.fields.read",
    "zohocrm.settings.fields.all",
)
