"""Portal users: e-mail (kept lower-case), an argon2 password hash (upgraded in place when the
hasher's parameters change), the register form's details and whether the address is verified."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from d365xero.errors import StoreError
from d365xero.store.models import AccountLink, User, new_id, utcnow
from d365xero.store.sessions import revoke_sessions

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a miss costs as much as a wrong password."""
    return _hasher.hash("not a password")


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in cleaned):
        raise ValueError(f"not an e-mail address: {email!r}")
    return cleaned


@dataclass(frozen=True)
class Profile:
    """What the register and account forms say about a person."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    company_phone: str = ""
    country: str = ""


def create_user(
    session: Session,
    email: str,
    password: str,
    profile: Profile | None = None,
    *,
    verified_at: datetime | None = None,
) -> User:
    if not password:
        raise ValueError("a password is required")
    address = normalise_email(email)
    if get_user_by_email(session, address) is not None:
        raise StoreError(f"a user with e-mail {address} already exists")
    user = User(id=new_id(), email=address, password_hash=_hasher.hash(password))
    user.email_verified_at = verified_at
    set_profile(user, profile or Profile())
    session.add(user)
    session.flush()
    return user


def set_profile(user: User, profile: Profile) -> None:
    user.first_name, user.last_name = profile.first_name, profile.last_name
    user.company, user.company_phone = profile.company, profile.company_phone
    user.country = profile.country


def profile_of(user: User) -> Profile:
    return Profile(user.first_name, user.last_name, user.company, user.company_phone, user.country)


def change_email(session: Session, user: User, email: str) -> None:
    """A new address is not verified yet; an address another user has is refused."""
    address = normalise_email(email)
    if address == user.email:
        return
    if get_user_by_email(session, address) is not None:
        raise StoreError(f"a user with e-mail {address} already exists")
    user.email, user.email_verified_at = address, None


def mark_verified(user: User, now: datetime | None = None) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = now or utcnow()


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    address = email.strip().lower()
    return session.scalars(sa.select(User).where(User.email == address)).one_or_none()


def hash_cost(password: str) -> None:
    """Spend what hashing a password costs (a path that must take as long as one that hashes)."""
    _hasher.hash(password)


def set_password(user: User, password: str) -> None:
    if not password:
        raise ValueError("a password is required")
    user.password_hash = _hasher.hash(password)


def change_password(session: Session, user: User, password: str, *, keep: str | None = None) -> int:
    """A new password ends every session of the user but `keep`'s (the browser that changed
    it; None on a reset: all of them) and every reset link still out. The number ended."""
    set_password(user, password)
    session.execute(
        sa.delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == "reset")
    )
    return revoke_sessions(session, user.id, keep=keep)


def verify_password(user: User, password: str) -> bool:
    """True if the password is right; an outdated hash is upgraded in place (the caller commits)."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None:
        with suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        return None
    return user if verify_password(user, password) else None
