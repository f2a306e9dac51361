"""The pass lock on each database: taken, refused to a second taker (another engine, as another
process would be), released, taken again; waiting; a holder killed with SIGKILL frees it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from d365xero.errors import PassInProgress, StoreError
from d365xero.store.db import create_engine
from d365xero.store.locks import take_pass_lock

# Other tests may share the PostgreSQL database: look only at this process's pass locks.
OURS = (
    "select a.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid"
    " where l.locktype = 'advisory' and l.granted and a.application_name like :mine"
)
MINE = {"mine": f"d365xero pass pid={os.getpid()} %"}
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
HOLD_THEN_SLEEP = """
import sys, time
from d365xero.store.db import create_engine
from d365xero.store.locks import take_pass_lock
lock = take_pass_lock(create_engine(sys.argv[1]), "conn-1")
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def other(engine: Engine, database_url: str) -> Iterator[Engine]:
    """A second engine on the same store: what another process would have."""
    second = create_engine(database_url)
    yield second
    second.dispose()


def test_taken_refused_released_taken_again(engine: Engine, other: Engine) -> None:
    lock = take_pass_lock(engine, "conn-1")
    with pytest.raises(PassInProgress) as refused:
        take_pass_lock(other, "conn-1")
    message = str(refused.value)
    assert message.startswith("another pass of this connection is running (pid ")
    assert f"pid {os.getpid()} on {socket.gethostname()}, started 20" in message
    with pytest.raises(PassInProgress):
        take_pass_lock(engine, "conn-1")  # the same process (another thread) is refused too
    lock.release()
    again = take_pass_lock(other, "conn-1")
    again.release()
    take_pass_lock(engine, "conn-1").release()


def test_connections_do_not_block_each_other(engine: Engine, other: Engine) -> None:
    first = take_pass_lock(engine, "conn-1")
    second = take_pass_lock(other, "conn-2")
    first.release()
    second.release()


def test_a_waiting_taker_gets_the_lock_once_it_is_released(engine: Engine, other: Engine) -> None:
    lock = take_pass_lock(engine, "conn-1")
    with pytest.raises(PassInProgress):
        take_pass_lock(other, "conn-1", wait=0.3)  # still held when the wait is over
    releaser = threading.Timer(0.3, lock.release)
    releaser.start()
    waited = take_pass_lock(other, "conn-1", wait=30)
    releaser.join()
    waited.release()


def test_a_holder_killed_with_sigkill_frees_the_lock_at_once(
    engine: Engine, database_url: str
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_SLEEP, database_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(PassInProgress, match=f"pid {holder.pid} on"):
            take_pass_lock(engine, "conn-1")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        holder.kill()
    take_pass_lock(engine, "conn-1").release()


def test_a_connection_id_must_be_a_plain_name(engine: Engine) -> None:
    with pytest.raises(ValueError, match="not a connection id"):
        take_pass_lock(engine, "../etc/passwd")


def test_a_database_with_no_file_has_its_lock_in_the_process() -> None:
    engine = create_engine("sqlite://")
    lock = take_pass_lock(engine, "conn-1")
    with pytest.raises(PassInProgress, match=f"pid {os.getpid()} on"):
        take_pass_lock(engine, "conn-1")
    lock.release()
    take_pass_lock(engine, "conn-1").release()
    engine.dispose()


@POSTGRES_ONLY
def test_postgres_the_lock_is_on_a_session_of_its_own(database_url: str, engine: Engine) -> None:
    lock = take_pass_lock(engine, "conn-1")
    with engine.connect() as conn:
        [(pid, name)] = conn.execute(sa.text(OURS), MINE).all()
        assert pid != conn.scalar(sa.text("select pg_backend_pid()"))
        assert name == f"d365xero pass pid={os.getpid()} host={socket.gethostname()}"[:63]
        # Its session is in autocommit: no transaction stays open for the pass.
        state = conn.scalar(
            sa.text("select state from pg_stat_activity where pid = :p"), {"p": pid}
        )
        assert state == "idle"
    lock.release()
    with engine.connect() as conn:
        assert conn.execute(sa.text(OURS), MINE).all() == []  # the session is gone with it


@POSTGRES_ONLY
def test_postgres_a_lock_whose_session_was_cut_stops_the_pass(
    database_url: str, engine: Engine, other: Engine
) -> None:
    lock = take_pass_lock(engine, "conn-1")
    lock.check()
    with other.connect() as conn:
        [(pid, _)] = conn.execute(sa.text(OURS), MINE).all()
        assert conn.scalar(sa.text("select pg_terminate_backend(:p)"), {"p": pid}) is True
    take_pass_lock(other, "conn-1").release()  # the server freed it with the session
    with pytest.raises(StoreError, match="the pass lost its lock"):
        lock.check()
    lock.release()
