"""The demo's portal user: demo@example.com, verified, owning the demo connection, and the
one-time link `d365xero demo` prints so that opening it signs the browser in at once. The
user's password is random and shown nowhere: after the link, "Forgotten password?" sends a
reset link to the outbox (the demo has no SMTP server)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from d365xero.store.links import LIFETIME, Purpose, issue_link
from d365xero.store.models import User, utcnow
from d365xero.store.users import Profile, create_user, get_user_by_email

EMAIL = "demo@example.com"
PROFILE = Profile("Demo", "User", "Demo Company (UK)", "+44 20 7946 0000", "GB")


def demo_user(session: Session) -> User:
    """The demo user (made if missing: the demo's store starts empty each run)."""
    found = get_user_by_email(session, EMAIL)
    if found is not None:
        return found
    return create_user(session, EMAIL, secrets.token_urlsafe(24), PROFILE, verified_at=utcnow())


def sign_in_url(session: Session, user: User, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/login/link/{issue_link(session, user, Purpose.login)}"


def sign_in_minutes() -> int:
    return round(LIFETIME[Purpose.login].total_seconds() / 60)
