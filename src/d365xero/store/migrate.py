"""Alembic, run from code: the migrations ship inside the package, so an installed `d365xero`
upgrades its database without an alembic.ini."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from d365xero.errors import ConfigurationError
from d365xero.store.db import connect

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextmanager
def _configured(url: str) -> Iterator[Config]:
    """A config holding an open connection inside one transaction, committed on success."""
    engine = connect(url)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            yield config
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (creating the tables on an empty one)."""
    with _configured(url) as config:
        try:
            command.upgrade(config, revision)
        except CommandError as exc:  # e.g. an unknown revision: the message is alembic's own
            raise ConfigurationError(f"cannot upgrade to {revision!r}: {exc}") from exc


def downgrade(url: str, revision: str) -> None:
    with _configured(url) as config:
        command.downgrade(config, revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = connect(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def new_revision(url: str, message: str) -> None:
    """For developers: autogenerate a migration from the models against the database at `url`
    (which must be at head), into migrations/versions/."""
    with _configured(url) as config:
        command.revision(config, message=message, autogenerate=True)
