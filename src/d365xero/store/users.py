"""Portal users: e-mail (kept lower-case) and an argon2 password hash."""

from __future__ import annotations

from contextlib import suppress
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from d365xero.errors import StoreError
from d365xero.store.models import User, new_id

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


def create_user(session: Session, email: str, password: str) -> User:
    if not password:
        raise ValueError("a password is required")
    address = normalise_email(email)
    if get_user_by_email(session, address) is not None:
        raise StoreError(f"a user with e-mail {address} already exists")
    user = User(id=new_id(), email=address, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    address = email.strip().lower()
    return session.scalars(sa.select(User).where(User.email == address)).one_or_none()


def set_password(user: User, password: str) -> None:
    if not password:
        raise ValueError("a password is required")
    user.password_hash = _hasher.hash(password)


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
