"""The command line sees the whole store: it finds a connection by name whoever owns it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from d365xero.errors import ConfigurationError
from d365xero.store.connections import find_connection
from d365xero.store.models import Connection
from d365xero.store.users import create_user


def _made(session: Session, name: str, user_id: str | None) -> Connection:
    made = Connection(name=name, user_id=user_id, secrets="sealed")
    session.add(made)
    session.flush()
    return made


def test_a_portal_users_connection_is_found_by_name_or_id(engine: Engine) -> None:
    with Session(engine) as session:
        ada = create_user(session, "ada@example.com", "correct horse battery staple 42")
        mine = _made(session, "Demo Books", ada.id)
        assert find_connection(session, "demo books") is mine
        assert find_connection(session, mine.id) is mine
        assert find_connection(session, "Nobody's") is None


def test_a_name_two_owners_share_is_refused_with_their_ids(engine: Engine) -> None:
    with Session(engine) as session:
        ada = create_user(session, "ada@example.com", "correct horse battery staple 42")
        adas, clis = _made(session, "Books", ada.id), _made(session, "Books", None)
        with pytest.raises(ConfigurationError) as refused:
            find_connection(session, "Books")
        assert adas.id in str(refused.value) and clis.id in str(refused.value)
        assert find_connection(session, clis.id) is clis
