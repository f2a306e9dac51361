"""Users: lower-case unique e-mail, argon2 hashes, password checks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import StoreError
from d365xero.store.models import User
from d365xero.store.users import (
    authenticate,
    create_user,
    get_user,
    get_user_by_email,
    set_password,
    verify_password,
)


def test_create_and_read_back(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = create_user(session, "  Ann.Smith@Example.COM ", "correct horse")
        session.commit()
    with sessions() as session:
        found = get_user(session, user.id)
        assert found is not None
        assert found.email == "ann.smith@example.com"
        assert found.password_hash.startswith("$argon2id$")
        assert "correct horse" not in found.password_hash
        assert found.created_at.tzinfo is not None
        assert get_user_by_email(session, "ANN.smith@example.com") == found


def test_repr_shows_no_hash(session: Session) -> None:
    user = create_user(session, "ann@example.com", "pw")
    assert user.password_hash not in repr(user)
    assert "ann@example.com" in repr(user)


def test_email_is_unique_whatever_its_case(session: Session) -> None:
    create_user(session, "ann@example.com", "pw")
    with pytest.raises(StoreError, match="already exists"):
        create_user(session, "ANN@example.com", "other")


def test_database_rejects_a_duplicate_email(session: Session) -> None:
    session.add(User(id="1", email="x@example.com", password_hash="h"))
    session.add(User(id="2", email="x@example.com", password_hash="h"))
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.com", "ann@example", "a b@x.io"])
def test_bad_email_is_refused(session: Session, email: str) -> None:
    with pytest.raises(ValueError):
        create_user(session, email, "pw")


def test_empty_password_is_refused(session: Session) -> None:
    with pytest.raises(ValueError):
        create_user(session, "ann@example.com", "")


def test_authenticate(session: Session) -> None:
    user = create_user(session, "ann@example.com", "right")
    assert authenticate(session, "Ann@Example.com", "right") == user
    assert authenticate(session, "ann@example.com", "wrong") is None
    assert authenticate(session, "nobody@example.com", "right") is None


def test_set_password(session: Session) -> None:
    user = create_user(session, "ann@example.com", "old")
    set_password(user, "new")
    assert verify_password(user, "new")
    assert not verify_password(user, "old")


def test_an_outdated_hash_is_upgraded_on_a_good_login(sessions: sessionmaker[Session]) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    with sessions() as session:
        session.add(User(id="u1", email="old@example.com", password_hash=weak))
        session.commit()
    with sessions() as session:
        user = session.scalars(sa.select(User)).one()
        assert not verify_password(user, "wrong")
        assert user.password_hash == weak
        assert verify_password(user, "pw")
        assert user.password_hash != weak
        session.commit()
    with sessions() as session:
        user = session.scalars(sa.select(User)).one()
        assert not PasswordHasher().check_needs_rehash(user.password_hash)
        assert verify_password(user, "pw")


def test_a_corrupt_hash_fails_verification(session: Session) -> None:
    user = create_user(session, "ann@example.com", "pw")
    user.password_hash = "not-a-hash"
    assert not verify_password(user, "pw")
