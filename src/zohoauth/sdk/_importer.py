"""Import the official SDK's tokens into zohoauth's encrypted store (`zohoauth tokens import-sdk`).

Per row (decisions in `_formats.plan_row`, the I/O here):

1. a row whose refresh token and org are already stored is `unchanged` — no request to Zoho,
   so a second run costs nothing and changes nothing;
2. otherwise the user is identified (`GET users?type=CurrentUser`; zohoauth keys credentials
   by zuid, which the SDK never stored) with the row's access token while it is valid, else
   after one refresh with the secret `ImportPolicy` allows; the org comes from the SDK's
   `email:zgid` user name (checked with `GET org` once per org) or the user's default org;
3. rows are saved in file order (`save_login` is an upsert: `imported` or `updated`; when a
   user appears twice, the later row wins and says so).

An import deliberately does not revoke a refresh token it replaces (unlike Login with Zoho,
`zohoauth.revocations`): the replaced token may be the one the SDK app still runs on until it
is switched over, and revoking it would log that app's users out.

Zoho's limits: at most `concurrency` requests in flight, at most one refresh per row and only
when the stored access token can't be used; network failures get a few spaced retries, and
"Access Denied" is reported for a later rerun, not retried. Every row gets a result — rows that
can't be imported are reported with the reason, never dropped.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import identity, oauth
from .._http import ZohoHTTP
from ..credentials import CredentialKey, Login, OrgInfo, TokenSet
from ..datacenters import DataCenterRegistry
from ..errors import (
    LoginError,
    ReauthRequiredError,
    SDKFormatError,
    ThrottledError,
    TokenError,
    TokenRejectedError,
    ZohoAuthError,
    ZohoUnavailableError,
)
from ..retry import ON_UNAVAILABLE, retrying
from ..store.base import TokenStore
from ._formats import (
    DB_COLUMNS,
    ImportPolicy,
    RowPlan,
    RowResult,
    SDKRow,
    parse_csv,
    plan_row,
    rows_from_db,
)

T = TypeVar("T")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_]+$")  # what the SDK's DBStore accepts


# -- reading -------------------------------------------------------------------------------


def read_csv(path: Path) -> tuple[list[SDKRow], list[RowResult]]:
    """Rows of an SDK FileStore CSV (SDKFormatError if missing, unreadable or not the format)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SDKFormatError(f"no such file: {path}") from None
    except OSError as exc:
        raise SDKFormatError(f"cannot read {path} ({exc.strerror or exc})") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SDKFormatError(f"{path} is not a UTF-8 text file (the SDK writes CSV)") from None
    return parse_csv(content)


