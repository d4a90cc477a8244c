"""Settings: `ZOHOAUTH_*` environment variables, `.env`, CLI flags on top (pydantic-settings).

Precedence, highest first: values passed to `Settings.load(...)` (the CLI's flags), environment
variables, the `.env` file (or the one named by `--env-file`), the defaults below.

Secrets are `SecretStr`, so printing the settings never shows them, and `Settings.describe()`
reports them only as "set" or "not set". Validation errors name the variable, say what is wrong
and how to fix it, and never repeat the value (it may be a secret pasted in the wrong place).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

PREFIX = "ZOHOAUTH_"

#: How to fix each setting, appended to its validation error.
_HOW_TO_FIX: dict[str, str] = {
    "redirect_uri": "use the redirect URI registered for the client in Zoho's API console",
    "database_url": "e.g. sqlite:///zohoauth.db, postgresql://user@host/db or mysql://user@host/db",
    "refresh_skew": "a number of seconds >= 0 (default 300)",
    "use_pkce": "true or false",
    "log_format": "console or json",
    "log_level": "DEBUG, INFO, WARNING, ERROR or CRITICAL",
    "data_dir": "a directory path",
    "client_secrets": "comma-separated dc:secret pairs, e.g. eu:...,in:...",
    "client_secrets_file": 'a JSON file of {"dc": "secret"}, e.g. {"eu": "..."}',
    "data_centers": "comma-separated DC codes, e.g. us,eu,uk; empty = every DC",
    "ca_bundle": "the path of a PEM file of CA certificates",
    "insecure_http": "true or false (default false)",
    "login_rate_limit": "e.g. 30/minute or 30/minute;200/hour; empty = no limit",
    "callback_rate_limit": "e.g. 10/minute or 10/minute;100/hour; empty = no limit",
    "forwarded_allow_ips": "comma-separated proxy addresses or networks, or *; empty = none",
    "metrics_port": "a TCP port (1-65535), or empty for /metrics on the app's own port",
    "metrics_host": "an address to listen on, e.g. 127.0.0.1 or 10.0.0.5",
    "keep_alive_timeout": "whole seconds >= 1 (default 5)",
    "header_timeout": "seconds > 0 (default 10)",
    "body_timeout": "seconds > 0 (default 30)",
    "refresher": "true or false (default false)",
    "refresher_lead": "seconds > 0 (default 600)",
    "refresher_active_hours": "hours > 0 (default 24)",
    "refresher_check_hours": "hours > 0 (default 24)",
    "refresher_batch_size": "a whole number from 1 to 1000 (default 20)",
    "refresher_client_rate": "refreshes per second > 0 (default 50)",
    "refresher_claim_ttl": "seconds > 0 (default 120)",
    "gc_threshold": "a whole number >= 0 (default 50000; 0 = Python's own collector settings)",
    "trusted_hosts": "comma-separated host names, `*.example.com` for subdomains, `*` for any; "
    "empty = the redirect URI's host plus loopback",
}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: What a DC code looks like; anything else in a DC position is not echoed back (it may be a
#: secret pasted in the wrong place).
_CODE_SHAPE = re.compile(r"^[a-z]{2,4}$")


def known_dc_codes() -> tuple[str, ...]:
    """The codes of Zoho's data centers (the built-in table), in its order."""
    from .datacenters import ZOHO_DATA_CENTERS  # lazily: it imports the HTTP client

    return tuple(ZOHO_DATA_CENTERS)


def _check_codes(codes: list[str], what: str) -> None:
    valid = known_dc_codes()
    bad = [c for c in codes if c not in valid]
    if bad:
        shown = ", ".join(repr(c) if _CODE_SHAPE.match(c) else "(not a DC code)" for c in bad)
        raise ValueError(f"unknown data center {shown} in {what}; valid codes: {', '.join(valid)}")
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} appears twice in {what}")


