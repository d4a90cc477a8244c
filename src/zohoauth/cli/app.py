"""The Typer app, its consoles and global options, shared by every command module.

Global options (`--env-file`, `--database-url`, `--data-dir`, `--log-format`, `--log-level`)
come before the command: `zohoauth --database-url postgresql://... tokens list`. They sit on top
of the `ZOHOAUTH_*` environment and `.env` (see `config.py`), and the data dir (the demo's key
and client, `datadir.py`) fills what all of those leave unset; commands read the merged result
with `settings()`. Every command that reads the settings also takes `--data-dir` after its own
name (`zohoauth tokens list --data-dir .zohoauth`): `with_data_dir_option` adds it.
Every command reports failures through `fail()`: a red `error:` line on stderr
and a non-zero exit, never a traceback, never a secret.

Start-up: importing the command modules loads Typer and nothing else heavy. Each command
imports what it uses when it runs (the store, the settings, aiohttp, the web app), the
consoles load rich on first print, and a `--help` anywhere on the line skips the global
logging set-up, so `zohoauth --help` and `zohoauth tokens list --help` read no settings.
Help is Click's plain text (`rich_markup_mode=None`): Typer's rich help formatter alone
imports markdown and syntax highlighting, ~2x the rest of `--help`'s start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")


class LogFormat(StrEnum):
    console = "console"
    json = "json"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class DataCenterCode(StrEnum):
    """Zoho's data centers, for options that take one (`datacenters.ZOHO_DATA_CENTERS`, pinned
    by a test; that module loads the HTTP client, too much for `--help`)."""

    us = "us"
    eu = "eu"
    in_ = "in"
    au = "au"
    jp = "jp"
    ca = "ca"
    sa = "sa"
    uk = "uk"
    cn = "cn"


#: `--data-dir`, the global option and every store command's own.
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where `zohoauth demo` keeps its store, key and client, used for settings left "
        "unset [default: ZOHOAUTH_DATA_DIR, else .zohoauth].",
        show_default=False,
    ),
]

#: Exit codes: 1 = the command failed, 2 = bad usage (Typer's), 3 = done, but some items failed.
EXIT_FAILED = 1
EXIT_PARTIAL = 3


class LazyConsole:
    """A rich `Console` made on first use (importing rich costs more than the rest of a
    `--help`); `print` passes through, `get()` is the console itself (for rich's Progress)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def print(self, *objects: Any, **kw: Any) -> None:
        self.get().print(*objects, **kw)


class _Root(TyperGroup):
    """The root command group; notes whether `--help` is anywhere on the command line (the
    root callback runs before a subcommand parses its own `--help`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_HELP] = "--help" in args
        return super().parse_args(ctx, args)


_HELP = "zohoauth.help_requested"

app = typer.Typer(
    name="zohoauth",
    cls=_Root,
    help="Multi-user, multi-data-center OAuth 2.0 for Zoho CRM, and an offline Zoho emulator.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = LazyConsole(soft_wrap=True)
err_console = LazyConsole(stderr=True, soft_wrap=True)
keys_app = typer.Typer(
    help="Encryption keys for the token store.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(
    help="The token store's database schema.", no_args_is_help=True, rich_markup_mode=None
)
tokens_app = typer.Typer(
    help="Stored tokens: list, inspect, refresh, revoke, import.", rich_markup_mode=None
)
tokens_app.info.no_args_is_help = True
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")


@dataclass(frozen=True)
class GlobalOptions:
    env_file: Path | None = None
    database_url: str | None = None
    data_dir: Path | None = None
    log_format: str | None = None
    log_level: str | None = None


_options = GlobalOptions()  # one CLI invocation at a time per process


class _Stderr:
    """Whatever `sys.stderr` is at write time (test runners swap it per invocation)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@app.callback()
def _root(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None, typer.Option(help="Read settings from this file instead of ./.env.")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Token store URL (overrides ZOHOAUTH_DATABASE_URL).")
    ] = None,
    data_dir: DataDirOption = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            case_sensitive=False, help="Log lines for people or machines [default: console]."
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            case_sensitive=False, help="The least severe lines logged [default: WARNING]."
        ),
    ] = None,
) -> None:
    """Multi-user, multi-data-center OAuth 2.0 for Zoho CRM, and an offline Zoho emulator."""
    global _options
    _options = ctx.obj = GlobalOptions(
        env_file,
        database_url,
        data_dir,
        log_format.value if log_format else None,
        log_level.value if log_level else None,
    )
    if not ctx.meta.get(_HELP):  # help is printed before any command runs: no logs needed
        _configure_logs(_options)


