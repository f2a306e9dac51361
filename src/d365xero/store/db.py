"""Engines and sessions for the store: SQLite (embedded default) or PostgreSQL via psycopg 3.

The caller owns the transaction: store helpers never commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str | URL) -> URL:
    """Pin PostgreSQL URLs to psycopg 3 (SQLAlchemy's bare `postgresql://` means psycopg2)."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for the store. Parameters are hidden from logs and errors: the secrets column is
    ciphertext, but nothing else bound to a statement should reach a log either."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, echo=echo, hide_parameters=True, pool_pre_ping=True)

    path = sqlite_file(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Threads share the engine's pool (scheduler, portal), hence check_same_thread False; the
    # timeout makes a writer wait for another's lock instead of failing at once.
    engine = sa.create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    wal = path is not None

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the portal read while a sync pass writes; it needs a real file.
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so a caller can use what it just saved."""
    return sessionmaker(bind=engine, expire_on_commit=False)
