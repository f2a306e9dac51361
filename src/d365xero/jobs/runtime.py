"""What every command that touches the store needs: the migrated database, sessions and the
secret box. Built on demand from settings, never at import time."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from d365xero.config import Settings
from d365xero.store.db import create_engine, session_factory
from d365xero.store.migrate import upgrade
from d365xero.store.secrets import SecretBox, secret_box
from d365xero.xero.cache import ReferenceCache


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    xero_cache: ReferenceCache = field(default_factory=ReferenceCache)

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.ensure_data_dir()
    url = settings.database()
    if migrate:
        upgrade(url)
    engine = create_engine(url)
    return Runtime(settings, engine, session_factory(engine), secret_box(settings))