def log_setup(opts: GlobalOptions, default_level: str = "WARNING") -> tuple[str, str]:
    """(format, LEVEL) for a run: the global flags, else `ZOHOAUTH_LOG_FORMAT` /
    `ZOHOAUTH_LOG_LEVEL` (environment, `.env`), else console and `default_level`."""
    from ..config import Settings
    from ..errors import ConfigError

    try:
        s = Settings.load(
            env_file=opts.env_file, log_format=opts.log_format, log_level=opts.log_level
        )
    except ConfigError as exc:
        if opts.log_format or opts.log_level:
            fail(str(exc), 2)
        return "console", default_level  # the command itself reports the bad setting
    return s.log_format, s.log_level or default_level


def _configure_logs(opts: GlobalOptions) -> None:
    """Redacting structlog pipeline on stderr; every line of this run carries one request id."""
    import secrets

    import structlog

    from ..logs import configure_logging

    fmt, level = log_setup(opts)
    request_id = f"cli-{secrets.token_hex(6)}"
    stream: Any = _Stderr()
    configure_logging(fmt, level, stream, defaults={"request_id": request_id})
    structlog.contextvars.clear_contextvars()


def options() -> GlobalOptions:
    """The global options of the running command (set anew by every invocation)."""
    return _options


def settings(**overrides: object) -> Any:
    """The merged settings: command flags > global flags > environment > .env > the data dir's
    files (`datadir.py`) > defaults."""
    return settings_and_source(**overrides)[0]


def settings_and_source(**overrides: object) -> tuple[Any, Any]:
    """`settings()`, and the `DataDirValues` the data dir filled in (empty when none)."""
    from ..config import Settings
    from .datadir import data_dir_values

    opts = options()
    merged: dict[str, object] = {"database_url": opts.database_url, "data_dir": opts.data_dir}
    merged.update((k, v) for k, v in overrides.items() if v is not None)
    merged = {k: v for k, v in merged.items() if v is not None}
    s = Settings.load(env_file=opts.env_file, **merged)
    filled = data_dir_values(s)
    if filled.values:
        s = Settings.load(env_file=opts.env_file, **{**filled.values, **merged})
    return s, filled


def use_data_dir(data_dir: Path | None) -> None:
    """A command's own `--data-dir` (after its name) replaces the global one."""
    global _options
    if data_dir is not None:
        _options = replace(_options, data_dir=data_dir)


def with_data_dir_option(typer_app: typer.Typer, skip: frozenset[str], path: str = "") -> None:
    """Give every command of `typer_app` (and its groups) that has no `data_dir` parameter of
    its own a `--data-dir` option, but those whose path (e.g. "keys generate") is in `skip`.

    One place instead of a parameter in each command: a command added later (or in a module
    of another group) takes the flag, documented in its `--help`, without remembering to."""
    import functools
    import inspect

    def wrap(fn: Any) -> Any:
        sig = inspect.signature(fn, eval_str=True)
        if "data_dir" in sig.parameters:
            return fn

        @functools.wraps(fn)
        def command(*args: Any, data_dir: Path | None = None, **kwargs: Any) -> Any:
            use_data_dir(data_dir)
            return fn(*args, **kwargs)

        extra = inspect.Parameter(
            "data_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DataDirOption
        )
        command.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*sig.parameters.values(), extra]
        )
        command.__annotations__ = {
            **{p.name: p.annotation for p in sig.parameters.values()},
            "data_dir": DataDirOption,
            "return": sig.return_annotation,
        }
        return command

    for info in typer_app.registered_commands:
        if info.callback is None:
            continue
        name = info.name or info.callback.__name__.replace("_", "-")
        if f"{path}{name}" not in skip:
            info.callback = wrap(info.callback)
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        name = f"{path}{group.name} "
        callback = sub.registered_callback
        if callback is not None and callback.callback is not None and name.strip() not in skip:
            callback.callback = wrap(callback.callback)
        with_data_dir_option(sub, skip, name)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn zohoauth's errors (which say what to do and hold no secret) into `fail()`."""
    from ..errors import ZohoAuthError

    try:
        yield
    except ZohoAuthError as exc:
        fail(str(exc))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async command body, with zohoauth's errors reported."""
    import asyncio

    with reported():
        return asyncio.run(coro)
