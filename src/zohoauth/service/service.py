"""`TokenService`: zohoauth as a token service for backends in any language.

What `zohoauth serve`'s `/api/v1` does, as library calls, so the web package stays a thin
HTTP layer over the facade (`ZohoAuth.service`) and the CLI can manage keys, the audit log and
webhooks with the same code:

- service keys (`keys.py`): create (the key is returned once, only its keyed hash stored),
  list, revoke; `authenticate` checks a bearer key's shape, hash, state, scope, connections;
- tokens: `token()` answers from the same `TokenManager` as the library (cache, single
  flight, lease), so a thousand callers of an expired connection cause one refresh; `refresh`
  forces one; `delete` logs out or revokes by `ZohoAuth`'s one rule;
- the proxy (`crm/proxy.py`): a CRM v8 call made for the caller, who never sees a token;
- the audit log: one row per token handed out, refresh, proxied call and delete, and per
  refused call (bad, revoked or expired key, wrong scope, rate-limited; a flood of them is
  counted into one row), written in batches about once a second by the background task (and
  on close), which also writes the keys' `last_used_at` (at most once a minute per key);
- webhooks: events from the `EventBus` go to a database outbox; the background task signs
  and sends what is due, with exponential backoff for 24 hours (`webhooks.py`).

Every SQL statement is in `store/queries.py`; this module runs them on the token store's
engine (the service needs `SQLTokenStore`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..credentials import Status
from ..errors import ConfigError, NotFoundError, ServiceKeyError, ServiceScopeError
from ..events import Event, EventType
from ..logs import get_logger
from ..store import queries as q
from ..store.codec import connection_from_row, webhook_secret_aad
from . import keys as k
from . import webhooks as wh
from .audit import AuditEntry
from .ratelimit import TokenBuckets

if TYPE_CHECKING:
    from ..auth import ConnectionInfo, LogoutResult, ZohoAuth
    from ..crm.proxy import ProxyResponse
    from ..manager import AccessToken
    from ..store.sql import SQLTokenStore

log = get_logger("zohoauth.service")

#: A token handed out is valid for at most about an hour (docs/zoho-reference.md §4), so
#: `min_valid` beyond this could never be met.
MAX_MIN_VALID = 3000
#: `last_used_at` of a service key is written at most this often (seconds) per key.
KEY_TOUCH_EVERY = 60.0
#: Refused calls written to the audit log one by one, per key (or anonymous) and outcome:
#: a burst, then a rate; beyond it they are counted into one row per flush.
REFUSALS_BURST = 100.0
REFUSALS_PER_SECOND = 10.0
#: Who a refused call without a known key is recorded as.
ANONYMOUS = "-"
_EVENT_NAMES: dict[EventType, str] = {
    EventType.REAUTH_REQUIRED: "reauth_required",
    EventType.REVOKED: "revoked",
    EventType.REFRESHED: "refreshed",
    EventType.LOGGED_IN: "login",
    EventType.LOGGED_OUT: "logout",
}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The token service's settings (`ZOHOAUTH_SERVICE_*`)."""

    pepper: str = ""  # ZOHOAUTH_SERVICE_KEY_PEPPER; empty: derived from the key ring
    rate: float = 20.0  # calls per second per key (token bucket); <= 0: no limit
    burst: float = 200.0  # calls a key may make at once
    webhook_poll: float = 1.0  # seconds between outbox checks
    webhook_backoff: float = 10.0  # the first retry's wait; doubles, at most an hour
    webhook_timeout: float = 10.0  # seconds a receiver has to answer


