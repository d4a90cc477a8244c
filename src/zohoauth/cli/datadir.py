"""The demo's data dir as settings for every other command.

`zohoauth demo` keeps its files in a data dir (`--data-dir`, `ZOHOAUTH_DATA_DIR`, default
`.zohoauth/`): the SQLite store `zohoauth.db`, the encryption key `encryption.key` and the
session secret `session.secret` (both generated on first run, mode 0600), and `demo.json`,
rewritten at each start, which says where that run's emulator and web app listen. The demo's
client id and secret are not secrets (the emulator accepts them and nothing else does); they
are the seed's, so they are not written down.

Every command that opens the store reads the same files, so after `zohoauth demo` the CLI
works on the demo's data with nothing exported: `zohoauth tokens list` in the same directory,
or `--data-dir DIR` elsewhere. What the user configured always wins, and the data dir only
fills what is left unset:

- only when `ZOHOAUTH_DATABASE_URL` is unset, so the store is the data dir's own SQLite file
  (the data dir's key must never encrypt rows of another database);
- the key and the session secret, each when its variable is unset;
- the demo's client, redirect URI and emulator, only when no client id or secret is set (a
  client of one's own must never get the demo's secret or the emulator's hosts).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings

KEY_FILE = "encryption.key"
SECRET_FILE = "session.secret"
DEMO_FILE = "demo.json"
DB_FILE = "zohoauth.db"


@dataclass(frozen=True, slots=True)
class DataDirValues:
    """What a data dir supplies (setting name -> value) and where it came from."""

    directory: Path
    values: dict[str, Any]

    @property
    def names(self) -> list[str]:
        return sorted(self.values)


def write_demo_file(directory: Path, *, emulator_url: str, redirect_uri: str) -> None:
    """Note, for the CLI, where this demo run's emulator and app are (mode 0600, replaced
    whole, so a reader never sees half a file)."""
    doc = {"emulator_url": emulator_url, "redirect_uri": redirect_uri}
    tmp = directory / f".{DEMO_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out, indent=2)
        out.write("\n")
    tmp.replace(directory / DEMO_FILE)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return ""
    except OSError as exc:
        from ..errors import ConfigError

        raise ConfigError(
            f"cannot read {path} ({exc.strerror or type(exc).__name__}); check its permissions"
        ) from None


def _demo(directory: Path) -> dict[str, str]:
    text = _read(directory / DEMO_FILE)
    if not text:
        return {}
    try:
        doc = json.loads(text)
        emulator_url, redirect_uri = str(doc["emulator_url"]), str(doc["redirect_uri"])
    except (ValueError, KeyError, TypeError):
        from ..errors import ConfigError

        raise ConfigError(
            f"{directory / DEMO_FILE} is not what `zohoauth demo` writes; delete it and run "
            "`zohoauth demo` again"
        ) from None
    from ..emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return {
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": redirect_uri,
        "zoho_endpoints": f"{emulator_url.rstrip('/')}/_emulator/endpoints",
    }


def data_dir_values(s: Settings) -> DataDirValues:
    """The settings `s.data_dir` fills in for `s` (those the user left unset); see above."""
    directory = s.data_dir
    found: dict[str, Any] = {}
    if s.database_url:
        return DataDirValues(directory, found)
    for name, file in (("encryption_keys", KEY_FILE), ("session_secret", SECRET_FILE)):
        if not s.is_set(name):
            value = _read(directory / file)
            if value:
                found[name] = value
    own_client = s.client_id or s.client_secret.get_secret_value() or s.client_secret_map()
    if not own_client:
        for name, value in _demo(directory).items():
            if name not in s.model_fields_set or not getattr(s, name):
                found[name] = value
    return DataDirValues(directory, found)


def missing_help(s: Settings, names: list[str]) -> str:
    """What to do about settings `names` that neither the user nor the data dir supplied."""
    from ..config import env_name

    missing = ", ".join(env_name(n) for n in names)
    if s.database_url:
        where = "set them in the environment, .env or --env-file"
    else:
        directory = s.data_dir
        have = (
            f"the data dir {directory} has no {KEY_FILE}"
            if "encryption_keys" in names
            else f"the data dir {directory} has no {DEMO_FILE} (the demo's client)"
        )
        if not directory.is_dir():
            have = f"there is no data dir at {directory}"
        where = (
            "set them in the environment, .env or --env-file; or, for the demo's data, run "
            f"`zohoauth demo` first, here or with --data-dir DIR ({have})"
        )
    key_hint = "; `zohoauth keys generate` prints a key" if "encryption_keys" in names else ""
    return f"not configured: set {missing} — {where}{key_hint}"


def require(s: Settings, *names: str) -> None:
    """ConfigError naming each of `names` still unset, and where it could come from."""
    from ..errors import ConfigError

    missing = [n for n in names if not s.is_set(n)]
    if missing:
        raise ConfigError(missing_help(s, missing))


__all__ = [
    "DB_FILE",
    "DEMO_FILE",
    "KEY_FILE",
    "SECRET_FILE",
    "DataDirValues",
    "data_dir_values",
    "missing_help",
    "require",
    "write_demo_file",
]
