"""Settings, from `ZOHOAUTH_*` environment variables and `.env` (pydantic-settings).

Secrets are `SecretStr`, so printing the settings never shows them. Validation errors name the
variable and say how to fix it (`Settings.load()` turns pydantic's error into a ConfigError).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError


class Settings(BaseSettings):
    """Everything zohoauth reads from its environment (DESIGN.md "Configuration")."""

    model_config = SettingsConfigDict(
        env_prefix="ZOHOAUTH_", env_file=".env", extra="ignore", validate_default=True
    )

    client_id: str = Field("", description="The client id from Zoho's API console.")
    client_secret: SecretStr = Field(SecretStr(""), description="The client secret.")
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
    data_dir: Path = Field(Path(".zohoauth"), description="Where the demo keeps its files.")
    refresh_skew: float = Field(300.0, ge=0, description="Refresh this many seconds early.")
    use_pkce: bool = Field(True, description="Send a PKCE S256 challenge with each login.")

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an absolute http(s) URL, e.g. https://app.example/redirect.html"
            )
        return value

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(s for s in self.scopes.replace(",", " ").split() if s)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'zohoauth.db').as_posix()}"

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment (and `.env`); a bad value raises ConfigError naming it."""
        try:
            return cls(**overrides)  # type: ignore[arg-type]
        except ValidationError as exc:
            problems = "; ".join(
                f"ZOHOAUTH_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid settings — {problems}") from None

    def require(self, *names: str) -> None:
        """Raise ConfigError for each named setting that is empty, saying how to set it."""
        missing = []
        for name in names:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not raw:
                missing.append(f"ZOHOAUTH_{name.upper()}")
        if missing:
            raise ConfigError(
                f"missing setting(s): {', '.join(missing)} — set them in the environment or .env"
                + (
                    "; generate a key with `zohoauth keys generate`"
                    if "ZOHOAUTH_ENCRYPTION_KEYS" in missing
                    else ""
                )
            )
