"""Engines and sessions for the store: SQLite (embedded default) or PostgreSQL via psycopg 3.

The caller owns the transaction: store helpers never commit.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import ConfigurationError, StoreError, StoreMissing

URL_FORMS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
CONNECT_TIMEOUT = 10  # seconds: a PostgreSQL host that drops packets must not hang a command


def shown(url: str | URL) -> str:
    """The URL for a message: never its password, even when it does not parse."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def normalise_url(url: str | URL) -> URL:
    """Pin PostgreSQL URLs to psycopg 3 (SQLAlchemy's bare `postgresql://` means psycopg2), and
    refuse what is not a URL of one of the two databases the store runs on."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(
            f"the database URL {shown(url)!r} is not a URL: use {URL_FORMS}"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigurationError(
            f"the database URL {shown(parsed)!r} names {parsed.drivername!r}: the store runs on "
            f"SQLite or PostgreSQL ({URL_FORMS})"
        )
    return parsed


def sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_private(path: Path) -> None:
    """An empty database file only its owner can read (SQLite gives its -wal and -shm files the
    same mode); an existing file is left alone."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def create_engine(url: str | URL, *, echo: bool = False, create: bool = True) -> Engine:
    """An engine for the store. Parameters are hidden from logs and errors: the secrets column is
    ciphertext, but nothing else bound to a statement should reach a log either. With `create`
    False, a SQLite file that is not there is StoreMissing (SQLite would create it)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(
            parsed,
            echo=echo,
            hide_parameters=True,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT},
        )

    path = sqlite_file(parsed)
    if path is not None and not create and not path.is_file():
        raise StoreMissing(no_store_message(parsed))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "it is a file" if isinstance(exc, FileExistsError) else exc.strerror or exc
            raise StoreError(
                f"cannot create the folder {path.parent} for the SQLite store: {reason}"
            ) from exc
        _create_private(path)
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


def no_store_message(url: str | URL) -> str:
    parsed = normalise_url(url)
    path = sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    return (
        f"no store yet at {path or shown(parsed)}: `d365xero connection add` or `d365xero db "
        "upgrade` creates it (or set D365XERO_DATA_DIR / D365XERO_DATABASE_URL to the one you have)"
    )


def database_problem(exc: sa.exc.DBAPIError, url: str | URL | None = None) -> StoreError:
    """One line for a database that refused us, naming it (without its password)."""
    lines = str(exc.orig).strip().splitlines() if exc.orig else []
    reason = lines[0] if lines else type(exc).__name__
    where = f"the database at {shown(url)}" if url is not None else "the store's database"
    return StoreError(f"cannot use {where}: {reason}")


def connect(url: str | URL, *, create: bool = True) -> Engine:
    """An engine whose database answered. With `create` False the store must already exist (the
    migrations made it): a command that only reads never leaves a database behind."""
    engine = create_engine(url, create=create)
    try:
        with engine.connect() as connection:
            if not create and not sa.inspect(connection).has_table("alembic_version"):
                raise StoreMissing(no_store_message(url))
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise database_problem(exc, url) from exc
    except StoreMissing:
        engine.dispose()
        raise
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so a caller can use what it just saved."""
    return sessionmaker(bind=engine, expire_on_commit=False)
