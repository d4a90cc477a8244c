"""`zohoauth worker`: the background refresher as a process of its own (`zohoauth.refresher`).

Run one per host, or several: they share the work through the database (`FOR UPDATE SKIP
LOCKED` claims and the request path's refresh lease), never refreshing a token twice. SIGTERM
(or Ctrl-C) stops it gracefully: refreshes in flight finish, claimed rows are handed back.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .app import app, console, reported, run, settings


@app.command()
def worker(
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Work through what is due now, then exit (cron, tests, a backlog)."
        ),
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="Credentials claimed per transaction (ZOHOAUTH_REFRESHER_BATCH_SIZE).",
        ),
    ] = None,
    lead: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="Refresh active users' tokens this many seconds early (ZOHOAUTH_REFRESHER_LEAD).",
        ),
    ] = None,
    active_hours: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="A connection used within this many hours is active "
            "(ZOHOAUTH_REFRESHER_ACTIVE_HOURS; default 24).",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this process's Prometheus metrics on this port (default "
            "ZOHOAUTH_METRICS_PORT, else none).",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Where --metrics-port listens (default ZOHOAUTH_METRICS_HOST)."),
    ] = None,
) -> None:
    """Keep tokens fresh in the background: refresh active users' tokens shortly before they
    expire and check every idle grant once a day, so a revoked one turns reauth_required
    before its user notices. Any number of workers may share one database."""
    with reported():  # a bad setting: one `error:` line naming it
        s = settings(
            refresher_batch_size=batch_size,
            refresher_lead=lead,
            refresher_active_hours=active_hours,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
        )
    stats = run(_work(s, once))
    failed = ", ".join(f"{k} {n}" for k, n in sorted(stats.failed.items())) or "none"
    console.print(
        f"refresher stopped: {stats.refreshed} refreshed, {stats.replanned} re-planned, "
        f"failed: {failed}"
    )


async def _work(s: Any, once: bool) -> Any:
    import asyncio
    import signal

    from prometheus_client import start_http_server

    from ..auth import ZohoAuth

    auth = ZohoAuth.from_settings(s)
    async with auth:
        refresher = auth.refresher(s)
        auth.service.start()  # reauth_required and refresh events reach the webhooks
        if s.metrics_port is not None:
            server, _thread = start_http_server(s.metrics_port, addr=s.metrics_host)
        else:
            server = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, refresher.stop)
        try:
            if once:
                while not refresher.stopping:
                    batch = await refresher.run_once()
                    if batch.claimed < refresher.config.batch_size:
                        break
            else:
                console.print(f"refresher running as {refresher.owner}; SIGTERM stops it")
                await refresher.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if server is not None:
                server.shutdown()
        return refresher.stats
