"""Where a connection's rotating OAuth refresh tokens are kept between refreshes: the store
(every process reads the newest, as another may have rotated it), or the secrets in hand."""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import AuthorisationLost
from d365xero.store.models import Connection
from d365xero.store.secrets import SecretBox

XERO_REFRESH = "xero_refresh_token"
DATAVERSE_REFRESH = "dataverse_refresh_token"


class KeptSecrets(Protocol):
    def load(self, key: str) -> str: ...

    def save(self, key: str, value: str) -> None: ...


def _missing(key: str) -> AuthorisationLost:
    service = "xero" if key.startswith("xero") else "dataverse"
    side = "Xero" if service == "xero" else "Dynamics"
    return AuthorisationLost(
        f"the connection has no {side} authorisation: connect {side} again from the portal",
        service=service,
    )


class MemorySecrets:
    """The secrets dict itself (a connection being made, still in one transaction)."""

    def __init__(self, secrets: dict[str, Any]) -> None:
        self.secrets = secrets

    def load(self, key: str) -> str:
        value = self.secrets.get(key)
        if not value:
            raise _missing(key)
        return str(value)

    def save(self, key: str, value: str) -> None:
        self.secrets[key] = value


class StoreSecrets:
    """The connection's sealed secrets in the store. Saving leaves `updated_at` alone: it says
    when the connection was changed (and keys the runtime's cached clients), and a rotated
    token changes nothing the clients were built from."""

    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, connection_id: str):
        self._sessions, self._box, self._id = sessions, box, connection_id

    def load(self, key: str) -> str:
        with self._sessions() as session:
            sealed = session.scalar(sa.select(Connection.secrets).where(Connection.id == self._id))
        value = self._box.open(sealed).get(key) if sealed else None
        if not value:
            raise _missing(key)
        return str(value)

    def save(self, key: str, value: str) -> None:
        with self._sessions.begin() as session:
            query = sa.select(Connection.secrets).where(Connection.id == self._id)
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update()
            sealed = session.scalar(query)
            if sealed is None:
                return  # removed meanwhile: nothing to keep it for
            current = self._box.open(sealed)
            current[key] = value
            session.execute(
                sa.update(Connection)
                .where(Connection.id == self._id)
                .values(secrets=self._box.seal(current), updated_at=Connection.updated_at)
            )
