"""Sync runs: one row per pass over a connection, opened when it starts and closed when it ends.

The engine adds to a run's counters (invoices_*, xero_calls, dataverse_calls) as it goes.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import RunStatus, SyncRun, utcnow


def start_run(session: Session, connection_id: str) -> SyncRun:
    """A new running run with zero counters, flushed so its id is set."""
    run = SyncRun(
        connection_id=connection_id,
        started_at=utcnow(),
        status=RunStatus.running.value,
        invoices_seen=0,
        invoices_created=0,
        invoices_updated=0,
        invoices_failed=0,
        xero_calls=0,
        dataverse_calls=0,
    )
    session.add(run)
    session.flush()
    return run


def finish_run(run: SyncRun, status: RunStatus, message: str | None = None) -> None:
    if status in (RunStatus.running, RunStatus.skipped):
        raise ValueError(f"a finished run needs an end status, not {status.value!r}")
    run.status = status.value
    run.finished_at = utcnow()
    run.message = message


def get_run(session: Session, run_id: int) -> SyncRun | None:
    return session.get(SyncRun, run_id)


def recent_runs(session: Session, connection_id: str, limit: int = 20) -> list[SyncRun]:
    """The connection's latest runs, newest first."""
    query = (
        sa.select(SyncRun)
        .where(SyncRun.connection_id == connection_id)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
