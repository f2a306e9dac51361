"""Per-connection marks: how far a step has got (a watermark) or when it last ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from d365xero.store.models import SyncMark


def get_mark(session: Session, connection_id: str, name: str) -> datetime | None:
    mark = session.get(SyncMark, (connection_id, name))
    return mark.value if mark else None


def set_mark(session: Session, connection_id: str, name: str, value: datetime) -> None:
    mark = session.get(SyncMark, (connection_id, name))
    if mark is None:
        session.add(SyncMark(connection_id=connection_id, name=name, value=value))
    else:
        mark.value = value


def clear_mark(session: Session, connection_id: str, name: str) -> None:
    mark = session.get(SyncMark, (connection_id, name))
    if mark is not None:
        session.delete(mark)