class TokenService:
    """Service keys, tokens and the proxy for other backends, the audit log and webhooks."""

    def __init__(
        self, store: SQLTokenStore, config: ServiceConfig | None = None, *, auth: ZohoAuth | None
    ) -> None:
        self.store = store
        self.config = config or ServiceConfig()
        self.auth = auth
        self.clock = store.clock
        self.buckets = TokenBuckets(self.config.rate, self.config.burst)
        self._audit: list[AuditEntry] = []
        self.refusal_buckets = TokenBuckets(REFUSALS_PER_SECOND, REFUSALS_BURST)
        self._suppressed: dict[str, tuple[str, str, str, int]] = {}
        self._used: dict[str, float] = {}  # key id -> when, to write as last_used_at
        self._touched: dict[str, float] = {}  # key id -> when last_used_at was last queued
        self._rehash: dict[str, tuple[str, str, str]] = {}  # key id -> (old, new pepper, hash)
        self._events: list[tuple[str, dict[str, Any], float]] = []
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._unsubscribe: list[Any] = []
        self._http: httpx.AsyncClient | None = None
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"

    # -- peppers -------------------------------------------------------------------------
    def _peppers(self) -> dict[str, bytes]:
        """pepper id -> pepper: the setting's, or one derived from each key of the ring."""
        if self.config.pepper:
            import hashlib

            return {k.SETTING_PEPPER_ID: hashlib.sha256(self.config.pepper.encode()).digest()}
        ring = self.store.keyring
        return {kid: ring.derive(kid, k.PEPPER_LABEL) for kid in ring.kids}

    # -- service keys --------------------------------------------------------------------
    async def create_key(
        self,
        name: str,
        scope: k.Scope | str = k.Scope.TOKEN,
        *,
        connections: tuple[str, ...] = (),
        expires_in: float | None = None,
    ) -> k.NewServiceKey:
        """A new key; `.key` is the only time the key itself is seen. `connections` is its
        selection: connection ids and/or selectors (`dc:eu`, `org:...`, `zuid:...`,
        `email:...`, `domain:...`; `keys.parse_selection`), empty for every connection."""
        if not name or len(name) > 128:
            raise ConfigError("a service key needs a name of 1 to 128 characters")
        try:
            selection = k.parse_selection(connections)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        now = self.clock()
        secret = k.generate()
        pepper_id = next(iter(self._peppers()))  # the setting's, or the active key's
        record = k.ServiceKey(
            id=k.new_key_id(),
            name=name,
            scope=k.Scope(scope),
            connections=selection,
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        row = {
            "id": record.id,
            "name": name,
            "key_hash": k.hash_key(self._peppers()[pepper_id], secret),
            "pepper_id": pepper_id,
            "scope": record.scope.value,
            "connections": json.dumps(list(record.connections)),
            "created_at": now,
            "expires_at": record.expires_at,
        }
        async with self.store.guard("create a service key"), self.store.engine.begin() as conn:
            await conn.execute(q.INSERT_SERVICE_KEY, row)
        return k.NewServiceKey(record, secret)

    async def list_keys(self) -> list[k.ServiceKey]:
        async with self.store.guard("list service keys"), self.store.engine.connect() as conn:
            rows = (await conn.execute(q.SERVICE_KEYS)).mappings().all()
        return [_key_from_row(r) for r in rows]

    async def keys_by_pepper(self) -> dict[str, int]:
        """pepper id -> how many usable keys it hashed: a key whose pepper derives from an
        encryption key that is dropped stops working (unless used, and so re-hashed, first)."""
        async with self.store.guard("count service keys"), self.store.engine.connect() as conn:
            rows = (await conn.execute(q.SERVICE_KEYS_BY_PEPPER)).all()
        return {str(pepper): int(n) for pepper, n in rows}

    async def revoke_key(self, ref: str) -> bool:
        """Revoke the key with this id or name; False when no active key has it."""
        async with self.store.guard("revoke a service key"), self.store.engine.begin() as conn:
            result = await conn.execute(q.REVOKE_SERVICE_KEY, {"ref": ref, "at": self.clock()})
        return result.rowcount > 0

    async def authenticate(
        self, authorization: str | None, action: str, connection_id: str | None = None
    ) -> k.ServiceKey:
        """The key an `Authorization: Bearer zas_...` header carries, if it may do `action`
        (on `connection_id`). ServiceKeyError (401) or ServiceScopeError (403) otherwise.

        A refused call is audited too (`refused`): by the key when it is known, else
        anonymously; never with any of the presented key."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            self.refused(None, connection_id, action, "invalid_key", "no service key")
            raise ServiceKeyError("send a service key as `Authorization: Bearer zas_...`")
        if not k.well_formed(token):
            self.refused(None, connection_id, action, "invalid_key", "malformed key")
            raise ServiceKeyError("that is not a zohoauth service key (wrong shape or checksum)")
        peppers = self._peppers()
        hashes = [k.hash_key(p, token) for p in peppers.values()]
        async with self.store.guard("check a service key"), self.store.engine.connect() as conn:
            row = (
                (await conn.execute(q.SERVICE_KEY_BY_HASHES, {"hashes": hashes})).mappings().first()
            )
        if row is None:
            self.refused(None, connection_id, action, "invalid_key", "unknown key")
            raise ServiceKeyError("unknown service key; ask the operator for one")
        key = _key_from_row(row)
        now = self.clock()
        active_pepper = next(iter(peppers))
        if row["pepper_id"] != active_pepper:  # made under an older encryption key
            self._rehash[key.id] = (
                row["pepper_id"],
                active_pepper,
                k.hash_key(peppers[active_pepper], token),
            )
            if self._task is None:
                self._soon()
        refusal = key.refusal(now)
        if refusal is not None:
            self.refused(key, connection_id, action, "invalid_key", key.state(now))
            raise ServiceKeyError(refusal)
        if not k.allows(key.scope, action):
            self.refused(key, connection_id, action, "forbidden", f"scope {key.scope.value}")
            raise ServiceScopeError(
                f"service key {key.name!r} has scope {key.scope.value!r}, which does not allow "
                f"{action!r}"
            )
        if connection_id is not None and not await self._may_use(key, connection_id):
            self.refused(key, connection_id, action, "forbidden", "connection not allowed")
            raise ServiceScopeError(f"service key {key.name!r} may not use this connection")
        self._note_use(key, now)
        return key

    async def _may_use(self, key: k.ServiceKey, connection_id: str) -> bool:
        """Whether `key`'s selection allows the connection: by the id alone when that decides
        (every connection, a listed id, or ids only), else by looking the connection up and
        matching its DC, org, user and email (`keys.selects`). A connection that does not
        exist is not allowed, so a selector key can't tell it from one outside its selection."""
        by_id = k.selects_id(key.connections, connection_id)
        if by_id is not None:
            return by_id
        async with self.store.guard("check a connection"), self.store.engine.connect() as conn:
            row = (
                (await conn.execute(q.CONNECTION_BY_ID, {"connection_id": connection_id}))
                .mappings()
                .first()
            )
        return row is not None and key.may_use(connection_from_row(row))

    def _note_use(self, key: k.ServiceKey, now: float) -> None:
        """Remember that `key` was used, for `last_used_at`: written by the background flush,
        at most once a minute per key (KEY_TOUCH_EVERY), never on the request path."""
        last = max(self._touched.get(key.id, 0.0), key.last_used_at or 0.0)
        if now - last < KEY_TOUCH_EVERY:
            return
        self._touched[key.id] = now
        self._used[key.id] = now
        if self._task is None:
            self._soon()

    def rate_limit(
        self, key: k.ServiceKey, action: str = "", connection_id: str | None = None
    ) -> float:
        """0 when `key` may make a call now, else the seconds until it may (audited as a
        refused `rate_limited` call)."""
        wait = self.buckets.take(key.id, time.monotonic())
        if wait > 0:
            self.refused(key, connection_id, action or "call", "rate_limited")
        return wait

    # -- connections ---------------------------------------------------------------------
    def _auth(self) -> ZohoAuth:
        if self.auth is None:
            raise ConfigError("this TokenService was built without a ZohoAuth")
        return self.auth

    async def connections(
        self,
        key: k.ServiceKey,
        *,
        email: str | None = None,
        zuid: str | None = None,
        org_id: str | None = None,
        dc: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> tuple[list[ConnectionInfo], str | None]:
        """A page of the connections the key may see, and the cursor of the next page."""
        from ..auth import ConnectionInfo

        auth = self._auth()
        stmt = q.connections_page(
            email=email,
            zuid=zuid,
            org_id=org_id,
            dc=dc,
            client_id=auth.client.client_id,
            selection=[k.selector_parts(e) for e in key.connections] or None,
            after=after,
            limit=limit + 1,
        )
        found: list[ConnectionInfo] = []
        async with self.store.guard("list connections"), self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        more = len(rows) > limit
        for row in rows[:limit]:
            c = connection_from_row(row)
            st = Status(row["status"])
            if (status is not None and st.value != status) or not key.may_use(c):
                continue  # (the SQL already applied the key's selection; this is the rule)
            name = auth.registry.get(c.dc).name if c.dc in auth.registry else c.dc
            found.append(ConnectionInfo(c, st, name))
        return found, (rows[limit - 1]["id"] if more else None)

    async def connection(self, key: k.ServiceKey, connection_id: str) -> ConnectionInfo:
        info = await self._auth().connection_info(connection_id)
        if info is None or not key.may_use(info.connection):
            raise NotFoundError("no such connection (or not one this service key may use)")
        return info

    # -- tokens --------------------------------------------------------------------------
    async def token(
        self, key: k.ServiceKey, connection_id: str, *, min_valid: float = 0
    ) -> AccessToken:
        """An access token valid for at least `min_valid` seconds (audited)."""
        min_valid = max(0.0, min(float(min_valid), MAX_MIN_VALID))
        auth = self._auth()
        try:
            # Handed to another backend, which may write with it: confirmed live first.
            tok = await auth.access_token(connection_id, verify=True)
            if tok.expires_at - self.clock() < min_valid:
                tok = await auth.access_token(connection_id, stale=tok.token)
        except Exception as exc:
            self.audit(key, connection_id, "token", _outcome(exc))
            raise
        self.audit(key, connection_id, "token", "ok")
        return tok

    async def refresh(self, key: k.ServiceKey, connection_id: str) -> AccessToken:
        """Force a refresh (the manager's single flight, lease and throttle still apply)."""
        auth = self._auth()
        try:
            tok = await auth.access_token(connection_id)
            tok = await auth.access_token(connection_id, stale=tok.token)
        except Exception as exc:
            self.audit(key, connection_id, "refresh", _outcome(exc))
            raise
        self.audit(key, connection_id, "refresh", "ok")
        return tok

    async def delete(self, key: k.ServiceKey, connection_id: str, *, revoke: bool) -> LogoutResult:
        auth = self._auth()
        try:
            done = await auth.logout(connection_id, revoke=revoke)
        except Exception as exc:
            self.audit(key, connection_id, "delete", _outcome(exc))
            raise
        outcome = "ok" if done.connection_ids else "not_found"
        self.audit(key, connection_id, "delete", outcome, "revoke" if revoke else "")
        return done

    async def proxy(
        self,
        key: k.ServiceKey,
        connection_id: str,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> ProxyResponse:
        """Forward one CRM v8 call for the connection; Zoho's answer passes through."""
        from ..crm.proxy import forward

        auth = self._auth()
        what = f"{method} {path[:200]}"
        try:
            resp = await forward(
                auth.manager,
                connection_id,
                method,
                path,
                query=query,
                body=body,
                headers=headers or {},
                http=auth.http,
                registry=auth.registry,
            )
        except Exception as exc:
            self.audit(key, connection_id, "proxy", _outcome(exc), what)
            raise
        self.audit(key, connection_id, "proxy", "ok", f"{what} -> {resp.status}")
        return resp

    # -- the audit log -------------------------------------------------------------------
    def audit(
        self,
        key: k.ServiceKey,
        connection_id: str | None,
        action: str,
        outcome: str,
        detail: str = "",
    ) -> None:
        """Queue one audit row (written by the background task, or `flush()`)."""
        self._audit.append(
            AuditEntry(key.id, key.name, connection_id, action, outcome, self.clock(), detail)
        )
        if self._task is None:  # no background task (a script): write soon anyway
            self._soon()

    def refused(
        self,
        key: k.ServiceKey | None,
        connection_id: str | None,
        action: str,
        outcome: str,
        detail: str = "",
    ) -> None:
        """Queue the audit row of a refused call: by `key` when known (revoked, expired, wrong
        scope, rate-limited), else anonymously (no, malformed or unknown key) and never with
        anything of the key presented. Each (key, outcome) may write REFUSALS_BURST rows at once
        and REFUSALS_PER_SECOND on average; past that the calls are counted and written as one
        row per flush, so a flood of bad calls can't flood the audit table."""
        who = key.id if key is not None else ANONYMOUS
        bucket = f"{who}\x00{outcome}"
        if self.refusal_buckets.take(bucket, time.monotonic()) > 0:
            name = key.name if key is not None else ANONYMOUS
            counted = self._suppressed.get(bucket)
            self._suppressed[bucket] = (who, name, outcome, (counted[3] if counted else 0) + 1)
            return
        if key is None:
            now = self.clock()
            entry = AuditEntry(ANONYMOUS, ANONYMOUS, connection_id, action, outcome, now, detail)
            self._audit.append(entry)
            if self._task is None:
                self._soon()
        else:
            self.audit(key, connection_id, action, outcome, detail)

    def _summarize_suppressed(self) -> None:
        """One audit row per (key, outcome) for the refused calls not written one by one."""
        counted, self._suppressed = self._suppressed, {}
        now = self.clock()
        for who, name, outcome, n in counted.values():
            detail = f"{n} more refused call(s) like this, not written one by one"
            self._audit.append(AuditEntry(who, name, None, "refused", outcome, now, detail))

    def _soon(self) -> None:
        """Without the background task (a script), write the queued rows in half a second."""
        if self._flusher is not None and not self._flusher.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        async def later() -> None:
            await asyncio.sleep(0.5)
            await self.flush()

        self._flusher = loop.create_task(later())

    async def flush(self) -> None:
        """Write the queued audit rows, keys' `last_used_at` and events (to the outbox) now."""
        self._summarize_suppressed()
        batch, self._audit = self._audit, []
        if batch:
            try:
                async with self.store.guard("write the audit log"), self.store.engine.begin() as c:
                    await c.execute(q.INSERT_AUDIT, [e.row() for e in batch])
            except Exception as exc:
                self._audit[:0] = batch  # try again next time
                log.warning("could not write the audit log", error=type(exc).__name__)
        await self._flush_touches()
        await self._flush_rehash()
        await self._flush_events()

    async def _flush_touches(self) -> None:
        used, self._used = self._used, {}
        if not used:
            return
        try:
            rows = [{"kid": kid, "at": at} for kid, at in used.items()]
            async with self.store.guard("note service key use"), self.store.engine.begin() as c:
                await c.execute(q.TOUCH_SERVICE_KEY, rows)
        except Exception as exc:
            for kid, at in used.items():  # try again next time
                self._used.setdefault(kid, at)
            log.warning("could not record service key use", error=type(exc).__name__)

    async def _flush_rehash(self) -> None:
        """Store the hash under the active pepper of keys that were made under an older
        encryption key and just used, so `keys rotate` and dropping the old key leave them
        working (only a hash is queued and written, never the key)."""
        todo, self._rehash = self._rehash, {}
        if not todo:
            return
        rows = [{"kid": kid, "old": o, "new": n, "hash": h} for kid, (o, n, h) in todo.items()]
        try:
            async with self.store.guard("re-hash a service key"), self.store.engine.begin() as c:
                await c.execute(q.REHASH_SERVICE_KEY, rows)
        except Exception as exc:
            log.warning("could not re-hash a service key", error=type(exc).__name__)

    async def audit_log(
        self,
        *,
        key: str | None = None,
        connection_id: str | None = None,
        since: float | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        stmt = q.audit_rows(key, connection_id, since, limit)
        async with self.store.guard("read the audit log"), self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            AuditEntry(
                r["key_id"],
                r["key_name"],
                r["connection_id"],
                r["action"],
                r["outcome"],
                float(r["at"]),
                r["detail"],
                r["id"],
            )
            for r in rows
        ]

    async def prune_audit(self, older_than: float) -> int:
        """Delete audit rows older than `older_than` seconds; how many went."""
        before = self.clock() - older_than
        async with self.store.guard("prune the audit log"), self.store.engine.begin() as conn:
            return (await conn.execute(q.PRUNE_AUDIT, {"before": before})).rowcount

    # -- webhooks ------------------------------------------------------------------------
    async def add_webhook(self, url: str, events: tuple[str, ...]) -> wh.NewWebhook:
        if not url.startswith(("https://", "http://")):
            raise ConfigError("a webhook URL must be http(s)://...")
        for event in events:
            if event not in wh.EVENTS:
                raise ConfigError(f"unknown event {event!r}; use {', '.join(wh.EVENTS)}")
        record = wh.Webhook(wh.new_id("wh"), url, tuple(events), self.clock())
        secret = wh.new_secret()
        row = {
            "id": record.id,
            "url": url,
            "events": ",".join(events),
            "secret": self.store.keyring.encrypt(secret.encode(), webhook_secret_aad(record.id)),
            "key_id": self.store.keyring.active_kid,
            "created_at": record.created_at,
        }
        async with self.store.guard("add a webhook"), self.store.engine.begin() as conn:
            await conn.execute(q.INSERT_WEBHOOK, row)
        return wh.NewWebhook(record, secret)

    async def webhooks(self) -> list[wh.Webhook]:
        async with self.store.guard("list webhooks"), self.store.engine.connect() as conn:
            rows = (await conn.execute(q.WEBHOOKS)).mappings().all()
        return [
            wh.Webhook(r["id"], r["url"], tuple(r["events"].split(",")), r["created_at"])
            for r in rows
        ]

    async def remove_webhook(self, webhook_id: str) -> bool:
        async with self.store.guard("remove a webhook"), self.store.engine.begin() as conn:
            result = await conn.execute(q.DELETE_WEBHOOK, {"webhook_id": webhook_id})
        return result.rowcount > 0

    async def deliveries(
        self, webhook_id: str | None = None, limit: int = 100
    ) -> list[wh.Delivery]:
        stmt = q.deliveries_log(webhook_id, limit)
        async with self.store.guard("read deliveries"), self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            wh.Delivery(
                r["id"],
                r["webhook_id"],
                r["event"],
                float(r["created_at"]),
                r["state"],
                int(r["attempts"]),
                float(r["next_attempt_at"]),
                r["last_status"],
                r["last_error"],
                r["delivered_at"],
            )
            for r in rows
        ]

    def on_event(self, event: Event) -> None:
        """The event bus handler (subscribed by `start`): queue the event for the webhooks
        that want it (written to the outbox by the next flush)."""
        name = _EVENT_NAMES.get(event.type)
        if name is None:
            return
        data = {"credential": event.credential, "email": event.email, "dc": event.dc}
        if event.detail:
            data["detail"] = event.detail[:200]
        self._events.append((name, data, self.clock()))

    async def _flush_events(self) -> None:
        batch, self._events = self._events, []
        if not batch:
            return
        try:
            hooks = await self.webhooks()
            rows = [
                {
                    "id": wh.new_id("dlv"),
                    "webhook_id": hook.id,
                    "event": name,
                    "payload": wh.payload(name, data, at),
                    "created_at": at,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                }
                for name, data, at in batch
                for hook in hooks
                if name in hook.events
            ]
            if rows:
                async with self.store.guard("queue webhooks"), self.store.engine.begin() as conn:
                    await conn.execute(q.INSERT_DELIVERY, rows)
        except Exception as exc:
            self._events[:0] = batch
            log.warning("could not queue webhook deliveries", error=type(exc).__name__)

    async def deliver_due(self) -> int:
        """Send every due delivery this worker can claim; how many were attempted."""
        now = self.clock()
        async with self.store.guard("claim deliveries"), self.store.engine.begin() as conn:
            ids = [r[0] for r in (await conn.execute(q.due_deliveries(now, 50))).all()]
            if not ids:
                return 0
            ttl = self.config.webhook_timeout * 3
            await conn.execute(q.claim_deliveries(ids, self.owner, now, ttl))
        async with self.store.guard("read deliveries"), self.store.engine.connect() as conn:
            rows = (await conn.execute(q.claimed_deliveries(self.owner))).mappings().all()
        await asyncio.gather(*(self._send(dict(r)) for r in rows))
        return len(rows)

    async def _send(self, row: dict[str, Any]) -> None:
        secret = self.store.keyring.decrypt(
            row["webhook_secret"], webhook_secret_aad(row["webhook_id"])
        ).decode()
        body = row["payload"].encode()
        headers = {
            "Content-Type": "application/json",
            wh.SIGNATURE_HEADER: wh.sign(secret, int(time.time()), body),
            "User-Agent": "zohoauth-webhooks",
        }
        status: int | None = None
        error: str | None = None
        try:
            resp = await self._client().post(
                row["url"], content=body, headers=headers, timeout=self.config.webhook_timeout
            )
            status = resp.status_code
            if not 200 <= status < 300:
                error = f"answered {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        now = self.clock()
        attempts = int(row["attempts"]) + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
        if error is None:
            values.update(state="delivered", delivered_at=now)
        elif now - float(row["created_at"]) >= wh.RETRY_WINDOW:
            values.update(state="failed")
        else:
            values.update(next_attempt_at=now + wh.backoff(attempts, self.config.webhook_backoff))
        try:
            async with self.store.guard("record a delivery"), self.store.engine.begin() as conn:
                await conn.execute(q.finish_delivery(row["id"], self.owner, **values))
        except Exception as exc:  # the lease expires; the attempt is retried
            log.warning("could not record a webhook delivery", error=type(exc).__name__)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    # -- the background task -------------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the event bus and start the background task (in a running loop)."""
        if self._task is not None:
            return
        if self.auth is not None:
            for kind in _EVENT_NAMES:
                self._unsubscribe.append(self.auth.events.subscribe(kind, self.on_event))
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the loop die; try again next round
                log.warning("token service background task failed", error=type(exc).__name__)
            await asyncio.sleep(self.config.webhook_poll)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await self.flush()
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _outcome(exc: Exception) -> str:
    return type(exc).__name__


def _key_from_row(row: Mapping[Any, Any]) -> k.ServiceKey:
    return k.ServiceKey(
        id=row["id"],
        name=row["name"],
        scope=k.Scope(row["scope"]),
        connections=tuple(json.loads(row["connections"])),
        created_at=float(row["created_at"]),
        expires_at=None if row["expires_at"] is None else float(row["expires_at"]),
        revoked_at=None if row["revoked_at"] is None else float(row["revoked_at"]),
        last_used_at=None if row["last_used_at"] is None else float(row["last_used_at"]),
    )


__all__ = ["ANONYMOUS", "KEY_TOUCH_EVERY", "MAX_MIN_VALID", "ServiceConfig", "TokenService"]
