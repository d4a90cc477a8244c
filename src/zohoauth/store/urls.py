"""Database URLs: what users write (`postgresql://...`) mapped to the async driver we ship.

People copy URLs from their hosting provider (`postgres://`, `mysql://`, `mariadb://`), so the
plain schemes are accepted and mapped to aiosqlite, asyncpg and aiomysql. Anything else is a
ConfigError naming `ZOHOAUTH_DATABASE_URL`. Passwords never appear in messages: `mask_url`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError

ENV_VAR = "ZOHOAUTH_DATABASE_URL"

# scheme as written -> SQLAlchemy drivername we use
_DRIVERS: dict[str, str] = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgres+asyncpg": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "mysql+aiomysql": "mysql+aiomysql",
    "mariadb+aiomysql": "mysql+aiomysql",
}
_EXAMPLES = (
    "sqlite:///path/to/zohoauth.db, postgresql://user:pass@host:5432/db or "
    "mysql://user:pass@host:3306/db"
)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by `***` (safe for logs and errors)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Unparseable: keep only the scheme; the rest might hold a password.
        scheme = _scheme(url)
        return f"{scheme}://..." if scheme else "<unparseable URL>"


def normalize_url(url: str | URL) -> URL:
    """Parse and map a database URL onto the async driver zohoauth ships for it."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url.strip()
    scheme = _scheme(text)
    driver = _DRIVERS.get(scheme)
    if driver is None:
        shown = f"{scheme!r}" if scheme else "no scheme"
        raise ConfigError(f"{ENV_VAR} has an unsupported scheme ({shown}); use one of {_EXAMPLES}")
    # Swap the scheme as written for our driver name; the rest of the URL is kept verbatim.
    try:
        parsed = make_url(driver + text[len(scheme) :])
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{ENV_VAR} is not a valid database URL ({mask_url(text)}); use {_EXAMPLES}"
        ) from None
    query = dict(parsed.query)
    if driver.startswith("postgresql") and "sslmode" in query and "ssl" not in query:
        # libpq spelling (what hosting providers hand out) -> asyncpg's `ssl` argument.
        query["ssl"] = query.pop("sslmode")
    if driver.startswith("mysql"):
        query.setdefault("charset", "utf8mb4")
    if not driver.startswith("sqlite") and not parsed.database:
        raise ConfigError(f"{ENV_VAR} names no database ({mask_url(parsed)}); use {_EXAMPLES}")
    return parsed.set(query=query)


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory databases)."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite":
        return None
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_url(path: str | Path) -> str:
    """A SQLite URL for a file path (what `zohoauth demo` puts in its data dir)."""
    return f"sqlite+aiosqlite:///{Path(path).resolve()}"


__all__ = ["ENV_VAR", "mask_url", "normalize_url", "sqlite_path", "sqlite_url"]
