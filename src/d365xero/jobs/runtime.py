"""What every command that touches the store needs: the migrated database, sessions and the
secret box. Built on demand from settings, never at import time; the clients (httpx, msal, the
Xero SDK) and the migrations (alembic) are imported only when used, so a command that only reads
the store starts quickly."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from d365xero.config import Settings
from d365xero.jobs.refstore import StoreCacheBacking
from d365xero.store.db import connect, session_factory
from d365xero.store.models import Connection
from d365xero.store.secrets import SecretBox, secret_box
from d365xero.trust import SharedTls, extra_cas, shared_tls
from d365xero.xero.cache import ReferenceCache

if TYPE_CHECKING:
    from d365xero.jobs.clients import ConnectionClients


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    xero_cache: ReferenceCache = field(default_factory=ReferenceCache)
    # Calls paced by the rate budgets in the store, shared by every process (store.budgets):
    # on for `worker`, whose processes share tenants; off where one process is alone.
    shared_budgets: bool = False
    # Per connection, with the connection's updated_at they were built for: kept across passes
    # so tokens (30 to 90 minutes), TLS contexts and keep-alive connections are reused.
    _clients: dict[str, tuple[datetime, ConnectionClients]] = field(default_factory=dict)
    _tls: SharedTls | None = None  # one set of SSL contexts for every connection's clients
    # Work started by a request that outlives it (the Synchronisation Center's imports): joined
    # on close, so nothing writes to a store that is being shut down.
    _background: list[threading.Thread] = field(default_factory=list)

    def clients_for(self, connection: Connection, secrets: dict[str, Any]) -> ConnectionClients:
        cached = self._clients.get(connection.id)
        if cached and cached[0] == connection.updated_at:
            return cached[1]
        self.forget_clients(connection.id)
        clients = self.new_clients(connection, secrets)
        self._clients[connection.id] = (connection.updated_at, clients)
        return clients

    def new_clients(self, connection: Connection, secrets: dict[str, Any]) -> ConnectionClients:
        """Clients of their own (the caller closes them), built as a pass's are: the shared
        budgets, the process's TLS contexts, and rotated refresh tokens kept in the store."""
        from d365xero.jobs.clients import build_clients
        from d365xero.jobs.kept import StoreSecrets

        budgets = self.engine if self.shared_budgets else None
        kept = StoreSecrets(self.sessions, self.box, connection.id)
        if self._tls is None:
            self._tls = shared_tls(extra_cas(self.settings))
        return build_clients(
            self.settings, connection, secrets, self.xero_cache, budgets, kept, self._tls
        )

    def cached_clients(self, connection_id: str) -> ConnectionClients | None:
        """The connection's clients if a pass has built them (their call counters, for
        metrics)."""
        cached = self._clients.get(connection_id)
        return cached[1] if cached else None

    def forget_clients(self, connection_id: str) -> None:
        cached = self._clients.pop(connection_id, None)
        if cached:
            cached[1].close()

    def in_background(self, work: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=work, name=name, daemon=True)
        self._background = [t for t in self._background if t.is_alive()] + [thread]
        thread.start()

    def close(self, wait: float = 60.0) -> None:
        """Waits up to `wait` seconds for the background work to end, then lets go of the
        clients and the database."""
        for thread in self._background:
            thread.join(wait)
        for connection_id in list(self._clients):
            self.forget_clients(connection_id)
        self.engine.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True, create: bool = True) -> Runtime:
    """The store at the configured place, brought to the current revision when `migrate`. With
    `create` False nothing is made (no data folder, database or secret key): a missing store is
    StoreMissing. Commands that only read pass migrate=False, create=False."""
    if create:
        settings.ensure_data_dir()
    url = settings.database()
    engine = connect(url, create=create)
    if migrate:
        from d365xero.store.migrate import upgrade

        try:
            upgrade(url)
        except BaseException:
            engine.dispose()
            raise
    sessions = session_factory(engine)
    cache = ReferenceCache(backing=StoreCacheBacking(sessions))
    return Runtime(settings, engine, sessions, secret_box(settings, create=create), cache)
