"""What the store knows for a connection's dashboard, each in one query over a key range: how
many invoices the connector has synced and how many wait for a retry, invoices synced and
failed per day (sync_days, added to as each pass is recorded), and its runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import InvoiceRetry, SyncDay, SyncRun


def synced_count(session: Session, connection_id: str) -> int:
    """Invoices this connector has created in Xero: each is created once (the write-ahead
    ledger sees to it), so the sum of the days' creations (a row a day, not a row a run)."""
    query = sa.select(sa.func.sum(SyncDay.created)).where(SyncDay.connection_id == connection_id)
    return int(session.scalar(query) or 0)


def add_to_day(
    session: Session, connection_id: str, day: date, created: int, updated: int, failed: int
) -> None:
    """A recorded pass's invoices added to its day. Passes of a connection never run at once
    (store.locks), so an update, else an insert, cannot race with another pass's."""
    if not (created or updated or failed):
        return
    changed = session.execute(
        sa.update(SyncDay)
        .where(SyncDay.connection_id == connection_id, SyncDay.day == day)
        .values(
            created=SyncDay.created + created,
            updated=SyncDay.updated + updated,
            failed=SyncDay.failed + failed,
        )
    )
    if not changed.rowcount:
        session.add(
            SyncDay(
                connection_id=connection_id,
                day=day,
                created=created,
                updated=updated,
                failed=failed,
            )
        )
        session.flush()


def day_counts(
    session: Session, connection_id: str, first: date, last: date
) -> dict[date, tuple[int, int]]:
    """(synced, failed) invoices of each day from `first` to `last` that had any: synced is
    created + updated in Xero, failed is failed in a pass. A range of the primary key."""
    query = sa.select(SyncDay).where(
        SyncDay.connection_id == connection_id, SyncDay.day >= first, SyncDay.day <= last
    )
    return {row.day: (row.created + row.updated, row.failed) for row in session.scalars(query)}


@dataclass(frozen=True)
class Waiting:
    count: int
    next_attempt_at: datetime | None
    last_reason: str | None


def waiting(session: Session, connection_id: str) -> Waiting:
    """Invoices Xero did not answer for, waiting for the push to try them again
    (invoice_retries, the same rows `_retry_note` of jobs/passes.py counts on a run)."""
    count, soonest = session.execute(
        sa.select(sa.func.count(), sa.func.min(InvoiceRetry.next_attempt_at)).where(
            InvoiceRetry.connection_id == connection_id
        )
    ).one()
    reason = None
    if count:
        reason = session.scalar(
            sa.select(InvoiceRetry.last_reason)
            .where(InvoiceRetry.connection_id == connection_id)
            .order_by(InvoiceRetry.next_attempt_at.desc())
            .limit(1)
        )
    return Waiting(int(count), soonest, reason)


def connection_run(session: Session, connection_id: str, run_id: int) -> SyncRun | None:
    """The run, if it is one of this connection's."""
    run = session.get(SyncRun, run_id)
    return run if run is not None and run.connection_id == connection_id else None
