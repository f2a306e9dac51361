"""Settings from `D365XERO_*` environment variables (and a `.env` file), built on demand."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from d365xero.errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="D365XERO_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".d365xero")
    database_url: str | None = None
    secret_key: str | None = None
    ca_bundle: Path | None = None

    def database(self) -> str:
        """The store's URL: the configured one, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'd365xero.sqlite3').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data folder, created if need be: only commands that write call this."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror or exc} "
                "(set D365XERO_DATA_DIR to a folder you can write)"
            ) from exc
        return self.data_dir


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
