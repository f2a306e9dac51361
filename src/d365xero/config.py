"""Settings from `D365XERO_*` environment variables (and a `.env` file), built on demand."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="D365XERO_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".d365xero")
    database_url: str | None = None
    secret_key: str | None = None
    ca_bundle: Path | None = None
    # An invoice Xero did not answer for is tried again on later passes, with exponential
    # backoff (1 minute doubling to 1 hour, with jitter), until it has failed this many times
    # or for this long, then marked Failed with the last reason.
    retry_max_attempts: int = Field(default=8, ge=1)
    retry_max_age_hours: float = Field(default=24.0, gt=0)

    def database(self) -> str:
        """The store's URL: the configured one, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'd365xero.sqlite3').resolve()}"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
