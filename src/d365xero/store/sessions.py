"""Portal sign-in sessions: made at sign-in, looked up on each request by the cookie's token,
ended at sign-out, and all of a user's revoked when the password changes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import PortalSession, User, utcnow

# Without "Remember Me" a session lasts a working day; with it, a month.
SHORT = timedelta(hours=12)
REMEMBERED = timedelta(days=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session, user: User, *, remember: bool, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new session's token (for the cookie, never stored) and when it expires."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires = now + (REMEMBERED if remember else SHORT)
    session.add(
        PortalSession(
            token_hash=_hash(token),
            user_id=user.id,
            remember=remember,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return token, expires


def session_user(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The user signed in by `token`, or None (unknown, expired or revoked)."""
    if not token or len(token) > 200:
        return None
    found = session.get(PortalSession, _hash(token))
    if found is None:
        return None
    if found.expires_at <= (now or utcnow()):
        session.delete(found)
        return None
    return session.get(User, found.user_id)


def end_session(session: Session, token: str) -> None:
    session.execute(sa.delete(PortalSession).where(PortalSession.token_hash == _hash(token)))


def revoke_sessions(session: Session, user_id: str, keep: str | None = None) -> int:
    """End every session of the user (but `keep`'s, the browser that changed the password)."""
    query = sa.delete(PortalSession).where(PortalSession.user_id == user_id)
    if keep:
        query = query.where(PortalSession.token_hash != _hash(keep))
    return session.execute(query).rowcount or 0
