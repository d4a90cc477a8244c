"""`zohoauth tokens list|show|refresh|revoke|delete`: the stored tokens, from a terminal.

A thin shell over `zohoauth.ops.admin`; this module only opens the store from the settings,
draws tables and progress bars, asks before destroying, and sets the exit code. No token is
ever printed: rows show who, where and when.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..credentials import Status  # stdlib only: cheap enough for --help
from .app import (
    EXIT_FAILED,
    EXIT_PARTIAL,
    console,
    err_console,
    fail,
    reported,
    run,
    settings,
    tokens_app,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..store.sql import SQLTokenStore

KEY_HELP = "A connection id (conn_...), an email, email:org_id, or client_id:dc:zuid."


@asynccontextmanager
async def open_store(s: Settings) -> AsyncIterator[SQLTokenStore]:
    """The encrypted store the settings point at (not migrated: says to run `db upgrade`); a
    missing key is named with where it could come from (the environment or a data dir)."""
    from .. import wiring
    from .datadir import require

    require(s, "encryption_keys")
    async with wiring.token_store(s) as store:
        yield store


@asynccontextmanager
async def open_auth(s: Any) -> AsyncIterator[Any]:
    """A ZohoAuth (store, registry, token manager) for commands that talk to Zoho."""
    from .. import wiring
    from ..auth import ZohoAuth
    from .datadir import require

    require(s, *wiring.REQUIRED)
    async with ZohoAuth.from_settings(s) as auth:
        yield auth


def _iso(at: float | None) -> str | None:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds") if at else None


def _row_json(row: Any) -> dict[str, Any]:
    data = asdict(row)
    for name in (
        "expires_at",
        "refreshed_at",
        "last_used_at",
        "throttled_until",
        "created_at",
        "updated_at",
    ):
        data[name] = _iso(data[name])
    data["scopes"] = list(data["scopes"])
    return data


_STATUS_STYLE = {
    "active": "green",
    "reauth_required": "red",
    "revoke_pending": "red",
}


@tokens_app.command("list")
def tokens_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
    email: Annotated[str | None, typer.Option(help="Only this user's connections.")] = None,
    status: Annotated[Status | None, typer.Option(help="Only connections in this status.")] = None,
) -> None:
    """Every stored connection: email, org, DC, status, expiry, last refresh, last use."""
    from ..ops.admin import format_time, list_rows

    async def body() -> list[Any]:
        async with open_store(settings()) as store:
            return await list_rows(store)

    rows = [
        r
        for r in run(body())
        if (email is None or r.email.lower() == email.lower())
        and (status is None or r.status == status)
    ]
    if as_json:
        print(json.dumps([_row_json(r) for r in rows], indent=2))
        return
    if not rows:
        console.print("no stored tokens yet — users log in through the web app or a script")
        return
    from .tables import Column, print_table

    print_table(
        [
            "email",
            "org",
            Column("DC", key=True),
            Column("status", key=True),
            "expires in",
            "last refresh",
            "last used",
            Column("connection", key=True),
        ],
        [
            [
                r.email,
                f"{r.org_name} ({r.org_id})" if r.org_name else r.org_id,
                r.dc,
                (r.status, _STATUS_STYLE.get(r.status, "yellow")),
                format_time(r.expires_at) if r.expires_at else "no token",
                format_time(r.refreshed_at),
                format_time(r.last_used_at),
                r.connection_id,
            ]
            for r in rows
        ],
        title=f"{len(rows)} connection(s)",
    )


@tokens_app.command("show")
def tokens_show(
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts.")] = False,
) -> None:
    """One connection in detail (never its tokens)."""
    from ..ops.admin import TokenRow, credential_of, format_time, resolve

    async def body() -> Any:
        async with open_store(settings()) as store:
            conn = await resolve(store, key)
            return TokenRow.of(conn, await credential_of(store, conn))

    row = run(body())
    if as_json:
        print(json.dumps(_row_json(row), indent=2))
        return
    from .tables import print_table

    print_table(
        ["field", "value"],
        [
            ["connection", row.connection_id],
            ["email", row.email],
            ["org", f"{row.org_name} ({row.org_id})"],
            ["data center", row.dc],
            ["api domain", row.api_domain],
            ["client id", row.client_id],
            ["zuid", row.zuid],
            ["status", row.status],
            ["access token", format_time(row.expires_at) if row.expires_at else "none"],
            ["last refresh", format_time(row.refreshed_at)],
            ["last used", format_time(row.last_used_at)],
            ["throttled", format_time(row.throttled_until) if row.throttled_until else "no"],
            ["scopes", ", ".join(row.scopes) or "—"],
            ["version", str(row.version)],
            ["created", _iso(row.created_at) or "—"],
            ["updated", _iso(row.updated_at) or "—"],
        ],
        header=False,
    )


@tokens_app.command("refresh")
def tokens_refresh(
    key: Annotated[str | None, typer.Argument(help=KEY_HELP)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every stored credential.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Refresh even tokens that are not due (counts against Zoho's 10 "
            "refreshes per token per 10 minutes).",
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="Refreshes in flight at once.")
    ] = 4,
) -> None:
    """Refresh due access tokens now, once each, through the same lease the apps use."""
    if (key is None) == (not all_):
        fail("give a KEY or --all (not both)", 2)
    results = run(_refresh(key, force, concurrency))
    _report_refresh(results)


async def _refresh(key: str | None, force: bool, concurrency: int) -> list[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..ops.admin import credential_of, refresh_credentials, resolve

    async with open_auth(settings()) as auth:
        store = auth.store
        if key is not None:
            conn = await resolve(store, key)
            targets = [(await credential_of(store, conn), conn)]
        else:
            first: dict[Any, Any] = {}
            for conn in await store.find_connections():
                first.setdefault(conn.credential, conn)
            targets = [(c, first[c.key]) async for c in store.iter_credentials() if c.key in first]
        with Progress(
            TextColumn("refreshing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console.get(),
            transient=True,
            disable=len(targets) < 2,
        ) as progress:
            task = progress.add_task("refresh", total=len(targets))
            return await refresh_credentials(
                auth.manager,
                targets,
                force=force,
                concurrency=concurrency,
                on_result=lambda _r: progress.advance(task),
            )


def _report_refresh(results: list[Any]) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
        if r.outcome != "fresh" or len(results) == 1:
            style = "green" if r.ok else ("yellow" if r.outcome == "skipped" else "red")
            console.print(
                f"[{style}]{r.outcome}[/{style}] {r.email} ({r.key.dc}) — {r.detail}",
                highlight=False,
            )
    console.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "nothing stored")
    if any(not r.ok and r.outcome != "skipped" for r in results):
        raise typer.Exit(EXIT_PARTIAL if len(results) > 1 else EXIT_FAILED)


def _confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question, default=False, err=True):
        err_console.print("nothing changed")
        raise typer.Exit(EXIT_FAILED)


def _resolve(s: Any, key: str) -> Any:
    """The one connection KEY names (before asking whether to destroy it)."""
    from ..ops.admin import resolve

    async def find() -> Any:
        async with open_store(s) as store:
            return await resolve(store, key)

    return run(find())


@tokens_app.command("revoke")
def tokens_revoke(
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Revoke the user's grant at Zoho, then delete it here (kept if Zoho can't confirm)."""
    from .. import wiring
    from ..revoke import RevokeOutcome, revoke_credential

    with reported():
        s = settings()
    conn = _resolve(s, key)
    _confirm(
        f"Revoke {conn.email}'s grant ({conn.dc}) at Zoho and delete it and every org "
        "connection sharing it?",
        yes,
    )

    async def body() -> Any:
        registry = wiring.dc_registry(s)
        async with open_store(s) as store, wiring.zoho_http(s) as http:
            return await revoke_credential(store, registry, http, conn.credential)

    done = run(body())
    if not done.deleted:
        fail(f"{done.detail} (`zohoauth tokens revoke` again, or `tokens delete` to forget it)")
    if done.outcome is RevokeOutcome.ALREADY_INVALID:
        console.print(f"already invalid at Zoho; deleted: {conn.email} ({conn.dc})")
    else:
        console.print(f"revoked at Zoho and deleted: {conn.email} ({conn.dc})")


@tokens_app.command("delete")
def tokens_delete(
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Forget one connection here (the grant at Zoho stays; `revoke` ends it there too)."""
    with reported():
        s = settings()
    conn = _resolve(s, key)
    _confirm(f"Delete {conn.email}'s connection to org {conn.org_id} ({conn.id})?", yes)

    async def body() -> bool:
        async with open_store(s) as store:
            deleted: bool = await store.delete_connection(conn.id)
            return deleted

    if not run(body()):
        fail(f"{conn.id} was already gone")
    console.print(f"deleted {conn.id} ({conn.email}, org {conn.org_id})")