def parse_secret_pairs(value: str) -> dict[str, str]:
    """`ZOHOAUTH_CLIENT_SECRETS` (`eu:secret,in:secret`) as {dc: secret}; ValueError naming
    the entry (by position or DC code, never the secret) when malformed."""
    pairs: list[tuple[str, str]] = []
    for position, item in enumerate(value.split(","), start=1):
        if not item.strip():
            continue
        code, sep, secret = item.partition(":")
        code, secret = code.strip().lower(), secret.strip()
        if not sep or not secret:
            raise ValueError(f"entry #{position} is not dc:secret")
        pairs.append((code, secret))
    _check_codes([c for c, _ in pairs], "the list")
    return dict(pairs)


def read_secrets_file(path: Path) -> dict[str, str]:
    """A per-DC secrets file: one JSON object, `{"eu": "secret", "in": "secret"}`."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    except ValueError:
        raise ValueError(f"{path} is not JSON") from None
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in doc.items()
    ):
        raise ValueError(f'{path} must be one JSON object of non-empty strings, {{"eu": "..."}}')
    secrets = {k.strip().lower(): v.strip() for k, v in doc.items()}
    _check_codes(list(secrets), str(path))
    return secrets


class Settings(BaseSettings):
    """Everything zohoauth reads from its environment (README, "Configuration")."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    client_id: str = Field("", description="The client id from Zoho's API console.")
    client_secret: SecretStr = Field(
        SecretStr(""), description="The client secret, common to every DC without its own."
    )
    client_secrets: SecretStr = Field(
        SecretStr(""),
        description="Per-DC client secrets, dc:secret,dc:secret (each sent only to its DC).",
    )
    client_secrets_file: Path | None = Field(
        None, description='Per-DC client secrets in a JSON file: {"eu": "...", "in": "..."}.'
    )
    data_centers: str = Field(
        "", description="The DCs whose users may log in, e.g. us,eu,uk; empty = every DC."
    )
    redirect_uri: str = Field(
        "http://127.0.0.1:8000/redirect.html",
        description="Registered redirect URI; ends in /redirect.html for the web app.",
    )
    scopes: str = Field(
        "ZohoCRM.modules.ALL,ZohoCRM.settings.modules.READ,ZohoCRM.settings.fields.READ",
        description="Scopes to ask for, comma- or space-separated (identity scopes are added).",
    )
    database_url: str = Field("", description="sqlite:///..., postgresql://... or mysql://...")
    encryption_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated AES-256 keys, newest first."
    )
    session_secret: SecretStr = Field(SecretStr(""), description="Signs the web app's cookies.")
    zoho_endpoints: str = Field(
        "", description="An emulator's /_emulator/endpoints URL or a JSON file; empty = Zoho."
    )
    ca_bundle: str = Field(
        "", description="A PEM file of CAs to trust for Zoho's hosts instead of the system's."
    )
    data_dir: Path = Field(Path(".zohoauth"), description="Where the demo keeps its files.")
    refresh_skew: float = Field(300.0, ge=0, description="Refresh this many seconds early.")
    use_pkce: bool = Field(True, description="Send a PKCE S256 challenge with each login.")
    log_format: str = Field("console", description="Log lines for people (console) or json.")
    log_level: str = Field("", description="Log level; empty = the command's default.")
    service_key_pepper: SecretStr = Field(
        SecretStr(""),
        description="Pepper of service-key hashes; empty = derived from the encryption keys.",
    )
    service_rate_limit: float = Field(
        20.0, description="Token service: calls per second per service key (0 = no limit)."
    )
    service_rate_burst: float = Field(
        200.0, ge=1, description="Token service: calls a service key may make at once."
    )
    insecure_http: bool = Field(
        False,
        description="Let `serve` run with a plain-http redirect URI on a host that is not "
        "loopback (cookies without Secure, no HSTS).",
    )

    trusted_hosts: str = Field(
        "",
        description="Host names the web app answers for (Host header), comma-separated; "
        "empty = the redirect URI's host plus loopback; `*` = any.",
    )

    login_rate_limit: str = Field(
        "30/minute",
        description="GET /login per client address (`limits` notation); empty = no limit.",
    )
    callback_rate_limit: str = Field(
        "10/minute",
        description="POST /api/auth/callback per client address (each costs a token request "
        "with the client secret); empty = no limit.",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Proxies whose X-Forwarded-For/-Proto the web app believes (uvicorn's "
        "--forwarded-allow-ips); empty = none: the client address is the connection's.",
    )

    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve /metrics on this port of `metrics_host` (a second small server in "
        "the same process) instead of on the app's own port; empty = the app's port.",
    )
    metrics_host: str = Field("127.0.0.1", description="Where the metrics port listens.")
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="If set, /metrics on the app's own port needs `Authorization: Bearer <it>`.",
    )

    keep_alive_timeout: int = Field(
        5, ge=1, description="Close an idle kept-alive connection after this many seconds."
    )
    header_timeout: float = Field(
        10.0, gt=0, description="Close a connection whose request head takes longer (seconds)."
    )
    body_timeout: float = Field(
        30.0, gt=0, description="Answer 408 when a request body takes longer (seconds)."
    )
    gc_threshold: int = Field(
        50_000,
        ge=0,
        description="`serve`: freeze the start-up heap and collect the youngest generation "
        "after this many new objects (0 = Python's own settings); see web/server.py.",
    )

    # The background refresher (`zohoauth worker`, `zohoauth serve --refresher`).
    refresher: bool = Field(
        False, description="Run the background refresher inside each `serve` worker process."
    )
    refresher_lead: float = Field(
        600.0, gt=0, description="Refresh an active user's token this many seconds early."
    )
    refresher_active_hours: float = Field(
        24.0, gt=0, description="A connection used within this many hours is active."
    )
    refresher_check_hours: float = Field(
        24.0, gt=0, description="Check every idle grant (one refresh) at least this often."
    )
    refresher_batch_size: int = Field(
        20, ge=1, le=1000, description="Credentials claimed per transaction."
    )
    refresher_client_rate: float = Field(
        50.0, gt=0, description="At most this many refreshes per second per client id."
    )
    refresher_claim_ttl: float = Field(
        120.0,
        gt=0,
        description="Leases on claimed credentials last this long: a killed worker's work is "
        "taken over after it. Keep it well under the lead.",
    )

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _metrics_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_host")
    @classmethod
    def _metrics_host(cls, value: str) -> str:
        return value.strip() or "127.0.0.1"  # empty must not mean every interface

    @field_validator("login_rate_limit", "callback_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError:
                raise ValueError(
                    "use the `limits` notation, e.g. 10/minute or 10/minute;100/hour"
                ) from None
        return value.strip()

    @field_validator("trusted_hosts")
    @classmethod
    def _trusted_hosts(cls, value: str) -> str:
        for host in (h.strip() for h in value.split(",")):
            if "*" in host[1:] or (host.startswith("*") and host != "*" and host[:2] != "*."):
                raise ValueError("a wildcard must be `*.example.com`, or `*` alone")
        return value

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an absolute http(s) URL, e.g. https://app.example/redirect.html"
            )
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in ("console", "json"):
            raise ValueError("must be console or json")
        return value.lower()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value and value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    @field_validator("client_secrets")
    @classmethod
    def _client_secrets(cls, value: SecretStr) -> SecretStr:
        parse_secret_pairs(value.get_secret_value())
        return value

    @field_validator("client_secrets_file", mode="before")
    @classmethod
    def _client_secrets_file(cls, value: object) -> Path | None:
        if value is None or not str(value).strip():
            return None  # an empty variable is no file
        path = Path(str(value).strip())
        read_secrets_file(path)
        return path

    @field_validator("data_centers")
    @classmethod
    def _data_centers(cls, value: str) -> str:
        codes = [c.strip().lower() for c in value.replace(" ", ",").split(",") if c.strip()]
        _check_codes(codes, "the list")
        return ",".join(codes)

    @model_validator(mode="after")
    def _one_secret_per_dc(self) -> Settings:
        if self.client_secrets_file is None:
            return self
        listed = parse_secret_pairs(self.client_secrets.get_secret_value())
        both = sorted(set(listed) & set(read_secrets_file(self.client_secrets_file)))
        if both:
            raise ConfigError(
                f"invalid settings — {', '.join(both)} has a secret in both "
                f"{env_name('client_secrets')} and {env_name('client_secrets_file')}; keep one"
            )
        return self

    def client_secret_map(self) -> dict[str, str]:
        """The per-DC client secrets, {dc: secret}, from `ZOHOAUTH_CLIENT_SECRETS` and
        `ZOHOAUTH_CLIENT_SECRETS_FILE` (a DC in both is refused at load)."""
        found = parse_secret_pairs(self.client_secrets.get_secret_value())
        if self.client_secrets_file is not None:
            try:
                found.update(read_secrets_file(self.client_secrets_file))
            except ValueError as exc:  # changed since the settings were loaded
                raise ConfigError(f"{env_name('client_secrets_file')}: {exc}") from None
        return found

    @property
    def data_center_codes(self) -> frozenset[str] | None:
        """The DCs `ZOHOAUTH_DATA_CENTERS` enables, or None for every DC."""
        codes = frozenset(c for c in self.data_centers.split(",") if c)
        return codes or None

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(s for s in self.scopes.replace(",", " ").split() if s)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'zohoauth.db').as_posix()}"

    @classmethod
    def load(cls, *, env_file: str | Path | None = None, **overrides: object) -> Settings:
        """Read the environment (and `.env`, or `env_file`), with `overrides` (CLI flags) on
        top; `None` overrides are ignored. A bad value raises ConfigError naming it."""
        values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if env_file is not None:
            path = Path(env_file)
            if not path.is_file():
                raise ConfigError(f"the env file {path} does not exist; check --env-file")
            values["_env_file"] = path
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(f"invalid settings — {explain(exc)}") from None

    def require(self, *names: str) -> None:
        """Raise ConfigError for each named setting that is empty, saying how to set it."""
        missing = [env_name(name) for name in names if not self.is_set(name)]
        if missing:
            raise ConfigError(
                f"missing setting(s): {', '.join(missing)} — set them in the environment or .env"
                + (
                    "; generate a key with `zohoauth keys generate`"
                    if env_name("encryption_keys") in missing
                    else ""
                )
            )

    def is_set(self, name: str) -> bool:
        """Whether a setting has a value. The common client secret counts as set when every
        enabled DC has a secret of its own (a client with unique secrets per DC)."""
        if name == "client_secret" and not self.client_secret.get_secret_value():
            own = self.client_secret_map()
            return bool(own) and all(c in own for c in self.data_center_codes or known_dc_codes())
        value = getattr(self, name)
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return bool(raw)

    def describe(self) -> list[tuple[str, str]]:
        """(variable, shown value) for every setting; secrets only as "set"/"not set"."""
        rows: list[tuple[str, str]] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "client_secrets" and value.get_secret_value():
                codes = ", ".join(parse_secret_pairs(value.get_secret_value()))
                shown = f"set for {codes} (hidden)"
            elif isinstance(value, SecretStr):
                shown = "set (hidden)" if value.get_secret_value() else "not set"
            elif name == "database_url":
                from .store.urls import mask_url

                shown = mask_url(value) if value else f"not set ({self.effective_database_url})"
            else:
                shown = str(value) if value not in ("", None) else "not set"
            rows.append((env_name(name), shown))
        return rows


def env_name(field: str) -> str:
    """`client_id` -> `ZOHOAUTH_CLIENT_ID`."""
    return PREFIX + field.upper()


def explain(exc: ValidationError) -> str:
    """pydantic's errors as `ZOHOAUTH_X: what is wrong (how to fix)`, without the input value."""
    problems = []
    for error in exc.errors():
        field = "_".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        hint = _HOW_TO_FIX.get(field)
        problems.append(f"{env_name(field)}: {message}" + (f" ({hint})" if hint else ""))
    return "; ".join(problems)


__all__ = ["Settings", "env_name", "explain", "known_dc_codes"]