async def read_db(url: str, table: str = "oauthtoken") -> list[SDKRow]:
    """Rows of an SDK DBStore table (MySQL; any SQLAlchemy URL zohoauth accepts works)."""
    from ..store.engine import make_engine, to_store_error
    from ..store.urls import normalize_url

    if not _TABLE_RE.match(table):
        raise SDKFormatError(f"table name {table!r} is invalid (letters, digits and _ only)")
    parsed = normalize_url(url)
    engine = make_engine(parsed, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 (checked)
            names = [str(k).lower() for k in result.keys()]  # noqa: SIM118 (a Result)
            records = result.all()
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        orig = getattr(exc, "orig", None)
        if orig is not None and getattr(orig, "args", (None,))[0] in (1146, 1049):
            raise SDKFormatError(
                f"there is no table {table!r} in {parsed.database!r} (the SDK's DBStore table; "
                "pass --table if it has another name)"
            ) from None
        raise to_store_error(exc, parsed, "read the SDK's token table") from exc
    finally:
        await engine.dispose()
    missing = [c for c in DB_COLUMNS if c != "api_domain" and c not in names]
    if missing:
        raise SDKFormatError(
            f"table {table!r} is not the SDK's token table (no column {', '.join(missing)})"
        )
    index = {name: i for i, name in enumerate(names)}
    picked = [[None if c not in index else rec[index[c]] for c in DB_COLUMNS] for rec in records]
    return rows_from_db([[None if v is None else str(v) for v in rec] for rec in picked])


# -- what is stored already ----------------------------------------------------------------


@dataclass
class _Stored:
    """The store's credentials, indexed for the import (in memory for the run only)."""

    by_refresh: dict[str, CredentialKey] = field(default_factory=dict, repr=False)
    orgs: dict[CredentialKey, dict[str, str]] = field(default_factory=dict)  # org -> conn id
    saved_by: dict[CredentialKey, int] = field(default_factory=dict)  # key -> line this run

    @classmethod
    async def load(cls, store: TokenStore) -> _Stored:
        stored = cls()
        for conn in await store.find_connections():
            stored.orgs.setdefault(conn.credential, {})[conn.org_id] = conn.id
        async for cred in store.iter_credentials():
            stored.by_refresh[cred.tokens.refresh_token] = cred.key
            stored.orgs.setdefault(cred.key, {})
        return stored

    def unchanged(self, plan: RowPlan) -> str | None:
        """The connection id if this row's refresh token and org are stored already."""
        key = self.by_refresh.get(plan.row.refresh_token)
        if key is None or key.dc != plan.dc or key.client_id != plan.row.client_id:
            return None
        orgs = self.orgs.get(key, {})
        if plan.row.org_id:
            return orgs.get(plan.row.org_id)
        return next(iter(orgs.values()), None)


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A row ready to save: the login it becomes (one org, the row's)."""

    plan: RowPlan
    login: Login
    refreshed: bool


# -- the importer --------------------------------------------------------------------------


class SDKImporter:
    """Imports SDK rows into `store`; one instance per run."""

    def __init__(
        self,
        store: TokenStore,
        registry: DataCenterRegistry,
        http: ZohoHTTP,
        policy: ImportPolicy,
        *,
        concurrency: int = 8,
        chunk: int = 250,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.registry = registry
        self.http = http
        self.policy = policy
        self.concurrency = max(1, concurrency)
        self.chunk = max(1, chunk)
        self.clock = clock
        self.refreshes = 0  # refresh requests sent (the import's cost in Zoho's limits)
        self._gate = asyncio.Semaphore(self.concurrency)
        self._orgs: dict[tuple[str, str], asyncio.Task[OrgInfo]] = {}

    async def run(
        self,
        rows: Sequence[SDKRow],
        on_result: Callable[[RowResult], None] | None = None,
    ) -> list[RowResult]:
        """A result for every row, in row order."""
        stored = await _Stored.load(self.store)
        results: list[RowResult] = []

        def done(result: RowResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        for start in range(0, len(rows), self.chunk):
            now = self.clock()
            plans: list[RowPlan] = []
            for row in rows[start : start + self.chunk]:
                planned = plan_row(row, self.registry, self.policy, now)
                if isinstance(planned, RowResult):
                    done(planned)
                    continue
                conn_id = stored.unchanged(planned)
                if conn_id is not None:
                    done(RowResult(row.line, row.label, "unchanged", "", planned.dc, conn_id))
                else:
                    plans.append(planned)
            resolved = await asyncio.gather(*(self._resolve(p) for p in plans))
            for result in await self._save(
                [r for r in resolved if isinstance(r, _Resolved)], stored
            ):
                done(result)
            for item in resolved:
                if isinstance(item, RowResult):
                    done(item)
        results.sort(key=lambda r: r.line)
        return results

    # -- one row ---------------------------------------------------------------------------
    async def _resolve(self, plan: RowPlan) -> _Resolved | RowResult:
        row = plan.row

        def fail(detail: str) -> RowResult:
            if plan.dc_from_option:
                detail += f" (or the row is not from data center {plan.dc}, as --dc said)"
            return RowResult(row.line, row.label, "failed", detail, plan.dc)

        try:
            async with self._gate:
                return await self._identify(plan)
        except ReauthRequiredError:
            return fail("Zoho rejected the refresh token (revoked or expired); log in again")
        except ThrottledError:
            return fail("Zoho is throttling refreshes for this user (Access Denied); rerun later")
        except (LoginError, TokenError, ZohoUnavailableError) as exc:  # unavailable: "try again"
            return fail(str(exc))

    async def _identify(self, plan: RowPlan) -> _Resolved:
        row = plan.row
        grant: oauth.TokenGrant | None = None
        if not plan.access_usable:
            grant = await self._refresh(plan)
        while True:
            token = grant.access_token if grant else row.access_token
            api_domain = grant.api_domain if grant else plan.api_domain
            try:
                zuid, email, _ = await _retry(
                    partial(identity.current_user, self.http, api_domain, token)
                )
                break
            except TokenRejectedError:
                if grant is not None or plan.secret is None:
                    raise LoginError(
                        "Zoho CRM rejected the freshly refreshed access token"
                        if grant is not None
                        else "Zoho CRM rejected the stored access token and refreshing it needs "
                        "the client secret (set ZOHOAUTH_CLIENT_ID to this row's client, or "
                        "pass --use-row-secrets)"
                    ) from None
                grant = await self._refresh(plan)  # once: the loop ends on the next pass
        org = await self._org(plan.dc, api_domain, token, row.org_id)
        key = CredentialKey(row.client_id, plan.dc, zuid)
        expires = grant.expires_at if grant else row.expires_at() or 0.0
        tokens = TokenSet(row.refresh_token, token, expires)
        scopes = grant.scopes if grant else ()
        login = Login(key, email, tokens, api_domain, scopes, (org,))
        return _Resolved(plan, login, grant is not None)

    async def _refresh(self, plan: RowPlan) -> oauth.TokenGrant:
        assert plan.secret is not None
        client = oauth.OAuthClient(plan.row.client_id, plan.secret, redirect_uri="")
        dc = self.registry.get(plan.dc)
        self.refreshes += 1
        return await _retry(
            lambda: oauth.refresh_access_token(
                self.http, self.registry, client, dc, plan.row.refresh_token, self.clock()
            )
        )

    async def _org(self, dc: str, api_domain: str, token: str, org_id: str) -> OrgInfo:
        """The row's org: one `GET org` per org for the whole run (the SDK named it already)."""
        if not org_id:
            return await _retry(lambda: identity.fetch_org(self.http, api_domain, token))
        task = self._orgs.get((dc, org_id))
        if task is None:
            task = asyncio.ensure_future(
                _retry(lambda: identity.fetch_org(self.http, api_domain, token, org_id))
            )
            self._orgs[(dc, org_id)] = task
        try:
            return await asyncio.shield(task)
        except ZohoAuthError:
            if self._orgs.get((dc, org_id)) is task:
                del self._orgs[(dc, org_id)]  # the next row of this org asks again
            raise

    async def _save(self, items: list[_Resolved], stored: _Stored) -> list[RowResult]:
        """Save a chunk in one transaction, in row order (a later row for a user wins).
        Replaced refresh tokens are not revoked at Zoho (see the module's docstring)."""
        saved = await self.store.save_logins([item.login for item in items])
        results = []
        for item, got in zip(items, saved, strict=True):
            row, login = item.plan.row, item.login
            if isinstance(got, ZohoAuthError):
                results.append(RowResult(row.line, row.label, "failed", str(got), item.plan.dc))
                continue
            notes = []
            if item.refreshed:
                notes.append("refreshed once to identify the user")
            earlier = stored.saved_by.get(login.key)
            if earlier is not None:
                notes.append(f"same user as line {earlier}; this later row wins")
            if row.email and row.email.lower() != login.email.lower():
                notes.append(f"Zoho says the user is {login.email}")
            outcome = "updated" if login.key in stored.orgs else "imported"
            stored.saved_by[login.key] = row.line
            stored.by_refresh[row.refresh_token] = login.key
            stored.orgs.setdefault(login.key, {})[login.orgs[0].org_id] = got[0].id
            results.append(
                RowResult(row.line, row.label, outcome, "; ".join(notes), item.plan.dc, got[0].id)
            )
        return results


async def _retry(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, tried again (spaced, with jitter) while Zoho is unreachable or answers 5xx."""
    return await retrying(ON_UNAVAILABLE, call)


__all__ = ["SDKImporter", "read_csv", "read_db"]
