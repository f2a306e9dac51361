"""What every command that touches the store needs: the migrated database, sessions and the
secret box. Built on demand from settings, never at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from d365xero.config import Settings
from d365xero.jobs.clients import ConnectionClients, build_clients
from d365xero.jobs.refstore import StoreCacheBacking
from d365xero.store.db import create_engine, session_factory
from d365xero.store.migrate import upgrade
from d365xero.store.models import Connection
from d365xero.store.secrets import SecretBox, secret_box
from d365xero.xero.cache import ReferenceCache


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    xero_cache: ReferenceCache = field(default_factory=ReferenceCache)
    # Per connection, with the connection's updated_at they were built for: kept across passes
    # so tokens (30 to 90 minutes), TLS contexts and keep-alive connections are reused.
    _clients: dict[str, tuple[datetime, ConnectionClients]] = field(default_factory=dict)

    def clients_for(self, connection: Connection, secrets: dict[str, Any]) -> ConnectionClients:
        cached = self._clients.get(connection.id)
        if cached and cached[0] == connection.updated_at:
            return cached[1]
        self.forget_clients(connection.id)
        clients = build_clients(self.settings, connection, secrets, self.xero_cache)
        self._clients[connection.id] = (connection.updated_at, clients)
        return clients

    def forget_clients(self, connection_id: str) -> None:
        cached = self._clients.pop(connection_id, None)
        if cached:
            cached[1].close()

    def close(self) -> None:
        for connection_id in list(self._clients):
            self.forget_clients(connection_id)
        self.engine.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.ensure_data_dir()
    url = settings.database()
    if migrate:
        upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    cache = ReferenceCache(backing=StoreCacheBacking(sessions))
    return Runtime(settings, engine, sessions, secret_box(settings), cache)
