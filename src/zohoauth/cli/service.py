"""`zohoauth keys service ...`, `zohoauth audit ...`, `zohoauth webhooks ...`: the token service.

Service keys are printed once, at creation, and stored only as a keyed hash (the pepper is
ZOHOAUTH_SERVICE_KEY_PEPPER when set, else derived from ZOHOAUTH_ENCRYPTION_KEYS). Webhook
secrets are printed once too, and stored encrypted (the service must sign with them).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer

from .app import app, console, fail, keys_app, run, settings
from .tables import Column, print_table

T = TypeVar("T")
JSON_HELP = "One JSON array, for scripts."


class ScopeChoice(StrEnum):
    """`service.keys.Scope`'s values (pinned by a test; that package loads the store)."""

    read = "read"
    token = "token"
    proxy = "proxy"
    admin = "admin"


service_keys_app = typer.Typer(
    help="Service keys for the token service (/api/v1).", no_args_is_help=True
)
keys_app.add_typer(service_keys_app, name="service")
audit_app = typer.Typer(
    help="The token service's audit log: who got which token, when, and which calls were refused."
)
app.add_typer(audit_app, name="audit")
webhooks_app = typer.Typer(help="Webhooks: signed event deliveries.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@asynccontextmanager
async def _service() -> AsyncIterator[Any]:
    from .. import wiring
    from ..service import TokenService
    from .tokens import open_store

    s = settings()
    async with open_store(s) as store:
        service = TokenService(store, wiring.service_config(s), auth=None)
        yield service


def _with_service(body: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        async with _service() as service:
            return await body(service)

    return run(go())


def _duration(text: str | None, flag: str) -> float | None:
    from ..service.keys import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        fail(f"{flag}: {exc}", 2)


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- keys service ----------------------------------------------------------------------------


@service_keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. billing-sync.")],
    scope: Annotated[
        ScopeChoice, typer.Option(help="What the key may do (docs/token-service.md).")
    ] = ScopeChoice.token,
    connections: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated connections it may use (default all): connection ids and/or "
            "selectors dc:DC, org:ORG_ID, zuid:ZUID, email:ADDRESS, domain:DOMAIN, e.g. "
            "'dc:eu,org:80000001'. Any one match allows a connection; selectors also cover "
            "connections made later."
        ),
    ] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 90d (default never).")] = None,
) -> None:
    """Create a service key and print it once (only its keyed hash is stored)."""
    from ..service.keys import parse_selection

    try:
        selection = parse_selection(connections or "")
    except ValueError as exc:
        fail(f"--connections: {exc}", 2)
    lifetime = _duration(expires, "--expires")
    made = _with_service(
        lambda svc: svc.create_key(name, scope.value, connections=selection, expires_in=lifetime)
    )
    console.print(
        f"created service key {made.record.id} ({name}, scope {scope.value}, "
        f"connections {_conns(list(selection)) or 'all'})"
    )
    console.print("Store it now; it is not shown again:")
    print(made.key)


