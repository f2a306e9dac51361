"""Invoices waiting to be tried again after Xero did not answer (see domain/retry.py)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import InvoiceRetry


def retries_for(
    session: Session, connection_id: str, invoice_ids: Sequence[str]
) -> dict[str, InvoiceRetry]:
    found: dict[str, InvoiceRetry] = {}
    for start in range(0, len(invoice_ids), 500):  # bounded IN lists
        query = sa.select(InvoiceRetry).where(
            InvoiceRetry.connection_id == connection_id,
            InvoiceRetry.invoice_id.in_(invoice_ids[start : start + 500]),
        )
        found.update((r.invoice_id, r) for r in session.scalars(query))
    return found


def clear_retries(session: Session, connection_id: str, invoice_ids: Sequence[str]) -> None:
    for start in range(0, len(invoice_ids), 500):
        session.execute(
            sa.delete(InvoiceRetry).where(
                InvoiceRetry.connection_id == connection_id,
                InvoiceRetry.invoice_id.in_(invoice_ids[start : start + 500]),
            )
        )
