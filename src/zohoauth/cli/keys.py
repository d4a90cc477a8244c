"""`zohoauth keys ...`: encryption keys for the token store.

Rotation, step by step: `keys generate`, put the new key *first* in ZOHOAUTH_ENCRYPTION_KEYS
and keep the old ones after it, restart the apps, run `keys rotate`, check `keys status`
shows only the new key id, then drop the old keys. `keys rotate` commits batch by batch, so
killing it at any moment leaves every row readable with the ring; running it again finishes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .app import console, err_console, fail, keys_app, run, settings


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new AES-256 key for ZOHOAUTH_ENCRYPTION_KEYS (put new keys first to rotate)."""
    from ..crypto import KeyRing

    print(KeyRing.generate_key())


@keys_app.command("status")
def keys_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
) -> None:
    """How many stored credentials each key id protects, and whether the ring has that key;
    service keys still hashed under an older key."""
    from .tables import Column, print_table
    from .tokens import open_store

    async def body() -> tuple[dict[str, int], Any, dict[str, int]]:
        from ..service import TokenService

        async with open_store(settings()) as store:
            peppers = await TokenService(store, auth=None).keys_by_pepper()
            return await store.count_by_key_id(), store.keyring, peppers

    counts, ring, peppers = run(body())
    rows = [
        {
            "key_id": kid,
            "credentials": counts.get(kid, 0),
            "service_keys": peppers.get(kid, 0),
            "in_ring": kid in ring,
            "active": kid == ring.active_kid,
        }
        for kid in dict.fromkeys([*ring.kids, *counts])
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(
            [Column("key id", key=True), "credentials", "in ZOHOAUTH_ENCRYPTION_KEYS"],
            [
                [
                    r["key_id"],
                    str(r["credentials"]),
                    "active" if r["active"] else ("yes" if r["in_ring"] else ("NO", "red")),
                ]
                for r in rows
            ],
            title="credentials by encryption key",
        )
    # Service keys hashed under a pepper derived from an older key (the token service).
    for kid, n in peppers.items():
        if kid != "setting" and kid != ring.active_kid:
            (err_console if as_json else console).print(
                f"{n} service key(s) are hashed under key id {kid}: they are re-hashed under the "
                "active key when next used; any not used by the time that key is dropped stop "
                "working (re-issue them with `zohoauth keys service create`)"
            )
    missing = [kid for kid in counts if kid not in ring]
    if missing:
        fail(
            f"{sum(counts[k] for k in missing)} credential(s) use key id(s) "
            f"{', '.join(missing)}, which ZOHOAUTH_ENCRYPTION_KEYS lacks: add those keys back"
        )


@keys_app.command("rotate")
def keys_rotate(
    batch: Annotated[int, typer.Option(min=1, help="Rows re-encrypted per transaction.")] = 500,
    pause: Annotated[
        float, typer.Option(min=0, help="Seconds to wait between batches (go easy on a live DB).")
    ] = 0.0,
) -> None:
    """Re-encrypt every credential with the active (first) key; safe to interrupt and rerun."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..store.rotate import rotate_keys
    from .tokens import open_store

    async def body() -> tuple[int, int]:
        async with open_store(settings()) as store:
            counts = await store.count_by_key_id()
            active = store.keyring.active_kid
            todo = sum(n for kid, n in counts.items() if kid != active)
            with Progress(
                TextColumn(f"re-encrypting with key {active}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err_console.get(),
                transient=True,
            ) as progress:
                task = progress.add_task("rotate", total=todo)

                async def step(n: int) -> None:
                    progress.advance(task, n)
                    if pause:
                        await asyncio.sleep(pause)

                done = await rotate_keys(store, batch=batch, on_batch=step)
            left = sum(n for kid, n in (await store.count_by_key_id()).items() if kid != active)
            return done, left

    done, left = run(body())
    if left:
        fail(
            f"re-encrypted {done} credential(s), but {left} still use an older key (written by "
            "an app still running with the old key first?); run `zohoauth keys rotate` again"
        )
    console.print(
        f"re-encrypted {done} credential(s); every credential now uses the active key"
        if done
        else "nothing to do: every credential already uses the active key"
    )
