"""Settings from `D365XERO_*` environment variables (and a `.env` file), built on demand."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from d365xero.errors import ConfigurationError
from d365xero.urls import remote_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="D365XERO_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".d365xero")
    database_url: str | None = None
    secret_key: str | None = None
    # Keys secrets may still be sealed with while `secrets rotate` runs (comma-separated; each a
    # Fernet key or a passphrase, like secret_key). Read with, never sealed with.
    old_secret_keys: str | None = None
    # `worker`: seconds between a worker's heartbeats, and without one after which a worker is
    # taken for dead and its jobs are queued again (a SIGKILL, a lost machine).
    worker_heartbeat_seconds: float = 10.0
    worker_stalled_seconds: float = 30.0
    ca_bundle: Path | None = None
    # Xero's origin (its identity server follows from it); an emulator's for the demo and tests.
    xero_url: str = "https://api.xero.com"
    # Client secrets `connection add` uses when its flags are not given (kept out of `ps` and
    # shell history that way); the portal's registered apps read the same two.
    xero_client_secret: SecretStr | None = None
    dataverse_client_secret: SecretStr | None = None
    # The portal's registered apps (Connect to Xero, Connect to Dynamics): their client ids,
    # with the two secrets above. Their redirect URIs are PUBLIC_URL's (or the request's)
    # /connections/new/xero/callback and /connections/new/dynamics/callback.
    xero_client_id: str | None = None
    dataverse_client_id: str | None = None

    # Where Dynamics and Xero reach `serve` (webhooks are registered at it), and the Xero app's
    # webhook signing key (developer portal, Webhooks).
    public_url: str | None = None
    xero_webhook_key: SecretStr | None = None
    # The portal's e-mails (verification, password reset). Without a host (demo and embedded
    # mode) they go to the outbox page (/outbox, on this machine only) and the log instead.
    # Port 465 is TLS from the start; any other port upgrades with STARTTLS unless told not to.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "d365xero <no-reply@localhost>"
    smtp_starttls: bool = True

    # Stripe, for plans and billing: its API origin (a local stand-in's for the demo and tests),
    # the account's secret API key, and the webhook endpoint's signing secret (whsec_...).
    stripe_url: str = "https://api.stripe.com"
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # `serve`'s scheduler: passes running at once, and how long a webhook's request waits for
    # others to join it (each arrival restarts the wait, up to the max after the first), so a
    # burst of changes becomes few passes.
    pass_pool_size: int = Field(default=4, ge=1, le=64)
    coalesce_seconds: float = Field(default=0.05, ge=0, le=60)
    coalesce_max_seconds: float = Field(default=5.0, ge=0, le=300)
    # Logs: "console" (for people) or "json" (one object a line, for collectors).
    log_format: str = Field(default="console", pattern="^(console|json)$")

    # An invoice Xero did not answer for is tried again on later passes, with exponential
    # backoff (1 minute doubling to 1 hour, with jitter), until it has failed this many times
    # or for this long, then marked Failed with the last reason.
    retry_max_attempts: int = Field(default=8, ge=1)
    retry_max_age_hours: float = Field(default=24.0, gt=0)

    @field_validator("xero_url")
    @classmethod
    def _xero_url_policy(cls, value: str) -> str:
        return remote_url(value, "D365XERO_XERO_URL")

    @field_validator("stripe_url")
    @classmethod
    def _stripe_url_policy(cls, value: str) -> str:
        return remote_url(value, "D365XERO_STRIPE_URL")

    def database(self) -> str:
        """The store's URL: the configured one, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'd365xero.sqlite3').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data folder, created readable by its owner only (it holds the secret key and the
        store); an existing folder is left as its owner set it. Only commands that write call
        this."""
        try:
            self.data_dir.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            return self.data_dir
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror or exc} "
                "(set D365XERO_DATA_DIR to a folder you can write)"
            ) from exc
        self.data_dir.chmod(0o700)  # mkdir's mode is narrowed by the umask, never widened
        return self.data_dir


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
