"""Per-connection marks: how far a step has got (a watermark), when it last ran, or a token a
service gave to continue from (a delta link)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from d365xero.store.models import SyncMark


def get_mark(session: Session, connection_id: str, name: str) -> datetime | None:
    mark = session.get(SyncMark, (connection_id, name))
    return mark.value if mark else None


def get_token(session: Session, connection_id: str, name: str) -> str | None:
    mark = session.get(SyncMark, (connection_id, name))
    return mark.token if mark else None


def _mark(session: Session, connection_id: str, name: str) -> SyncMark:
    mark = session.get(SyncMark, (connection_id, name))
    if mark is None:
        mark = SyncMark(connection_id=connection_id, name=name)
        session.add(mark)
    return mark


def set_mark(session: Session, connection_id: str, name: str, value: datetime) -> None:
    _mark(session, connection_id, name).value = value


def set_token(session: Session, connection_id: str, name: str, token: str) -> None:
    _mark(session, connection_id, name).token = token


def clear_mark(session: Session, connection_id: str, name: str) -> None:
    mark = session.get(SyncMark, (connection_id, name))
    if mark is not None:
        session.delete(mark)
