"""What the store knows for a connection's dashboard, each in one indexed query: how many
invoices the connector has synced and how many wait for a retry, invoices synced and failed per
day (from the sync runs), and its runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import InvoiceRetry, SyncRun, WriteState, XeroWrite

INVOICE_WRITE = "invoice"  # the ledger's kind for invoice creates and updates (sync/invoices.py)


def synced_count(session: Session, connection_id: str) -> int:
    """Invoices this connector has sent to Xero: those with an applied invoice write in the
    write-ahead ledger (one per invoice, however many times it was updated)."""
    query = sa.select(sa.func.count(sa.distinct(XeroWrite.source_id))).where(
        XeroWrite.connection_id == connection_id,
        XeroWrite.kind == INVOICE_WRITE,
        XeroWrite.state == WriteState.applied.value,
    )
    return int(session.scalar(query) or 0)


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


def per_period(
    session: Session, connection_id: str, bounds: Sequence[datetime]
) -> list[tuple[int, int]]:
    """(synced, failed) invoices in each period [bounds[i], bounds[i+1]), by the start of the
    run that handled them: synced is created + updated, failed is invoices_failed. One range
    scan of the (connection_id, started_at) index; the periods are the caller's (local days)."""
    periods = len(bounds) - 1
    if periods < 1:
        return []
    which = sa.case(
        *((SyncRun.started_at < bounds[i + 1], i) for i in range(periods)),
        else_=periods,
    ).label("period")
    rows = (
        sa.select(
            which,
            (SyncRun.invoices_created + SyncRun.invoices_updated).label("synced"),
            SyncRun.invoices_failed.label("failed"),
        )
        .where(
            SyncRun.connection_id == connection_id,
            SyncRun.started_at >= bounds[0],
            SyncRun.started_at < bounds[-1],
        )
        .subquery()
    )
    # Grouped outside: PostgreSQL would not see the CASE of GROUP BY (bound afresh) as the
    # one selected.
    query = sa.select(rows.c.period, sa.func.sum(rows.c.synced), sa.func.sum(rows.c.failed))
    query = query.group_by(rows.c.period)
    found = [(0, 0)] * periods
    for period, synced, failed in session.execute(query):
        if 0 <= period < periods:
            found[period] = (int(synced or 0), int(failed or 0))
    return found


def connection_run(session: Session, connection_id: str, run_id: int) -> SyncRun | None:
    """The run, if it is one of this connection's."""
    run = session.get(SyncRun, run_id)
    return run if run is not None and run.connection_id == connection_id else None
