"""Private files for the SQLite token store: its directory 0700, the database 0600, and so its
`-wal`, `-shm` and `-journal` files 0600 too.

A SQLite database holds emails, zuids and the token ciphertexts; nobody but the app's own user
should read it. The modes are set explicitly, whatever the umask (a permissive 0o000 or the
usual 0o022 would otherwise leave the database 0644 or 0666): a missing directory is made 0700
and chmod-ed so; the database file is created empty at 0600 *before* SQLite first opens it, and
SQLite gives the WAL, SHM and journal files it creates the database file's own mode.

Existing files are never changed silently — an operator may have chosen their modes (a group
that backs them up). `loose_files` lists those that give group or others any access: opening
the store logs a warning for each, and `zohoauth doctor` warns with the chmod to run.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The files SQLite keeps next to a database (write-ahead log, its shared memory, the rollback
#: journal), named by suffix.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents, each exactly 0700; an existing directory is left
    as it is (see `loose_files`). OSError if it can't be made."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made a moment ago by another process: theirs, left as it is
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask


def private_file(path: Path) -> bool:
    """Create `path` empty and exactly 0600 if it does not exist; True if created here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)  # os.open's mode passes through the umask too
    finally:
        os.close(fd)
    return True


def prepare_sqlite_file(path: Path) -> None:
    """Before SQLite opens `path`: its directory and the (empty) file made private if missing."""
    private_dir(path.parent)
    private_file(path)


def is_loose(mode: int, wanted: int) -> bool:
    """Does `mode` give anyone more than `wanted` does (pure)? Only group and other bits count:
    the owner may have less (a read-only copy) without anyone else gaining access."""
    return bool(stat.S_IMODE(mode) & 0o077 & ~wanted)


@dataclass(frozen=True, slots=True)
class LooseFile:
    """A file or directory of the store that others can reach, and the command that fixes it."""

    path: Path
    mode: int  # its permission bits
    wanted: int

    @property
    def fix(self) -> str:
        return f"chmod {self.wanted:o} {shlex.quote(str(self.path))}"

    def __str__(self) -> str:
        return f"{self.path} is {self.mode:04o}, readable beyond its owner; run `{self.fix}`"


def loose_files(database: Path | None, data_dir: Path | None = None) -> list[LooseFile]:
    """The existing store files whose modes give group or others access: the database and its
    side files (0600 wanted), and `data_dir` (0700 wanted) when given."""
    wanted: list[tuple[Path, int]] = []
    if data_dir is not None:
        wanted.append((data_dir, DIR_MODE))
    if database is not None:
        wanted.append((database, FILE_MODE))
        wanted.extend((Path(f"{database}{suffix}"), FILE_MODE) for suffix in SIDE_SUFFIXES)
    found = []
    for path, mode in wanted:
        try:
            bits = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # not there (yet): nothing to warn about
        if is_loose(bits, mode):
            found.append(LooseFile(path, bits, mode))
    return found


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "LooseFile",
    "is_loose",
    "loose_files",
    "prepare_sqlite_file",
    "private_dir",
    "private_file",
]
