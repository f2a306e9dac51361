"""Sync runs: started, counted, finished, listed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store.connections import add_connection
from d365xero.store.models import Connection, RunStatus
from d365xero.store.runs import finish_run, get_run, recent_runs, start_run
from d365xero.store.secrets import SecretBox


@pytest.fixture
def connection(session: Session, box: SecretBox) -> Connection:
    return add_connection(session, box, name="Main", secrets={})


def test_start_count_finish_round_trip(
    sessions: sessionmaker[Session], session: Session, connection: Connection
) -> None:
    run = start_run(session, connection.id)
    assert run.id is not None
    assert run.status == "running" and run.finished_at is None
    run.invoices_seen += 3
    run.invoices_created += 2
    run.invoices_failed += 1
    run.xero_calls += 4
    run.dataverse_calls += 7
    finish_run(run, RunStatus.partial, "1 invoice failed")
    session.commit()
    with sessions() as other:
        saved = get_run(other, run.id)
        assert saved is not None
        assert (saved.status, saved.message) == ("partial", "1 invoice failed")
        counts = (
            saved.invoices_seen,
            saved.invoices_created,
            saved.invoices_updated,
            saved.invoices_failed,
            saved.xero_calls,
            saved.dataverse_calls,
        )
        assert counts == (3, 2, 0, 1, 4, 7)
        assert saved.finished_at is not None and saved.finished_at >= saved.started_at
        assert saved.started_at.utcoffset() is not None


def test_a_run_cannot_finish_as_running(session: Session, connection: Connection) -> None:
    run = start_run(session, connection.id)
    with pytest.raises(ValueError):
        finish_run(run, RunStatus.running)


def test_recent_runs_newest_first_and_per_connection(
    session: Session, box: SecretBox, connection: Connection
) -> None:
    other = add_connection(session, box, name="Other", secrets={})
    ours = [start_run(session, connection.id) for _ in range(3)]
    start_run(session, other.id)
    listed = recent_runs(session, connection.id)
    assert [r.id for r in listed] == [r.id for r in reversed(ours)]
    assert [r.id for r in recent_runs(session, connection.id, limit=2)] == [ours[2].id, ours[1].id]


def test_database_refuses_an_unknown_status(session: Session, connection: Connection) -> None:
    run = start_run(session, connection.id)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(
            sa.text("update sync_runs set status = 'bogus' where id = :i"), {"i": run.id}
        )
