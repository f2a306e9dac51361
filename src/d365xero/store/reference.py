"""Xero reference data kept between processes: text per tenant and kind, with its expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import XeroReference


def saved_reference(session: Session, tenant_id: str, kind: str) -> XeroReference | None:
    return session.get(XeroReference, (tenant_id, kind))


def save_reference(
    session: Session, tenant_id: str, kind: str, payload: str, expires_at: datetime
) -> None:
    row = session.get(XeroReference, (tenant_id, kind))
    if row is None:
        session.add(
            XeroReference(tenant_id=tenant_id, kind=kind, payload=payload, expires_at=expires_at)
        )
    else:
        row.payload, row.expires_at = payload, expires_at
    session.flush()


def forget_reference(session: Session, tenant_id: str) -> None:
    session.execute(sa.delete(XeroReference).where(XeroReference.tenant_id == tenant_id))


def epoch(moment: datetime) -> float:
    return moment.timestamp()


def moment(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
