"""Failed logins, counted in the store so that every process of the portal (several `serve`s
on one PostgreSQL) throttles on the same numbers: per account (the e-mail typed, whether or
not it has an account, so the throttle says nothing of which do) and per client address."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.domain.accounts import throttled_until
from d365xero.store.models import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:320]


def address_key(address: str) -> str:
    return "address:" + address[:64]


def _failures(session: Session, key: str, since: datetime) -> list[datetime]:
    query = sa.select(LoginFailure.failed_at).where(
        LoginFailure.key == key, LoginFailure.failed_at > since
    )
    return list(session.scalars(query))


def login_wait(
    session: Session, email: str, address: str, now: datetime | None = None
) -> datetime | None:
    """When this account or address may try again, if either has failed too often."""
    now = now or utcnow()
    since = now - WINDOW
    waits = [
        throttled_until(_failures(session, account_key(email), since), ACCOUNT_LIMIT, WINDOW, now),
        throttled_until(
            _failures(session, address_key(address), since), ADDRESS_LIMIT, WINDOW, now
        ),
    ]
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def record_failure(session: Session, email: str, address: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    keys = (account_key(email), address_key(address))
    # Failures older than the window count for nothing: forget them as new ones come.
    session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.key.in_(keys), LoginFailure.failed_at <= now - WINDOW
        )
    )
    session.add_all(LoginFailure(key=key, failed_at=now) for key in keys)
    session.flush()


def clear_account(session: Session, email: str) -> None:
    """A right password clears the account's count; the address's stays (one good account
    must not reset an address that is guessing at others)."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.key == account_key(email)))
