"""Zoho Accounts' decisions: grant codes, token exchange, refresh with its limits, revocation.

Pure state transitions on `EmulatorState` (no HTTP here; `accounts.py` is the HTTP face).
Errors are `GrantError(<Zoho's error string>)`; Zoho sends them as HTTP 200 bodies
(`reference/zoho-api.md` §2c).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from typing import Any

from .model import AccessToken, Client, GrantCode, RefreshToken, User, zoho_token
from .state import EmulatorState


class GrantError(Exception):
    """A token-endpoint failure; `error` is the exact string Zoho puts in `{"error": ...}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


#: The throttle body, exactly as Zoho sends it (HTTP 200) [D C1-v3/v4, K43].
ACCESS_DENIED_BODY: dict[str, str] = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


def parse_scopes(raw: str) -> tuple[str, ...]:
    """Scopes separated by commas (Zoho's examples) or spaces (RFC 6749) [?: both accepted]."""
    return tuple(s for s in raw.replace(",", " ").split() if s)


def check_client(state: EmulatorState, client_id: str, client_secret: str | None) -> Client:
    """The client, if the id is known and the secret matches; else `invalid_client`."""
    client = state.clients.get(client_id)
    if client is None:
        raise GrantError("invalid_client")
    if client_secret is not None and not hmac.compare_digest(
        client.client_secret.encode(), client_secret.encode()
    ):
        # Zoho answers a wrong secret with invalid_client too [O asciisd#6, #18].
        raise GrantError("invalid_client")
    return client


def issue_code(
    state: EmulatorState,
    client: Client,
    user: User,
    scopes: tuple[str, ...],
    access_type: str,
    redirect_uri: str | None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> GrantCode:
    """A single-use grant code for `user`, valid only at the user's DC for `code_ttl`."""
    grant = GrantCode(
        code=zoho_token(),
        client_id=client.client_id,
        zuid=user.zuid,
        dc=user.dc,
        scopes=scopes,
        access_type=access_type if access_type in ("online", "offline") else "online",
        redirect_uri=redirect_uri,
        expires_at=state.clock.now() + state.config.code_ttl,
        code_challenge=code_challenge,
        code_challenge_method=(code_challenge_method or "plain") if code_challenge else None,
    )
    state.codes[grant.code] = grant
    return grant


def _pkce_ok(grant: GrantCode, verifier: str | None) -> bool:
    if grant.code_challenge is None:
        return True
    if not verifier:
        return False
    if grant.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed.encode(), grant.code_challenge.encode())


def exchange_code(
    state: EmulatorState,
    dc: str,
    api_domain: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> dict[str, Any]:
    """`grant_type=authorization_code`: the token response, or GrantError."""
    client = check_client(state, client_id, client_secret)
    grant = state.codes.get(code)
    now = state.clock.now()
    if (
        grant is None
        or grant.used
        or grant.expires_at <= now
        or grant.client_id != client.client_id
    ):
        raise GrantError("invalid_code")
    if grant.dc != dc:
        # A code redeemed at another DC's accounts server: Zoho answers invalid_client there,
        # the client being unknown in that DC without Multi-DC [O asciisd#18]. The code stays
        # usable at the right DC.
        raise GrantError("invalid_client")
    if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
        raise GrantError("invalid_redirect_uri")
    if not _pkce_ok(grant, code_verifier):
        # Zoho's PKCE error string is undocumented [?]; the code is burnt like any failed use.
        grant.used = True
        raise GrantError("invalid_code")
    grant.used = True
    del state.codes[code]
    refresh: RefreshToken | None = None
    if grant.access_type == "offline":
        refresh = _new_refresh_token(state, grant)
    access = _mint_access(state, grant.client_id, grant.zuid, grant.dc, grant.scopes, refresh)
    body = _token_body(state, access, api_domain)
    if refresh is not None:
        body["refresh_token"] = refresh.token
    return body


def refresh_access_token(
    state: EmulatorState,
    dc: str,
    api_domain: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> dict[str, Any]:
    """`grant_type=refresh_token`: a new access token (no refresh token), or GrantError."""
    client = check_client(state, client_id, client_secret)
    rt = state.refresh_tokens.get(refresh_token)
    if rt is None or rt.client_id != client.client_id or rt.dc != dc:
        raise GrantError("invalid_code")
    now = state.clock.now()
    window = state.config.refresh_window
    # A fixed window opened by the first mint: once full, "Access Denied" for the rest of it.
    while rt.mint_times and rt.mint_times[0] <= now - window:
        rt.mint_times.popleft()
    if rt.mint_times and len(rt.mint_times) >= state.config.max_refreshes_per_window:
        state.stats.throttled += 1
        raise GrantError("Access Denied")
    rt.mint_times.append(now)
    access = _mint_access(state, rt.client_id, rt.zuid, rt.dc, rt.scopes, rt)
    return _token_body(state, access, api_domain)


def revoke_token(state: EmulatorState, token: str) -> bool:
    """Revoke a refresh token (and every access token it minted) or one access token."""
    rt = state.refresh_tokens.pop(token, None)
    if rt is not None:
        for at in rt.access_tokens:
            state.access_tokens.pop(at, None)
        return True
    at_ = state.access_tokens.pop(token, None)
    if at_ is not None:
        if at_.refresh_token and at_.refresh_token in state.refresh_tokens:
            parent = state.refresh_tokens[at_.refresh_token].access_tokens
            if token in parent:
                parent.remove(token)
        return True
    return False


def revoke_user(state: EmulatorState, user: User) -> int:
    """The user removes every app at Zoho: all their tokens and codes die. Returns the count."""
    doomed = [t for t, rt in state.refresh_tokens.items() if rt.zuid == user.zuid]
    for t in doomed:
        revoke_token(state, t)
    loose = [t for t, at in state.access_tokens.items() if at.zuid == user.zuid]
    for t in loose:
        state.access_tokens.pop(t, None)
    for c in [c for c, g in state.codes.items() if g.zuid == user.zuid]:
        del state.codes[c]
    return len(doomed) + len(loose)


def _new_refresh_token(state: EmulatorState, grant: GrantCode) -> RefreshToken:
    mine = sorted(
        (
            rt
            for rt in state.refresh_tokens.values()
            if rt.zuid == grant.zuid and rt.client_id == grant.client_id
        ),
        key=lambda rt: rt.created_at,
    )
    # The 21st refresh token deletes the oldest and its access tokens (Kaizen 43).
    excess = len(mine) + 1 - state.config.max_refresh_tokens_per_user
    for old in mine[: max(excess, 0)]:
        revoke_token(state, old.token)
    rt = RefreshToken(
        token=zoho_token(),
        client_id=grant.client_id,
        zuid=grant.zuid,
        dc=grant.dc,
        scopes=grant.scopes,
        created_at=state.clock.now(),
    )
    state.refresh_tokens[rt.token] = rt
    return rt


def _mint_access(
    state: EmulatorState,
    client_id: str,
    zuid: str,
    dc: str,
    scopes: tuple[str, ...],
    parent: RefreshToken | None,
) -> AccessToken:
    at = AccessToken(
        token=zoho_token(),
        client_id=client_id,
        zuid=zuid,
        dc=dc,
        scopes=scopes,
        expires_at=state.clock.now() + state.config.access_token_ttl,
        refresh_token=parent.token if parent else None,
    )
    state.access_tokens[at.token] = at
    if parent is not None:
        live: deque[str] = parent.access_tokens
        live.append(at.token)
        # Minting one more than the cap evicts the oldest live token [D C1: 15].
        while len(live) > state.config.max_live_access_tokens:
            state.access_tokens.pop(live.popleft(), None)
    return at


def _token_body(state: EmulatorState, access: AccessToken, api_domain: str) -> dict[str, Any]:
    return {
        "access_token": access.token,
        "scope": " ".join(access.scopes),
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": int(state.config.access_token_ttl),
    }
