"""The Xero reference cache's backing in the connector's store (each call its own short
transaction: the cache is shared by passes, not part of any one of them)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store import reference


class StoreCacheBacking:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, tenant: str, kind: str) -> tuple[float, str] | None:
        with self._sessions() as session:
            row = reference.saved_reference(session, tenant, kind)
            return (reference.epoch(row.expires_at), row.payload) if row else None

    def save(self, tenant: str, kind: str, expires: float, payload: str) -> None:
        try:
            with self._sessions.begin() as session:
                reference.save_reference(session, tenant, kind, payload, reference.moment(expires))
        except IntegrityError:
            pass  # another process saved the same entry at the same moment: theirs will do

    def forget(self, tenant: str) -> None:
        with self._sessions.begin() as session:
            reference.forget_reference(session, tenant)
