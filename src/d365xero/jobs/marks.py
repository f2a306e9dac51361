"""StoreMarks: the engine's Marks over the store's sync_marks table, each change committed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from d365xero.store import marks


class StoreMarks:
    def __init__(self, sessions: sessionmaker[Session], connection_id: str) -> None:
        self._sessions = sessions
        self._connection_id = connection_id

    def get(self, name: str) -> datetime | None:
        with self._sessions() as session:
            return marks.get_mark(session, self._connection_id, name)

    def set(self, name: str, value: datetime) -> None:
        with self._sessions.begin() as session:
            marks.set_mark(session, self._connection_id, name, value)

    def token(self, name: str) -> str | None:
        with self._sessions() as session:
            return marks.get_token(session, self._connection_id, name)

    def set_token(self, name: str, token: str) -> None:
        with self._sessions.begin() as session:
            marks.set_token(session, self._connection_id, name, token)

    def clear(self, name: str) -> None:
        with self._sessions.begin() as session:
            marks.clear_mark(session, self._connection_id, name)
