"""Throttles counted in the store, so that every process of the portal (several `serve`s on
one PostgreSQL) holds back on the same numbers:

- failed logins, per account (the email typed, whether or not it has an account, so the
  throttle says nothing of which do) and per client address;
- emails asked for (verification, reset, "someone tried to register"), per recipient (so no
  one can fill another's mailbox) and per client address."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.domain.accounts import throttled_until
from d365xero.store.models import ThrottleEvent, utcnow

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
MAIL_TO_LIMIT = 3
MAIL_FROM_LIMIT = 10


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:320]


def address_key(address: str) -> str:
    return "address:" + address[:64]


def _wait(session: Session, key: str, limit: int, now: datetime) -> datetime | None:
    query = sa.select(ThrottleEvent.at).where(
        ThrottleEvent.key == key, ThrottleEvent.at > now - WINDOW
    )
    return throttled_until(list(session.scalars(query)), limit, WINDOW, now)


def _latest(*waits: datetime | None) -> datetime | None:
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def _record(session: Session, keys: Iterable[str], now: datetime) -> None:
    keys = tuple(keys)
    # Events older than the window count for nothing: forget them as new ones come.
    session.execute(
        sa.delete(ThrottleEvent).where(
            ThrottleEvent.key.in_(keys), ThrottleEvent.at <= now - WINDOW
        )
    )
    session.add_all(ThrottleEvent(key=key, at=now) for key in keys)
    session.flush()


def login_wait(
    session: Session, email: str, address: str, now: datetime | None = None
) -> datetime | None:
    """When this account or address may try again, if either has failed too often."""
    now = now or utcnow()
    return _latest(
        _wait(session, account_key(email), ACCOUNT_LIMIT, now),
        _wait(session, address_key(address), ADDRESS_LIMIT, now),
    )


def record_failure(session: Session, email: str, address: str, now: datetime | None = None) -> None:
    _record(session, (account_key(email), address_key(address)), now or utcnow())


def clear_account(session: Session, email: str) -> None:
    """A right password clears the account's count; the address's stays (one good account
    must not reset an address that is guessing at others)."""
    session.execute(sa.delete(ThrottleEvent).where(ThrottleEvent.key == account_key(email)))


def sender_wait(session: Session, address: str, now: datetime | None = None) -> datetime | None:
    """When this client address may ask for an email again, if it asked for too many."""
    return _wait(session, "mail-from:" + address[:64], MAIL_FROM_LIMIT, now or utcnow())


def take_mail(session: Session, to: str, address: str, now: datetime | None = None) -> bool:
    """Count an email asked for; False if the recipient has had enough for now (the caller
    sends nothing and says what it always says: nothing tells a stranger it held back)."""
    now = now or utcnow()
    to_key = "mail-to:" + to.strip().lower()[:320]
    if _wait(session, to_key, MAIL_TO_LIMIT, now) is not None:
        return False
    _record(session, (to_key, "mail-from:" + address[:64]), now)
    return True
