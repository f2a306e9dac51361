"""A migrated store on each database, a session on it, and a SecretBox with a fresh key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store.db import session_factory
from d365xero.store.secrets import SecretBox


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())
