"""Revoking a grant at Zoho, with one rule for every caller: never lose the record of a live grant.

The web app's logout with revoke, `zohoauth tokens revoke` and `ZohoAuth.revoke` all come here:

- Zoho confirmed the revocation, or answered that the token is not valid (revoked before, the
  user removed the app): the grant is dead at Zoho, so the credential and every connection
  sharing it are deleted here.
- Zoho could not be reached, answered 5xx, or refused for another reason: the grant may still
  be live, so nothing is deleted. The credential is marked `revoke_pending` instead — no token
  is served from it any more and `zohoauth tokens list` shows it — and the result says why, so
  the revocation can be retried or the user can remove the app under Connected Apps at Zoho.

A plain logout (no revoke) is not this: it forgets one connection here and leaves the grant.
A refresh token a re-login replaced is revoked by the same reading of Zoho's answer
(`revoke_at_zoho`), from its own queue (`zohoauth.revocations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from . import oauth
from .credentials import CredentialKey, Status
from .datacenters import DataCenter, DataCenterRegistry
from .errors import NotFoundError, ZohoUnavailableError
from .logs import get_logger
from .store.base import TokenStore

if TYPE_CHECKING:
    from ._http import ZohoHTTP

log = get_logger("zohoauth.revoke")


class RevokeOutcome(StrEnum):
    """What a revocation did."""

    REVOKED = "revoked"  # Zoho confirmed; deleted here
    ALREADY_INVALID = "already_invalid"  # Zoho no longer honoured the token; deleted here
    UNAVAILABLE = "unavailable"  # Zoho unreachable or failing; kept, marked revoke_pending
    REFUSED = "refused"  # Zoho answered without confirming; kept, marked revoke_pending


@dataclass(frozen=True, slots=True)
class RevokeResult:
    """One revocation: whose grant, what happened, and which connections it concerned."""

    key: CredentialKey
    email: str
    outcome: RevokeOutcome
    #: Every connection sharing the credential: deleted when `deleted`, else kept.
    connection_ids: tuple[str, ...]
    #: What happened and what to do, for people (no token in it).
    detail: str

    @property
    def revoked(self) -> bool:
        """The grant no longer works at Zoho (revoked now, or it already did not)."""
        return self.outcome in (RevokeOutcome.REVOKED, RevokeOutcome.ALREADY_INVALID)

    @property
    def deleted(self) -> bool:
        """The local copy is gone; by the rule, exactly when the grant is dead at Zoho."""
        return self.revoked


_KEPT = (
    "nothing was deleted: the grant stays on record, marked revoke_pending, until a revocation "
    "succeeds or the user removes the app under Connected Apps in their Zoho account"
)
_DETAIL = {
    RevokeOutcome.REVOKED: "Zoho revoked the grant; it was deleted here",
    RevokeOutcome.ALREADY_INVALID: (
        "Zoho no longer honoured the grant (revoked before, or the app was removed at Zoho); "
        "it was deleted here"
    ),
    RevokeOutcome.REFUSED: f"Zoho did not confirm the revocation; {_KEPT}",
    RevokeOutcome.UNAVAILABLE: "{error}; " + _KEPT,
}


async def revoke_at_zoho(http: ZohoHTTP, dc: DataCenter, token: str) -> tuple[RevokeOutcome, str]:
    """Revoke a refresh token at its DC's accounts server; what happened, and Zoho's failure
    as text ("" unless unavailable). Never raises for Zoho's failures: the outcome says.

    The one reading of Zoho's answer, for a stored credential (`revoke_credential`) and for a
    refresh token a re-login replaced (`zohoauth.revocations`): only REVOKED and
    ALREADY_INVALID mean the grant is dead at Zoho.
    """
    try:
        answer = await oauth.revoke_token(http, dc, token)
    except ZohoUnavailableError as exc:
        return RevokeOutcome.UNAVAILABLE, str(exc)
    return _OUTCOME[answer], ""


_OUTCOME = {
    oauth.RevokeAnswer.REVOKED: RevokeOutcome.REVOKED,
    oauth.RevokeAnswer.INVALID: RevokeOutcome.ALREADY_INVALID,
    oauth.RevokeAnswer.REFUSED: RevokeOutcome.REFUSED,
}


async def revoke_credential(
    store: TokenStore, registry: DataCenterRegistry, http: ZohoHTTP, key: CredentialKey
) -> RevokeResult:
    """Revoke the credential's grant at Zoho and apply the rule above.

    NotFoundError when there is no such credential; a StoreError from the store propagates (and
    then nothing was deleted either). Zoho's failures are not raised: they are the result.
    """
    cred = await store.get_credential(key)
    if cred is None:
        raise NotFoundError(f"no credential {key} in the token store; nothing to revoke")
    ids = tuple(c.id for c in await store.connections_of(key))
    outcome, error = await revoke_at_zoho(http, registry.get(key.dc), cred.tokens.refresh_token)
    result = RevokeResult(key, cred.email, outcome, ids, _DETAIL[outcome].format(error=error))
    if result.deleted:
        await store.delete_credential(key)
        log.info("grant revoked", outcome=outcome.value, credential=str(key), dc=key.dc)
    else:
        await store.set_status(key, Status.REVOKE_PENDING)
        log.warning("revocation not confirmed", outcome=outcome.value, credential=str(key))
    return result


__all__ = ["RevokeOutcome", "RevokeResult", "revoke_at_zoho", "revoke_credential"]