@service_keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The service keys (never the keys themselves): scope, the connections each may use
    (ids and selectors, or all), and when each was last used (to the minute)."""
    found = _with_service(lambda svc: svc.list_keys())
    now = time.time()
    rows = [
        {
            "id": key.id,
            "name": key.name,
            "scope": key.scope.value,
            "connections": list(key.connections) or "all",
            "state": key.state(now),
            "created_at": key.created_at,
            "expires_at": key.expires_at,
            "last_used_at": key.last_used_at,
        }
        for key in found
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print_table(
        [
            Column("id", key=True), "name", "scope", "connections", "state", "created",
            "expires", "last used",
        ],
        [
            [
                r["id"], r["name"], r["scope"],
                _conns(r["connections"]),
                r["state"], _when(r["created_at"]), _when(r["expires_at"]),
                _when(r["last_used_at"]),
            ]
            for r in rows
        ],
        title="service keys",
    )  # fmt: skip


@service_keys_app.command("revoke")
def revoke(ref: Annotated[str, typer.Argument(help="The key's id or name.")]) -> None:
    """Revoke a service key: refused from now on (it stays listed, as revoked)."""
    if not _with_service(lambda svc: svc.revoke_key(ref)):
        fail(f"no active service key with id or name {ref!r} (see `zohoauth keys service list`)")
    console.print(f"revoked service key {ref}")


# -- audit -----------------------------------------------------------------------------------


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    key: Annotated[
        str | None,
        typer.Option(help="A service key's id or name; '-' for refused calls without a known key."),
    ] = None,
    connection: Annotated[str | None, typer.Option(help="A connection id.")] = None,
    since: Annotated[str | None, typer.Option(help="Only this recent, e.g. 24h or 7d.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show the audit log, newest first: tokens handed out, refreshes, proxied calls, deletes
    and refused calls (never a token or a key)."""
    if ctx.invoked_subcommand is not None:
        return
    age = _duration(since, "--since")
    cutoff = None if age is None else time.time() - age
    rows = _with_service(
        lambda svc: svc.audit_log(key=key, connection_id=connection, since=cutoff, limit=limit)
    )
    if as_json:
        out = [
            {
                "at": e.at,
                "key_id": e.key_id,
                "key_name": e.key_name,
                "connection_id": e.connection_id,
                "action": e.action,
                "outcome": e.outcome,
                "detail": e.detail,
            }
            for e in rows
        ]
        print(json.dumps(out, indent=2))
        return
    print_table(
        [Column("when", key=True), "key", Column("connection", key=True), "action", "outcome",
         "detail"],
        [
            [_when(e.at), f"{e.key_name} ({e.key_id})", e.connection_id or "-", e.action,
             e.outcome, e.detail]
            for e in rows
        ],
        title="audit log",
    )  # fmt: skip


@audit_app.command("prune")
def prune(
    older_than: Annotated[str, typer.Option(help="Delete rows older than this, e.g. 90d.")],
) -> None:
    """Delete audit rows older than --older-than."""
    age = _duration(older_than, "--older-than")
    assert age is not None
    gone = _with_service(lambda svc: svc.prune_audit(age))
    console.print(f"deleted {gone} audit row(s) older than {older_than}")


# -- webhooks --------------------------------------------------------------------------------


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="Where to POST events (https://...).")],
    events: Annotated[
        str, typer.Option(help="Comma-separated: reauth_required,revoked,refreshed,login,logout.")
    ] = "reauth_required,revoked",
) -> None:
    """Register an endpoint; prints its signing secret once."""
    from ..service.webhooks import parse_events

    try:
        names = parse_events(events)
    except ValueError as exc:
        fail(f"--events: {exc}", 2)
    made = _with_service(lambda svc: svc.add_webhook(url, names))
    console.print(f"added webhook {made.record.id} for {', '.join(names)}")
    console.print("Its signing secret (verify Zohoauth-Signature with it; not shown again):")
    print(made.secret)


@webhooks_app.command("list")
def webhooks_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """The registered endpoints (no secrets)."""
    found = _with_service(lambda svc: svc.webhooks())
    if as_json:
        print(json.dumps([_d(hook) for hook in found], indent=2))
        return
    print_table(
        [Column("id", key=True), Column("url", key=True), "events", "created"],
        [[hook.id, hook.url, ",".join(hook.events), _when(hook.created_at)] for hook in found],
        title="webhooks",
    )


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[str, typer.Argument(help="Its id (see `zohoauth webhooks list`).")],
) -> None:
    """Remove an endpoint."""
    if not _with_service(lambda svc: svc.remove_webhook(webhook_id)):
        fail(f"no webhook {webhook_id!r} (see `zohoauth webhooks list`)")
    console.print(f"removed webhook {webhook_id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook: Annotated[str | None, typer.Option(help="Only this endpoint's.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The delivery log, newest first: state, attempts, last status or error."""
    found = _with_service(lambda svc: svc.deliveries(webhook, limit))
    if as_json:
        print(json.dumps([_d(d) for d in found], indent=2))
        return
    print_table(
        [Column("id", key=True), Column("webhook", key=True), "event", "state", "attempts",
         "last", "created"],
        [
            [d.id, d.webhook_id, d.event, d.state, str(d.attempts),
             d.last_error or (str(d.last_status) if d.last_status else "-"), _when(d.created_at)]
            for d in found
        ],
        title="webhook deliveries",
    )  # fmt: skip


def _conns(listed: str | list[str]) -> str:
    return listed if isinstance(listed, str) else ",".join(listed)


def _d(d: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(d)
