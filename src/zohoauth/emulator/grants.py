"""Zoho Accounts' decisions: authorization requests, grant codes, token exchange, refresh with its
limits, revocation.

Pure state transitions on `EmulatorState` (no HTTP here; `accounts.py` is the HTTP face).
Token-endpoint errors are `GrantError(<Zoho's error string>)`, which Zoho sends as HTTP 200 bodies
(docs/zoho-reference.md §2c); a refused authorization request is
`AuthRequestError`, which Zoho shows on its own page and never sends to an unverified redirect URI
(docs/zoho-reference.md §1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Client, GrantCode, IssuedAccessToken, IssuedRefreshToken, User, zoho_token
from .state import EmulatorState


class GrantError(Exception):
    """A token-endpoint failure; `error` is the exact string Zoho puts in `{"error": ...}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class AuthRequestError(Exception):
    """An authorization request that cannot be shown: `title` and `message` go on the error page."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message


#: The throttle body, exactly as Zoho sends it (HTTP 200) [docs/zoho-reference.md
#: §Lifetimes and limits].
ACCESS_DENIED_BODY: dict[str, str] = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}

#: Longest value accepted for one authorization parameter. Zoho's limit is undocumented [?]; a
#: cap keeps echoed values (hidden fields, the redirect's Location header) reasonably sized.
MAX_AUTH_PARAM = 4096

# Expired codes and access tokens are swept once the tables grow past these sizes, so a long
# benchmark does not grow the emulator without bound.
_SWEEP_CODES_AT = 1024
_SWEEP_TOKENS_AT = 20_000


def parse_scopes(raw: str) -> tuple[str, ...]:
    """Scopes separated by commas (Zoho's examples) or spaces (RFC 6749) [?: both accepted]."""
    return tuple(s for s in raw.replace(",", " ").split() if s)


# -- authorization requests (the consent page) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A checked `GET /oauth/v2/auth` request: safe to show a page for and to redirect back to."""

    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    access_type: str  # "online" | "offline"
    prompt: str | None
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None  # "S256" | "plain" when code_challenge is set

    def params(self) -> dict[str, str]:
        """The request as parameters again: what the consent form carries in hidden fields."""
        out = {
            "client_id": self.client.client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": ",".join(self.scopes),
            "access_type": self.access_type,
        }
        optional = {
            "prompt": self.prompt,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


def _short(value: str, limit: int = 120) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def parse_auth_request(state: EmulatorState, params: Mapping[str, str]) -> AuthRequest:
    """Check an authorization request before any page is shown, or raise AuthRequestError.

    The client and the exact redirect URI are checked first: until both are known good, an error can
    only be shown here, never sent to the redirect URI (RFC 6749 §4.1.2.1) [docs/zoho-reference.md
    §Authorization endpoint].
    """
    for name, value in params.items():
        if len(value) > MAX_AUTH_PARAM:
            raise AuthRequestError(
                "Parameter too long",
                f"'{_short(name, 40)}' is longer than {MAX_AUTH_PARAM} characters.",
            )
    client_id = params.get("client_id", "")
    client = state.clients.get(client_id) if client_id else None
    if client is None:
        raise AuthRequestError(
            "Invalid client",
            f"No application is registered with client_id '{_short(client_id)}'. "
            "Check the client ID (the emulator registers clients with POST /_emulator/clients).",
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise AuthRequestError("Missing redirect URI", "The request has no redirect_uri.")
    # Exact string match against the registered URIs, no prefix or normalisation
    # [docs/zoho-reference.md §1].
    if redirect_uri not in client.redirect_uris:
        raise AuthRequestError(
            "Invalid redirect URI",
            f"The redirect_uri '{_short(redirect_uri)}' does not exactly match a URI registered "
            f"for {client.name}.",
        )
    response_type = params.get("response_type", "")
    if response_type != "code":  # [docs/zoho-reference.md §1]: must be `code`
        raise AuthRequestError(
            "Unsupported response type",
            f"response_type must be 'code', not '{_short(response_type)}'.",
        )
    scopes = parse_scopes(params.get("scope", ""))
    if not scopes:
        raise AuthRequestError("Missing scope", "The request names no scope.")
    # online by default [docs/zoho-reference.md §1]
    access_type = (params.get("access_type") or "online").lower()
    if access_type not in ("online", "offline"):
        # What Zoho does with another value is undocumented [?]; refusing surfaces the bug.
        raise AuthRequestError(
            "Invalid access type",
            f"access_type must be 'online' or 'offline', not '{_short(access_type)}'.",
        )
    challenge = params.get("code_challenge") or None
    method: str | None = None
    if challenge is not None:
        # plain by default [docs/zoho-reference.md §1]
        method = params.get("code_challenge_method") or "plain"
        if method not in ("S256", "plain"):
            raise AuthRequestError(
                "Invalid code challenge method",
                f"code_challenge_method must be 'S256' or 'plain', not '{_short(method)}'.",
            )
    return AuthRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        access_type=access_type,
        prompt=params.get("prompt") or None,
        state=params.get("state") or None,
        code_challenge=challenge,
        code_challenge_method=method,
    )


def refresh_on_consent(state: EmulatorState, request: AuthRequest, user: User) -> bool:
    """Whether this consent's code will yield a refresh token, recording the consent.

    Zoho returns a refresh token only on a user's first offline consent to a client, unless
    `prompt=consent` was sent [docs/zoho-reference.md §1]. The consent is
    remembered per (zuid, client_id) until the user removes the app (`revoke_user`). Whether
    revoking the refresh token alone makes the next consent "first" again is undocumented [?]; here
    it does not, so clients that need a new refresh token must send prompt=consent, as Zoho advises.
    """
    if request.access_type != "offline":
        return False
    key = (user.zuid, request.client.client_id)
    first = key not in state.consents
    state.consents.add(key)
    return (
        first or request.prompt == "consent" or not state.config.refresh_token_only_on_first_consent
    )


def authorize(state: EmulatorState, request: AuthRequest, user: User) -> GrantCode:
    """The user accepted: a grant code in the user's own DC, whatever DC served the page.

    Raises GrantError("access_denied") past the client's grant-code limit; the consent is then
    not recorded (no code came of it).
    """
    grant = issue_code(
        state,
        request.client,
        user,
        request.scopes,
        request.access_type,
        request.redirect_uri,
        request.code_challenge,
        request.code_challenge_method,
        issue_refresh=False,
    )
    grant.issue_refresh = refresh_on_consent(state, request, user)
    return grant


def _room(times: deque[float], now: float, window: float, limit: int) -> bool:
    """Whether a sliding `window` ending `now` holds fewer than `limit` of `times` (oldest
    first), dropping those that have left it. Zoho does not say whether its windows slide or
    are fixed [?]; a sliding one is never laxer."""
    while times and times[0] <= now - window:
        times.popleft()
    return len(times) < limit


# -- grant codes and the token endpoint ------------------------------------------------------


def check_client(state: EmulatorState, client_id: str, client_secret: str, dc: str) -> Client:
    """The client, if the id is known and the secret is the one `dc` expects; else a GrantError.

    An unknown client, or one not enabled in this DC (it has neither a common secret nor one for
    `dc`), is `invalid_client` [docs/zoho-reference.md §2c]. A wrong secret,
    including another DC's per-DC secret, is `invalid_client_secret`, as client libraries observed
    it [docs/zoho-reference.md §2c]. A missing secret is taken for an
    unauthenticated client: `invalid_client` [?].
    """
    client = state.clients.get(client_id)
    if client is None or not client_secret:
        raise GrantError("invalid_client")
    expected = client.secret_for(dc)
    if expected is None:
        raise GrantError("invalid_client")
    if not hmac.compare_digest(expected.encode(), client_secret.encode()):
        raise GrantError("invalid_client_secret")
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
    *,
    issue_refresh: bool = True,
) -> GrantCode:
    """A single-use grant code for `user`, valid only at the user's DC for `code_ttl`
    [docs/zoho-reference.md §4].

    `redirect_uri=None` marks a Self Client code, exchanged without one [docs/zoho-reference.md
    §Token endpoint]; Self Client codes keep the default `issue_refresh=True` (every offline Self
    Client code yields a refresh token). Past `max_grant_codes_per_window` codes per client in
    `grant_code_window`, Zoho refuses with `access_denied` for the rest of the window
    [docs/zoho-reference.md §4]: GrantError("access_denied").
    """
    now = state.clock.now()
    cfg = state.config
    if cfg.grant_limits:
        times = state.code_times.setdefault(client.client_id, deque())
        if not _room(times, now, cfg.grant_code_window, cfg.max_grant_codes_per_window):
            state.stats.grant_limited += 1
            raise GrantError("access_denied")
        times.append(now)
    if len(state.codes) >= _SWEEP_CODES_AT:
        for dead in [c for c, g in state.codes.items() if g.used or g.expires_at <= now]:
            del state.codes[dead]
    grant = GrantCode(
        code=zoho_token(),
        client_id=client.client_id,
        zuid=user.zuid,
        dc=user.dc,
        scopes=scopes,
        access_type=access_type if access_type in ("online", "offline") else "online",
        redirect_uri=redirect_uri,
        expires_at=now + state.config.code_ttl,
        code_challenge=code_challenge,
        code_challenge_method=(code_challenge_method or "plain") if code_challenge else None,
        issue_refresh=issue_refresh,
    )
    state.codes[grant.code] = grant
    return grant


def _pkce_ok(grant: GrantCode, verifier: str | None) -> bool:
    """RFC 7636 §4.6: S256 compares BASE64URL(SHA256(verifier)), plain the verifier itself."""
    if grant.code_challenge is None:
        return True
    if not verifier:
        return False
    if grant.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
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
    """`grant_type=authorization_code`: the token response [docs/zoho-reference.md §2],
    or GrantError."""
    client = check_client(state, client_id, client_secret, dc)
    grant = state.codes.get(code)
    now = state.clock.now()
    if grant is not None and grant.expires_at <= now:
        del state.codes[code]
        grant = None
    # Expired, reused or unknown codes, or another client's, are all invalid_code
    # [docs/zoho-reference.md §2c].
    if grant is None or grant.used or grant.client_id != client.client_id:
        raise GrantError("invalid_code")
    if grant.dc != dc:
        # A code redeemed at another DC's accounts server: Zoho answers invalid_client there
        # [docs/zoho-reference.md §5]; the code is not burnt and still works at its
        # own DC.
        raise GrantError("invalid_client")
    if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
        # Not burnt either: whether Zoho burns the code here is undocumented [?].
        raise GrantError("invalid_redirect_uri")  # [docs/zoho-reference.md §2c]
    if not _pkce_ok(grant, code_verifier):
        # Zoho's PKCE error string is undocumented [?]; the code is burnt like any failed use.
        grant.used = True
        raise GrantError("invalid_code")
    # Offline gives a refresh token, but only on first consent or with prompt=consent
    # [docs/zoho-reference.md §1].
    mints_refresh = grant.access_type == "offline" and grant.issue_refresh
    if mints_refresh:
        _count_new_refresh_token(state, grant)
    del state.codes[code]
    refresh: IssuedRefreshToken | None = None
    if mints_refresh:
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
    """`grant_type=refresh_token`: a new access token and no refresh token [docs/zoho-reference.md
    §Token endpoint], or GrantError."""
    client = check_client(state, client_id, client_secret, dc)
    rt = state.refresh_tokens.get(refresh_token)
    # Revoked, unknown, another client's, or another DC's (unknown there): invalid_code
    # [docs/zoho-reference.md §2c].
    if rt is None or rt.client_id != client.client_id or rt.dc != dc:
        raise GrantError("invalid_code")
    now = state.clock.now()
    # At most max_refreshes_per_window access tokens per refresh token in any refresh_window, then
    # "Access Denied" until the oldest mint leaves the window [docs/zoho-reference.md §4].
    # Refused attempts are not counted; nor is the code exchange's own access token
    # [?].
    cfg = state.config
    if not _room(rt.mint_times, now, cfg.refresh_window, cfg.max_refreshes_per_window):
        state.stats.throttled += 1
        raise GrantError("Access Denied")
    rt.mint_times.append(now)
    access = _mint_access(state, rt.client_id, rt.zuid, rt.dc, rt.scopes, rt)
    return _token_body(state, access, api_domain)


# -- revocation ------------------------------------------------------------------------------


def revoke_token(
    state: EmulatorState,
    token: str,
    *,
    dc: str | None = None,
    client_id: str | None = None,
    kind: str | None = None,
) -> bool:
    """Revoke a refresh token (and every access token it minted) or one access token
    [docs/zoho-reference.md §3].

    `dc` limits it to tokens of that DC (each DC's accounts server knows only its own tokens);
    `client_id` to that client's tokens; `kind` ("refresh_token" | "access_token") to one kind.
    Returns False when no such token is live.
    """
    if kind in (None, "refresh_token"):
        rt = state.refresh_tokens.get(token)
        if rt is not None and _matches(rt.dc, rt.client_id, dc, client_id):
            del state.refresh_tokens[token]
            for at in rt.access_tokens:
                state.access_tokens.pop(at, None)
            return True
    if kind in (None, "access_token"):
        found = state.authenticate(token)
        if found is not None and _matches(found.dc, found.client_id, dc, client_id):
            del state.access_tokens[token]
            parent = state.refresh_tokens.get(found.refresh_token or "")
            if parent is not None and token in parent.access_tokens:
                parent.access_tokens.remove(token)
            return True
    return False


def _matches(tok_dc: str, tok_client: str, dc: str | None, client_id: str | None) -> bool:
    return (dc is None or tok_dc == dc) and (client_id is None or tok_client == client_id)


def revoke_user(state: EmulatorState, user: User) -> int:
    """The user removes every app at Zoho: all their tokens, codes and consents die.

    Returns the number of refresh and access tokens revoked (an access token that dies with its
    refresh token is not counted separately).
    """
    doomed = [t for t, rt in state.refresh_tokens.items() if rt.zuid == user.zuid]
    for t in doomed:
        revoke_token(state, t)
    loose = [t for t, at in state.access_tokens.items() if at.zuid == user.zuid]
    for t in loose:
        state.access_tokens.pop(t, None)
    for c in [c for c, g in state.codes.items() if g.zuid == user.zuid]:
        del state.codes[c]
    state.consents = {k for k in state.consents if k[0] != user.zuid}
    return len(doomed) + len(loose)


# -- minting ---------------------------------------------------------------------------------


def _count_new_refresh_token(state: EmulatorState, grant: GrantCode) -> None:
    """Count a refresh token about to be minted for (user, client), or refuse it.

    Past `max_new_refresh_tokens_per_window` in `new_refresh_token_window`, Zoho answers "Access
    Denied" with HTTP 200 [docs/zoho-reference.md §4]; that the body is the
    refresh throttle's is a guess [?]. The code is not used up by the refusal [?].
    """
    cfg = state.config
    if not cfg.grant_limits:
        return
    now = state.clock.now()
    times = state.refresh_token_times.setdefault((grant.zuid, grant.client_id), deque())
    if not _room(times, now, cfg.new_refresh_token_window, cfg.max_new_refresh_tokens_per_window):
        state.stats.grant_limited += 1
        raise GrantError("Access Denied")
    times.append(now)


def _new_refresh_token(state: EmulatorState, grant: GrantCode) -> IssuedRefreshToken:
    mine = sorted(
        (
            rt
            for rt in state.refresh_tokens.values()
            if rt.zuid == grant.zuid and rt.client_id == grant.client_id
        ),
        key=lambda rt: rt.created_at,
    )
    # The 21st refresh token deletes the oldest and its access tokens [docs/zoho-reference.md
    # §Lifetimes and limits]. Per user and client, as that section recommends; Zoho's page says
    # "per user" [?].
    excess = len(mine) + 1 - state.config.max_refresh_tokens_per_user
    for old in mine[: max(excess, 0)]:
        revoke_token(state, old.token)
    rt = IssuedRefreshToken(
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
    parent: IssuedRefreshToken | None,
) -> IssuedAccessToken:
    now = state.clock.now()
    if len(state.access_tokens) >= _SWEEP_TOKENS_AT:
        for dead in [t for t, at in state.access_tokens.items() if at.expires_at <= now]:
            del state.access_tokens[dead]
    at = IssuedAccessToken(
        token=zoho_token(),
        client_id=client_id,
        zuid=zuid,
        dc=dc,
        scopes=scopes,
        expires_at=now + state.config.access_token_ttl,
        refresh_token=parent.token if parent else None,
    )
    state.access_tokens[at.token] = at
    if parent is not None:
        # Only live tokens count towards the cap: forget expired and revoked ones first.
        live: deque[str] = deque(
            t
            for t in parent.access_tokens
            if (old := state.access_tokens.get(t)) is not None and old.expires_at > now
        )
        live.append(at.token)
        # One more than the cap evicts the oldest live token: 15 per refresh token by CRM's page,
        # 10 by the Accounts page; config.max_live_access_tokens picks [docs/zoho-reference.md
        # §Lifetimes and limits].
        while len(live) > state.config.max_live_access_tokens:
            state.access_tokens.pop(live.popleft(), None)
        parent.access_tokens = live
    return at


def _token_body(state: EmulatorState, access: IssuedAccessToken, api_domain: str) -> dict[str, Any]:
    """Zoho's token response: `expires_in` in seconds, no legacy `expires_in_sec`
    [docs/zoho-reference.md §2]."""
    return {
        "access_token": access.token,
        "scope": " ".join(access.scopes),
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": int(state.config.access_token_ttl),
    }
