"""One pass at a time per connection, across processes (and, on PostgreSQL, across machines).

The write-ahead ledger and the Idempotency-Key stop one process from writing twice; they cannot
stop two processes that each read the same ready invoices from each sending them. So a pass
holds its connection's lock from before it reads Dynamics until it has written back, and a
second pass that finds the lock held is refused (PassInProgress, naming the holder) or waits.

PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) taken on a database
connection of its own, in autocommit (no transaction stays open for the pass), closed when the
pass ends. The lock lives in the server and dies with the session, so it works across machines
and a killed process loses it as soon as its socket closes; a machine that vanishes is noticed
by server-side TCP keepalives, set short on that session. `check()` before each step stops a
pass whose lock session was cut (server restart, network) before it writes more.

SQLite: an OS file lock (flock) on one file per connection beside the database. The kernel
releases it when the file is closed, which death by any signal does: no lease to expire, no
heartbeat to renew, no clock to trust, and no holder that carries on after its lease ran out
(a lease row cannot tell a slow holder from a dead one). SQLite is one machine's database, so a
local lock is enough. flock rather than fcntl/lockf because flock locks belong to the open file,
so two threads of one process exclude each other too. The files are never deleted: unlinking a
lock file another process has open would let two holders lock two different files.

A SQLite database with no file lives in one process: a lock in that process is enough.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from d365xero.errors import PassInProgress, StoreError
from d365xero.store.db import sqlite_file

POLL_SECONDS = 0.2  # how often a waiting pass tries again
# Server-side keepalives on the lock's session: a holder whose machine vanished is dropped,
# and its lock freed, after about idle + interval * count seconds.
KEEPALIVE = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3}


@dataclass(frozen=True)
class Holder:
    """Who holds a pass lock, as far as the store can tell."""

    pid: int | None = None
    host: str | None = None
    started: datetime | None = None

    def __str__(self) -> str:
        parts = []
        if self.pid is not None:
            parts.append(f"pid {self.pid}" + (f" on {self.host}" if self.host else ""))
        if self.started is not None:
            parts.append(f"started {self.started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        return ", ".join(parts) or "holder unknown"


class PassLock(Protocol):
    def check(self) -> None:
        """Raise StoreError if the lock has been lost."""

    def release(self) -> None: ...


class _Lock(PassLock, Protocol):
    def try_take(self) -> bool: ...

    def holder(self) -> Holder: ...


def take_pass_lock(engine: Engine, connection_id: str, *, wait: float = 0.0) -> PassLock:
    """The connection's pass lock, held until `release()`; PassInProgress if another pass holds
    it for longer than `wait` seconds."""
    lock = _lock_for(engine, connection_id)
    deadline = time.monotonic() + wait
    try:
        while not lock.try_take():
            left = deadline - time.monotonic()
            if left <= 0:
                raise PassInProgress(
                    f"another pass of this connection is running ({lock.holder()})"
                )
            time.sleep(min(POLL_SECONDS, left))
    except BaseException:
        lock.release()
        raise
    return lock


@contextmanager
def released(lock: PassLock) -> Iterator[PassLock]:
    """`with released(lock):` the lock, released at the end of the block."""
    try:
        yield lock
    finally:
        lock.release()


def _lock_for(engine: Engine, connection_id: str) -> _Lock:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", connection_id):
        raise ValueError(f"not a connection id: {connection_id!r}")
    if engine.dialect.name == "postgresql":
        return _AdvisoryLock(engine, connection_id)
    path = sqlite_file(engine.url)
    if path is None:
        return _ProcessLock(f"{engine.url}#{connection_id}")
    return _FileLock(Path(f"{path}.locks") / f"pass-{connection_id}.lock")


def _me() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


class _AdvisoryLock:
    def __init__(self, engine: Engine, connection_id: str) -> None:
        digest = hashlib.sha256(f"d365xero pass {connection_id}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._engine = engine
        self._conn: sa.Connection | None = None

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.detach()  # closing it ends the session, never returns a locked one to the pool
            pid, host = _me()
            settings = {"application_name": f"d365xero pass pid={pid} host={host}"[:63]}
            settings.update({name: str(value) for name, value in KEEPALIVE.items()})
            for name, value in settings.items():
                conn.execute(sa.text("select set_config(:n, :v, false)"), {"n": name, "v": value})
            self._conn = conn
        return self._conn

    def try_take(self) -> bool:
        query = sa.text("select pg_try_advisory_lock(:key)")
        return bool(self._connection().scalar(query, {"key": self._key}))

    def holder(self) -> Holder:
        # A bigint advisory key shows in pg_locks as classid (high half), objid (low half).
        unsigned = self._key & 0xFFFFFFFFFFFFFFFF
        row = (
            self._connection()
            .execute(
                sa.text(
                    "select a.application_name, a.backend_start from pg_locks l"
                    " join pg_stat_activity a on a.pid = l.pid"
                    " where l.locktype = 'advisory' and l.granted and l.objsubid = 1"
                    " and l.classid = :classid and l.objid = :objid"
                    " and l.database = (select oid from pg_database"
                    " where datname = current_database())"
                ),
                {"classid": unsigned >> 32, "objid": unsigned & 0xFFFFFFFF},
            )
            .first()
        )
        if row is None:
            return Holder()
        found = re.fullmatch(r"d365xero pass pid=(\d+) host=(.*)", row[0] or "")
        if found is None:
            return Holder(started=row[1])
        return Holder(int(found[1]), found[2], row[1])

    def check(self) -> None:
        try:
            self._connection().scalar(sa.text("select 1"))
        except SQLAlchemyError as exc:
            raise StoreError(
                "the pass lost its lock: the database closed the lock's session; "
                "stopped before writing more"
            ) from exc

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            # Unlocked before the session closes: a backend ends a moment after its client
            # hangs up, and the next pass must not find the lock still held by it.
            self._conn.scalar(sa.text("select pg_advisory_unlock_all()"))
        except SQLAlchemyError:
            pass  # the session is gone already, and its locks with it
        finally:
            self._conn.close()  # the session ends: nothing locked goes back to a pool
            self._conn = None


class _FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._held = False

    def try_take(self) -> bool:
        if self._fd is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        pid, host = _me()
        note = json.dumps({"pid": pid, "host": host, "started": datetime.now(UTC).isoformat()})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, note.encode(), 0)
        return True

    def holder(self) -> Holder:
        assert self._fd is not None
        # The holder writes its note just after it takes the lock: give it a moment.
        for _ in range(20):
            text = os.pread(self._fd, 4096, 0)
            if text:
                try:
                    note = json.loads(text)
                    return Holder(
                        note["pid"], note["host"], datetime.fromisoformat(note["started"])
                    )
                except (ValueError, KeyError, TypeError):
                    pass  # caught mid-write
            time.sleep(0.01)
        return Holder()

    def check(self) -> None:
        """Nothing to do: the kernel keeps the lock as long as the file is open."""

    def release(self) -> None:
        if self._fd is not None:
            if self._held:
                os.ftruncate(self._fd, 0)  # no stale note for the next one to read
            os.close(self._fd)  # closing the file releases the flock
            self._fd, self._held = None, False


_held_here: dict[str, Holder] = {}
_held_here_guard = threading.Lock()


class _ProcessLock:
    def __init__(self, key: str) -> None:
        self._key = key
        self._held = False

    def try_take(self) -> bool:
        with _held_here_guard:
            if self._key in _held_here:
                return False
            pid, host = _me()
            _held_here[self._key] = Holder(pid, host, datetime.now(UTC))
            self._held = True
            return True

    def holder(self) -> Holder:
        return _held_here.get(self._key, Holder())

    def check(self) -> None:
        """Nothing to do: only this process can release it."""

    def release(self) -> None:
        if self._held:
            with _held_here_guard:
                _held_here.pop(self._key, None)
            self._held = False
