"""One-time links: a random token in the URL, only its SHA-256 in the store, used once (deleted
as it is used, so two clicks racing find one winner), and expiring: a verification link in
48 hours, a password reset in one, the demo's sign-in link in 30 minutes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import AccountLink, User, utcnow


class Purpose(StrEnum):
    verify = "verify"
    reset = "reset"
    login = "login"


LIFETIME = {
    Purpose.verify: timedelta(hours=48),
    Purpose.reset: timedelta(hours=1),
    Purpose.login: timedelta(minutes=30),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(session: Session, user: User, purpose: Purpose, now: datetime | None = None) -> str:
    """A new link's token (for the URL, never stored). A new one replaces the user's earlier
    links for the same purpose: only the latest e-mail works."""
    now = now or utcnow()
    mine = sa.and_(AccountLink.user_id == user.id, AccountLink.purpose == purpose.value)
    # Expired links of anyone go too: nothing else would ever remove them.
    session.execute(sa.delete(AccountLink).where(sa.or_(mine, AccountLink.expires_at <= now)))
    token = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            token_hash=_hash(token),
            user_id=user.id,
            purpose=purpose.value,
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
    )
    session.flush()
    return token


def _find(session: Session, token: str, purpose: Purpose, now: datetime) -> AccountLink | None:
    if not token or len(token) > 200:
        return None
    found = session.get(AccountLink, _hash(token))
    if found is None or found.purpose != purpose.value or found.expires_at <= now:
        return None
    return found


def peek_link(
    session: Session, token: str, purpose: Purpose, now: datetime | None = None
) -> User | None:
    """The link's user if it would work, without using it (the reset page's GET)."""
    found = _find(session, token, purpose, now or utcnow())
    return session.get(User, found.user_id) if found else None


def use_link(
    session: Session, token: str, purpose: Purpose, now: datetime | None = None
) -> User | None:
    """The link's user, once: unknown, used, expired or of another purpose, None."""
    found = _find(session, token, purpose, now or utcnow())
    if found is None:
        return None
    user_id = found.user_id
    gone = session.execute(sa.delete(AccountLink).where(AccountLink.token_hash == _hash(token)))
    if (gone.rowcount or 0) != 1:  # another request used it first
        return None
    return session.get(User, user_id)
