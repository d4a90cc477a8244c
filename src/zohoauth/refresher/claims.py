"""Claiming due credentials and handing them back: the refresher's store I/O.

A claim is one short transaction: `CLAIM_DUE` locks up to a batch of due rows (`FOR UPDATE
SKIP LOCKED` on PostgreSQL and MySQL/MariaDB, so concurrent workers take disjoint batches
without waiting; SQLite serializes claimers with BEGIN IMMEDIATE), and `TAKE_CLAIMED_LEASE`
gives the worker the *request path's own lease* on them before the locks go. From then on an app
that wants one of those tokens waits and re-reads, exactly as it would for another app's
refresh, and a killed worker's leases simply expire after `claim_ttl`.

`finish` writes each row's next plan time and releases whatever lease the worker still holds,
in one executemany. All SQL is in `store/queries.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..credentials import Credential, CredentialKey, Status
from ..store import queries as q
from ..store.codec import credential_from_row, key_of
from ..store.engine import single_statement, write_transaction
from ..store.sql import SQLTokenStore
from .plan import Snapshot

_ACTIVE = Status.ACTIVE.value


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker holds the lease of: its plan inputs, and the row to decrypt."""

    snapshot: Snapshot
    row: Mapping[str, Any]

    @property
    def key(self) -> CredentialKey:
        return self.snapshot.key


def snapshot_of(row: Mapping[str, Any]) -> Snapshot:
    """The plan's view of a claimed row (pure)."""

    def opt(name: str) -> float | None:
        value = row.get(name)
        return None if value is None else float(value)

    return Snapshot(
        key=key_of(row),
        expires_at=float(row["expires_at"]),
        created_at=float(row["created_at"]),
        refreshed_at=opt("refreshed_at"),
        throttled_until=opt("throttled_until"),
        last_used_at=opt("last_used_at"),
        planned_at=float(row["next_refresh_at"] or 0.0),
    )


async def claim(
    store: SQLTokenStore, owner: str, now: float, limit: int, ttl: float
) -> list[Claimed]:
    """Lock up to `limit` due rows and take their lease for `ttl` seconds, in one transaction."""
    async with store.guard("claim due credentials"), write_transaction(store.engine) as conn:
        result = await conn.execute(q.CLAIM_DUE, {"status": _ACTIVE, "now": now, "limit": limit})
        rows = [dict(r) for r in result.mappings().all()]
        if rows:
            await conn.execute(
                q.TAKE_CLAIMED_LEASE,
                [{**q.claim_params(key_of(r)), "owner": owner, "until": now + ttl} for r in rows],
            )
    return [Claimed(snapshot_of(r), r) for r in rows]


def credential_of(store: SQLTokenStore, claimed: Claimed) -> Credential:
    """The claimed row decrypted (only rows that will be refreshed need it)."""
    return credential_from_row(store.keyring, claimed.row)


async def finish(
    store: SQLTokenStore, owner: str, plans: Sequence[tuple[CredentialKey, float]]
) -> None:
    """Write each credential's next plan time and release the lease where this worker still
    holds it (one executemany)."""
    if not plans:
        return
    params = [{**q.claim_params(key), "owner": owner, "at": at} for key, at in plans]
    async with (
        store.guard("hand back claimed credentials"),
        write_transaction(store.engine) as conn,
    ):
        await conn.execute(q.FINISH_CLAIM, params)


async def earliest_due(store: SQLTokenStore) -> float | None:
    """The earliest plan time of any planned active credential (None: none planned)."""
    async with store.guard("read the refresh plan"), single_statement(store.engine) as conn:
        value = await conn.scalar(q.EARLIEST_DUE, {"status": _ACTIVE, "unplanned": 0.0})
    return None if value is None else float(value)


__all__ = ["Claimed", "claim", "credential_of", "earliest_due", "finish", "snapshot_of"]
