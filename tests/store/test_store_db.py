"""Engines: URL normalisation, SQLite pragmas and threading, foreign keys, hidden parameters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from d365xero.store.db import create_engine, normalise_url
from d365xero.store.models import SyncRun
from d365xero.store.users import create_user


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@db:5432/d365xero", "postgresql+psycopg"),
        ("postgres://u:p@db/d365xero", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/d365xero", "postgresql+psycopg"),
        ("sqlite:////tmp/x.sqlite3", "sqlite"),
    ],
)
def test_postgresql_urls_are_pinned_to_psycopg_3(given: str, driver: str) -> None:
    url = normalise_url(given)
    assert url.drivername == driver
    assert url.database == sa.make_url(given).database


def test_sqlite_file_engine_turns_foreign_keys_and_wal_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'store.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert (tmp_path / "nested" / "store.sqlite3").exists()
    engine.dispose()


def test_sqlite_memory_engine_has_foreign_keys_without_wal() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "memory"
    engine.dispose()


def test_sqlite_connections_can_be_used_from_another_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    with engine.connect() as conn:  # made on this thread, then returned to the pool
        conn.execute(sa.text("select 1"))
    results: list[object] = []

    def worker() -> None:
        try:
            with engine.connect() as conn:
                results.append(conn.execute(sa.text("select 41 + 1")).scalar())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert results == [42]
    engine.dispose()


def test_postgresql_engine_uses_psycopg_3(database_url: str, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    assert engine.dialect.driver == "psycopg"


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(SyncRun(connection_id="no-such-connection"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_errors_do_not_show_bound_values(session: Session) -> None:
    create_user(session, "ann@example.com", "s3cret pass")
    session.flush()
    session.execute(
        sa.text("insert into users (id, email, password_hash, created_at) values (:i, :e, :h, :c)"),
        {"i": "x", "e": "bob@example.com", "h": "hash-bob", "c": "2024-01-01 00:00:00"},
    )
    with pytest.raises(IntegrityError) as caught:
        session.execute(
            sa.text(
                "insert into users (id, email, password_hash, created_at) values (:i, :e, :h, :c)"
            ),
            {"i": "y", "e": "bob@example.com", "h": "hash-of-secret", "c": "2024-01-01 00:00:00"},
        )
    assert "hash-of-secret" not in str(caught.value)
    assert "parameters hidden" in str(caught.value)
