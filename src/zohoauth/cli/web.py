"""`zohoauth demo` (emulator + web app, nothing to configure) and `zohoauth serve` (real Zoho).

The demo keeps its files in a data dir (default `.zohoauth/` in the working directory, or
`ZOHOAUTH_DATA_DIR`): the SQLite token store, an encryption key and a session secret, both
generated on first run with file mode 0600 and reused afterwards, and `demo.json`, where this
run's emulator listens, so the other commands work on the demo's data (`datadir.py`).
The emulator keeps its state in memory, so tokens stored by an earlier run are unknown to a
fresh emulator: the app finds out on first use (Zoho's `invalid_code`), marks them
`reauth_required`, and the UI offers "Reconnect".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import stat
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from .app import LogFormat, LogLevel, app, console, err_console, log_setup, options
from .datadir import DB_FILE, KEY_FILE, SECRET_FILE, write_demo_file


def _secret_file(path: Path, make: Any) -> str:
    """The secret in `path`, created (mode 0600, never group/world readable) when missing."""
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another demo made it a moment ago: read theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(str(make()) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
    value = path.read_text().strip()
    if not value:
        err_console.print(f"[red]error:[/red] {path} is empty; delete it to generate a new one")
        raise typer.Exit(1)
    return value


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_ready(urls: list[str], timeout: float = 30.0) -> bool:
    import httpx  # only the demo talks to its own servers; `--help` never loads a client

    deadline = time.monotonic() + timeout
    pending = list(urls)
    with httpx.Client(timeout=2.0) as http:
        while pending and time.monotonic() < deadline:
            try:
                if http.get(pending[0]).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    return not pending


@contextlib.contextmanager
def _stop_on_signals(server: Any) -> Iterator[None]:
    """SIGINT/SIGTERM stop `server` gracefully, and then the demo returns normally.

    uvicorn handles both while it runs, and afterwards re-raises the signal it caught to the
    handler that was there before; that is this one, so the emulator is stopped and the demo
    exits 0 rather than dying of the re-raised signal.
    """

    def note(sig: int, frame: object) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: What the welcome screen calls Zoho China's own sign-in (index.html's second choice).
CHINA_CHOICE = "Zoho China (zoho.com.cn)"


def _print_accounts(emulator_url: str) -> None:
    """The seeded accounts, and how each signs in: "Login with Zoho" (Zoho's Multi-DC sign-in)
    for all but China's, whose users exist only at Zoho China's own sign-in."""
    import httpx

    users = httpx.get(f"{emulator_url}/_emulator/users", timeout=5).json()["users"]
    endpoints = httpx.get(f"{emulator_url}/_emulator/endpoints", timeout=5).json()
    console.print("Seeded Zoho accounts (type one of these emails on the consent page).")
    console.print(
        f'"Login with Zoho" signs in all but China\'s, which use "{CHINA_CHOICE}":', markup=False
    )
    width = max((len(u["email"]) for u in users), default=24)
    for user in users:
        orgs = ", ".join(f"{o['company_name']} ({o['id']})" for o in user["orgs"])
        china = endpoints.get(user["dc"], {}).get("login_dc", "us") != "us"
        how = f'   → sign in with "{CHINA_CHOICE}"' if china else ""
        line = f"  {user['email']:<{width}} {user['dc'].upper():<3} {orgs}{how}"
        console.print(line, markup=False)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
    emulator_port: Annotated[int, typer.Option(help="Port of the Zoho emulator.")] = 9090,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the demo keeps its store and keys (default .zohoauth/)."),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser.")
    ] = False,
) -> None:
    """Run the web app against the offline Zoho emulator: nothing to register or configure."""
    import httpx
    import uvicorn

    from ..config import Settings
    from ..crypto import KeyRing
    from ..emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URIS
    from ..emulator.server import BackgroundEmulator
    from ..errors import ZohoAuthError
    from ..logs import configure_logging
    from ..web.app import create_app, uvicorn_options

    host = "127.0.0.1"
    for name, wanted in (("--port", port), ("--emulator-port", emulator_port)):
        if not _port_free(host, wanted):
            err_console.print(
                f"[red]error:[/red] port {wanted} on {host} is in use; stop what uses it or "
                f"pick another with {name}"
            )
            raise typer.Exit(1)
    directory = data_dir or Path(os.environ.get("ZOHOAUTH_DATA_DIR") or ".zohoauth")
    from ..store.files import private_dir

    private_dir(directory)  # 0700 (parents too), whatever the umask
    key = _secret_file(directory / KEY_FILE, KeyRing.generate_key)
    session_secret = _secret_file(directory / SECRET_FILE, lambda: secrets.token_urlsafe(32))

    # The global --log-format/--log-level (or ZOHOAUTH_LOG_*) apply; quiet (WARNING) otherwise.
    # Reconfigured without the CLI run's request id: each web request logs its own.
    log_format, log_level = log_setup(options(), "WARNING")
    configure_logging(log_format, log_level)
    emulator = BackgroundEmulator(host=host, port=emulator_port).start()
    try:
        redirect_uri = f"http://{host}:{port}/redirect.html"
        uris = [*DEMO_REDIRECT_URIS, redirect_uri, f"http://localhost:{port}/redirect.html"]
        httpx.post(
            f"{emulator.url}/_emulator/clients",
            json={
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "redirect_uris": list(dict.fromkeys(uris)),
                "name": "zohoauth demo",
            },
            timeout=5,
        ).raise_for_status()
        settings = Settings.load(
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            redirect_uri=redirect_uri,
            database_url=f"sqlite:///{(directory / DB_FILE).as_posix()}",
            encryption_keys=key,
            session_secret=session_secret,
            zoho_endpoints=f"{emulator.url}/_emulator/endpoints",
            data_dir=directory,
        )
        web_app = create_app(settings, auto_migrate=True)
        write_demo_file(directory, emulator_url=emulator.url, redirect_uri=redirect_uri)
        server = uvicorn.Server(
            uvicorn.Config(
                web_app,
                host=host,
                port=port,
                log_level=log_level.lower(),
                **uvicorn_options(settings),
            )
        )
        url = f"http://{host}:{port}"
        console.print(f"zohoauth demo: the web app on {url}, the Zoho emulator on {emulator.url}")
        console.print(f"data dir: {directory.resolve()} (token store, key, session secret)")
        default = Path(os.environ.get("ZOHOAUTH_DATA_DIR") or ".zohoauth")
        here = directory.resolve() == default.resolve()
        flag = "" if here else f" --data-dir {directory}"
        console.print(
            f"The CLI reads it too, nothing to export: zohoauth tokens list{flag}", markup=False
        )
        _print_accounts(emulator.url)

        def announce() -> None:
            if not _wait_ready([f"{url}/healthz", f"{emulator.url}/_emulator/health"]):
                err_console.print("[red]error:[/red] the web app did not start in time")
                server.should_exit = True
                return
            print(f"zohoauth demo ready: {url}", flush=True)
            console.print("Press Ctrl-C to stop.")
            if not no_browser:
                webbrowser.open(url)

        threading.Thread(target=announce, name="demo-ready", daemon=True).start()
        with _stop_on_signals(server):
            server.run()  # Ctrl-C (SIGINT) and SIGTERM: finishes requests, then returns
    except ZohoAuthError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        emulator.stop()
    console.print("zohoauth demo stopped.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (share one store).")] = 1,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            case_sensitive=False,
            help="Log lines for people or machines [default: the global --log-format, else "
            "ZOHOAUTH_LOG_FORMAT, else console].",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            case_sensitive=False,
            help="The least severe lines logged [default: the global --log-level, else "
            "ZOHOAUTH_LOG_LEVEL, else info].",
        ),
    ] = None,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Create or upgrade the store's schema first.")
    ] = False,
    api_only: Annotated[
        bool,
        typer.Option("--api-only", help="Only the token service (/api/v1) and health checks."),
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve /metrics on this port instead of the app's (a second small server; "
            "the app's /metrics then answers 404). Default: ZOHOAUTH_METRICS_PORT, else none.",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(
            help="Where --metrics-port listens (default ZOHOAUTH_METRICS_HOST, else 127.0.0.1)."
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies (addresses, networks or *) whose X-Forwarded-For/-Proto to believe: "
            "the client address then comes from there (login rate limits, logs). Default: "
            "ZOHOAUTH_FORWARDED_ALLOW_IPS, else none.",
        ),
    ] = None,
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http",
            help="Allow a plain-http redirect URI on a host that is not loopback (cookies "
            "without Secure, no HSTS). Also ZOHOAUTH_INSECURE_HTTP=true.",
        ),
    ] = False,
    refresher: Annotated[
        bool,
        typer.Option(
            "--refresher",
            help="Also keep tokens fresh in the background, in every worker process (for "
            "single-host deployments; else run `zohoauth worker`). Also ZOHOAUTH_REFRESHER=true.",
        ),
    ] = False,
) -> None:
    """Serve the web app for real Zoho, configured from ZOHOAUTH_* environment / .env."""
    import uvicorn

    from ..web.app import API_ONLY_ENV, LOG_FORMAT_ENV, LOG_LEVEL_ENV, uvicorn_options

    # This command's flags, else the global ones (or ZOHOAUTH_LOG_*), else console and INFO.
    default_format, default_level = log_setup(options(), "INFO")
    fmt = (log_format.value if log_format else default_format).lower()
    level = (log_level.value if log_level else default_level).upper()
    problem = check_serve_settings(migrate, insecure_http=insecure_http)
    if problem:
        err_console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(1)
    from ..config import Settings

    settings = Settings.load(
        forwarded_allow_ips=forwarded_allow_ips,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    if settings.metrics_port is not None and workers > 1:
        err_console.print(
            "[red]error:[/red] a metrics port serves one process's metrics, and each of "
            f"{workers} workers would need its own port; with --workers, keep /metrics on the "
            "app's port behind ZOHOAUTH_METRICS_TOKEN instead"
        )
        raise typer.Exit(2)
    # Worker processes build their own app (app_factory) and read these to log the same way.
    os.environ[LOG_FORMAT_ENV] = fmt
    os.environ[LOG_LEVEL_ENV] = level
    if settings.metrics_port is not None:  # the app (app_factory) starts the metrics server
        os.environ["ZOHOAUTH_METRICS_PORT"] = str(settings.metrics_port)
        os.environ["ZOHOAUTH_METRICS_HOST"] = settings.metrics_host
    os.environ[API_ONLY_ENV] = "1" if api_only else "0"
    if refresher:  # worker processes build their settings from the environment
        os.environ["ZOHOAUTH_REFRESHER"] = "true"
    from ..logs import configure_logging

    configure_logging(fmt, level)
    uvicorn.run(
        "zohoauth.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=level.lower(),
        **uvicorn_options(settings, factory=True),
    )


def plain_http_problem(redirect_uri: str) -> str | None:
    """Why `serve` refuses `redirect_uri`, or None: plain http is for loopback only (pure).

    Over plain http the app's cookies lose `Secure` and there is no HSTS, so anyone on the way
    reads the session cookie, and can replace cookies (RFC 9700 §2.6: no authorization
    responses over plain http outside localhost)."""
    from urllib.parse import urlsplit

    from ..ops.checks import is_loopback

    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    if parts.scheme != "http" or is_loopback(host):
        return None
    return (
        f"ZOHOAUTH_REDIRECT_URI {redirect_uri} is plain http on {host}, which is not this "
        "machine: browsers would send the session cookie unencrypted (no Secure flag, no HSTS), "
        "to be read or replaced by anyone on the way. Use an https:// redirect URI (TLS may end "
        "at a proxy in front of the app), or, to accept that risk, pass --insecure-http or set "
        "ZOHOAUTH_INSECURE_HTTP=true. Plain http needs neither on loopback (127.0.0.0/8, ::1, "
        "localhost)."
    )


def check_serve_settings(migrate: bool, *, insecure_http: bool = False) -> str | None:
    """Everything `serve` needs, checked once before any worker starts; the problem or None."""
    import asyncio

    from .. import wiring
    from ..auth import ZohoAuth
    from ..config import Settings
    from ..errors import ZohoAuthError

    try:
        settings = Settings.load()
        settings.require(*wiring.REQUIRED, "session_secret")
        if not settings.redirect_uri.split("?")[0].endswith("/redirect.html"):
            return (
                "ZOHOAUTH_REDIRECT_URI must end with /redirect.html (the page that finishes the "
                f"login), e.g. https://app.example/redirect.html; it is {settings.redirect_uri!r}"
            )
        plain = plain_http_problem(settings.redirect_uri)
        if plain and not (insecure_http or settings.insecure_http):
            return plain
        if not settings.database_url:
            from ..store.files import private_dir

            private_dir(settings.data_dir)  # 0700, whatever the umask

        async def probe() -> None:
            auth = ZohoAuth.from_settings(settings, auto_migrate=migrate)
            await auth.open()
            await auth.aclose()

        asyncio.run(probe())
    except ZohoAuthError as exc:
        return str(exc)
    return None
