"""Per-connection marks: moments and tokens kept between passes, gone with their connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from d365xero.jobs.marks import StoreMarks
from d365xero.store.connections import add_connection, delete_connection, get_connection
from d365xero.store.marks import get_mark
from d365xero.store.secrets import SecretBox


def test_moments_and_tokens_survive_sessions_and_go_with_the_connection(
    sessions: sessionmaker[Session], box: SecretBox
) -> None:
    with sessions.begin() as session:
        connection_id = add_connection(session, box, name="Main", secrets={}).id
        other_id = add_connection(session, box, name="Other", secrets={}).id
    marks, others = StoreMarks(sessions, connection_id), StoreMarks(sessions, other_id)
    moment = datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)
    assert marks.get("backsync") is None and marks.token("changes") is None

    marks.set("backsync", moment)
    marks.set_token("changes", "https://org/api/data/v9.2/invoices?$deltatoken=9%2101")
    marks.set("backsync", moment + timedelta(seconds=5))
    assert marks.get("backsync") == moment + timedelta(seconds=5)
    assert marks.token("changes") == "https://org/api/data/v9.2/invoices?$deltatoken=9%2101"
    assert others.get("backsync") is None  # each connection its own

    marks.clear("backsync")
    assert marks.get("backsync") is None
    with sessions.begin() as session:
        found = get_connection(session, connection_id)
        assert found is not None
        delete_connection(session, found)
    with sessions() as session:
        assert get_mark(session, connection_id, "changes") is None
