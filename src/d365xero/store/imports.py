"""The Synchronisation Center's imports in the store (models.ReferenceImport): started, moved
on a stage, finished; the newest of each kind for the page."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import ReferenceImport, utcnow

RUNNING, DONE, FAILED = "running", "done", "failed"
INTERRUPTED = "The import stopped before it finished (the portal was restarted); run it again."


def start_import(session: Session, connection_id: str, kind: str) -> ReferenceImport:
    row = ReferenceImport(
        connection_id=connection_id,
        kind=kind,
        status=RUNNING,
        stage=0,
        started_at=utcnow(),
        created=0,
        updated=0,
        deactivated=0,
    )
    session.add(row)
    session.flush()
    return row


def running_imports(session: Session, connection_id: str) -> list[ReferenceImport]:
    query = sa.select(ReferenceImport).where(
        ReferenceImport.connection_id == connection_id, ReferenceImport.status == RUNNING
    )
    return list(session.scalars(query))


def interrupt(session: Session, connection_id: str) -> None:
    """Rows still running with nobody running them (called with the pass lock held, so no one
    can be): failed, saying why."""
    for row in running_imports(session, connection_id):
        finish(row, FAILED, message=INTERRUPTED)


def finish(
    row: ReferenceImport,
    status: str,
    *,
    created: int = 0,
    updated: int = 0,
    deactivated: int = 0,
    message: str | None = None,
) -> None:
    row.status, row.message, row.finished_at = status, message, utcnow()
    row.created, row.updated, row.deactivated = created, updated, deactivated


def latest_imports(session: Session, connection_id: str) -> dict[str, ReferenceImport]:
    """Kind -> its newest import."""
    newest = (
        sa.select(ReferenceImport.kind, sa.func.max(ReferenceImport.id).label("id"))
        .where(ReferenceImport.connection_id == connection_id)
        .group_by(ReferenceImport.kind)
        .subquery()
    )
    query = sa.select(ReferenceImport).join(newest, ReferenceImport.id == newest.c.id)
    rows = session.scalars(query)
    return {row.kind: row for row in rows}
