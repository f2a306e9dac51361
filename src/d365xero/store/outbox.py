"""The outbox: the e-mails the portal would have sent, when no SMTP server is set. Each is
sealed with the installation's SecretBox (its link signs someone in or resets a password),
its address and subject in clear for the list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.errors import StoreError
from d365xero.store.models import OutboxMessage, utcnow
from d365xero.store.secrets import SecretBox

KEEP = 200  # the newest this many; older ones are of no use to anyone


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    link: str
    sent_at: datetime | None = None


def queue_mail(session: Session, box: SecretBox, mail: Mail, now: datetime | None = None) -> None:
    sealed = box.seal({"body": mail.body, "link": mail.link})
    session.add(
        OutboxMessage(
            to_address=mail.to, subject=mail.subject, sealed=sealed, created_at=now or utcnow()
        )
    )
    session.flush()
    stale = sa.select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).offset(KEEP)
    session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id.in_(stale.scalar_subquery())))


def outbox(session: Session, box: SecretBox, limit: int = 50) -> list[Mail]:
    rows = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit))
    mails = []
    for row in rows:
        try:
            opened = box.open(row.sealed)
        except StoreError:  # sealed before a key rotation finished: unreadable, not an error
            opened = {"body": "(sealed with a secret key no longer in use)", "link": ""}
        mails.append(
            Mail(row.to_address, row.subject, opened["body"], opened["link"], row.created_at)
        )
    return mails
