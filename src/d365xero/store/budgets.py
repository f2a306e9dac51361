"""Rate budgets shared by every process through the store (table rate_budgets).

Pacing: a budget of `limit` calls per `period` seconds gives each call a slot `period / limit`
after the previous one, reserved with one atomic UPDATE ... RETURNING (PostgreSQL locks the row;
SQLite's single writer serialises it): whoever asks, in whichever process, gets the next free
slot and sleeps until it. Evenly spaced calls never put more than `limit` in any sliding window
of `period`. A fixed window (`window`, `used`) counts Xero's day. `blocked_until` keeps a
Retry-After for every process.

A sliding window (`Limit.sliding`, Xero's minute, which Xero and its emulator count over the
last 60 seconds) is kept exactly instead: when each of the last `limit` calls was answered is in
rate_starts (its start until then), and call n may start a period after call n - `limit` was
answered (`used` counts the calls, and its row lock makes one reservation at a time). Calls go
at once while the window has room (a pass's reference calls, a webhook's pass), and a call that
starts late (the work between calls took longer than a slot) is made up by the next ones
instead of being lost, as even pacing loses it: a backlog runs at the limit whenever the
connector keeps up on average.

Calls in progress (Xero's 5 per tenant; table rate_leases): a budget with an InFlight limit has
that many slot rows; a call first leases a free one (one UPDATE ... RETURNING of a slot whose
lease has run out; PostgreSQL's SKIP LOCKED lets concurrent takers pick different rows) and
gives it back after the call. A holder that dies (SIGKILL, a lost machine) keeps its slot only
until the lease runs out. The slot is taken before the paced slot is reserved, so a wait for a
free slot never delays a call past its place in the minute.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from d365xero.errors import TransientError
from d365xero.store.models import RateBudget, RateLease, RateStart

table = RateBudget.__table__
leases = RateLease.__table__
starts = RateStart.__table__


@dataclass(frozen=True)
class Limit:
    calls: int
    period: float  # seconds
    paced: bool = True  # False: a fixed window (counted, not spaced), e.g. Xero's day
    sliding: bool = False  # paced as a sliding window: bursts while it has room


# Xero, per tenant (developer.xero.com/documentation/guides/oauth2/limits): 60 a minute, 5,000
# a day. The minute's window is 1% longer than Xero's, for clocks that differ between machines
# (a call's latency is covered already: the window counts from when it was answered).
XERO_LIMITS = (Limit(60, 60.0 * 1.01, sliding=True), Limit(5000, 86_400.0, paced=False))
# Dataverse service protection, per user (learn.microsoft.com/power-apps/developer/data-platform/
# api-limits): 6,000 requests in a 5-minute sliding window.
DATAVERSE_LIMITS = (Limit(6000, 300.0 * 1.02),)
# Longer than this and the pass had better end and leave the rest to the next one.
MAX_WAIT = 120.0


@dataclass(frozen=True)
class InFlight:
    """At most `calls` in progress at once, each slot leased for `lease` seconds at most."""

    calls: int
    lease: float


# Xero, per tenant: 5 calls in progress (same page; 429 with X-Rate-Limit-Problem: concurrent).
# The lease outlasts any call the client lets run (xero.client: 10 s to connect, 120 s to read),
# so a live holder never loses its slot; a dead one blocks it for that long at most.
XERO_IN_FLIGHT = InFlight(5, lease=150.0)
# Between looks for a free slot: from FIRST_POLL, doubling to MAX_POLL.
FIRST_POLL, MAX_POLL = 0.02, 0.4


def _ensure(engine: Engine, key: str) -> None:
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(key=key, next_at=0.0, blocked_until=0.0, window=0, used=0)
    with engine.begin() as connection:
        connection.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


def _greatest(engine: Engine, *values: sa.ColumnElement[float]) -> sa.ColumnElement[float]:
    name = "greatest" if engine.dialect.name == "postgresql" else "max"
    return getattr(sa.func, name)(*values)  # type: ignore[no-any-return]


def reserve(engine: Engine, key: str, interval: float, now: float) -> float:
    """The start of the next free slot of a paced budget (epoch seconds), now reserved."""
    slot = _greatest(engine, table.c.next_at, table.c.blocked_until, sa.literal(now))
    statement = (
        table.update()
        .where(table.c.key == key)
        .values(next_at=slot + interval)
        .returning(table.c.next_at)
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    if row is None:
        _ensure(engine, key)
        return reserve(engine, key, interval, now)
    return float(row[0]) - interval


def reserve_sliding(
    engine: Engine, key: str, calls: int, period: float, now: float
) -> tuple[float, int]:
    """The start of the next call of a sliding-window budget (epoch seconds), now reserved, and
    its index in rate_starts: no earlier than `period` after the call `calls` before it, nor
    than now, nor than a Retry-After."""
    count_up = (
        table.update()
        .where(table.c.key == key)
        .values(used=table.c.used + 1)
        .returning(table.c.used, table.c.blocked_until)
    )
    with engine.begin() as connection:
        counted = connection.execute(count_up).first()  # the row stays locked until commit
        if counted is not None:
            index = (int(counted[0]) - 1) % calls
            earliest = max(now, float(counted[1]))
            slot = _greatest(engine, starts.c.at + period, sa.literal(earliest))
            moved = connection.execute(
                starts.update()
                .where(starts.c.key == key, starts.c.idx == index)
                .values(at=slot)
                .returning(starts.c.at)
            ).first()
            if moved is None:  # the first round: nothing `calls` before this one
                connection.execute(starts.insert().values(key=key, idx=index, at=earliest))
                return earliest, index
            return float(moved[0]), index
    _ensure(engine, key)
    return reserve_sliding(engine, key, calls, period, now)


def ended(engine: Engine, key: str, index: int, slot: float, at: float) -> None:
    """The call reserved for `slot` was answered at `at`: the call `calls` after it counts from
    then (unless it has reserved already). Xero counted the call somewhere between its start
    and its answer; counting from the answer keeps the window however slow the way there was
    (a token fetched first, a busy network or server)."""
    statement = (
        starts.update()
        .where(starts.c.key == key, starts.c.idx == index, starts.c.at == slot)
        .values(at=at)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def count(engine: Engine, key: str, limit: Limit, now: float) -> float:
    """Count one call in a fixed-window budget; 0.0 if it fits, else when the window ends."""
    window = int(now // limit.period)
    statement = (
        table.update()
        .where(table.c.key == key, sa.or_(table.c.window != window, table.c.used < limit.calls))
        .values(used=sa.case((table.c.window == window, table.c.used + 1), else_=1), window=window)
        .returning(table.c.used)
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    if row is not None:
        return 0.0
    query = sa.select(table.c.window, table.c.used).where(table.c.key == key)
    with engine.connect() as connection:
        found = connection.execute(query).first()
    if found is None:
        _ensure(engine, key)
        return count(engine, key, limit, now)
    if found[0] != window or found[1] < limit.calls:  # the row was made after our UPDATE ran
        return count(engine, key, limit, now)
    return (window + 1) * limit.period


def blocked_until(engine: Engine, key: str) -> float:
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(table.c.blocked_until).where(table.c.key == key)
        ).scalar()
    return float(value or 0.0)


def hold_off(engine: Engine, key: str, until: float) -> None:
    """No call of this budget starts before `until`, in any process."""
    _ensure(engine, key)
    statement = (
        table.update()
        .where(table.c.key == key)
        .values(blocked_until=_greatest(engine, table.c.blocked_until, sa.literal(until)))
    )
    with engine.begin() as connection:
        connection.execute(statement)


def _ensure_slots(engine: Engine, key: str, calls: int) -> None:
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    rows = [{"key": key, "slot": n, "holder": None, "expires_at": 0.0} for n in range(calls)]
    statement = insert(leases).values(rows).on_conflict_do_nothing(index_elements=["key", "slot"])
    with engine.begin() as connection:
        connection.execute(statement)


def take_slot(
    engine: Engine, key: str, calls: int, holder: str, now: float, until: float
) -> int | None:
    """One of the first `calls` slots of `key` whose lease has run out, now leased to `holder`
    until `until`; None while every one is held. The slot rows must exist (_ensure_slots)."""
    free = sa.and_(leases.c.key == key, leases.c.slot < calls, leases.c.expires_at <= now)
    pick = (
        sa.select(leases.c.slot)
        .where(free)
        .order_by(leases.c.slot)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's one writer serialises it
        .scalar_subquery()
    )
    # `free` again on the row updated: a taker that lost the race for it updates nothing.
    statement = (
        leases.update()
        .where(free, leases.c.slot == pick)
        .values(holder=holder, expires_at=until)
        .returning(leases.c.slot)
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    return None if row is None else int(row[0])


def extend_slot(engine: Engine, key: str, slot: int, holder: str, until: float) -> None:
    statement = (
        leases.update()
        .where(leases.c.key == key, leases.c.slot == slot, leases.c.holder == holder)
        .values(expires_at=until)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def release_slot(engine: Engine, key: str, slot: int, holder: str) -> None:
    """The slot is free again, unless its lease ran out and someone else holds it now."""
    statement = (
        leases.update()
        .where(leases.c.key == key, leases.c.slot == slot, leases.c.holder == holder)
        .values(holder=None, expires_at=0.0)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def held_slots(engine: Engine, key: str, now: float) -> int:
    """How many of `key`'s slots are leased at `now` (for tests and metrics)."""
    query = sa.select(sa.func.count()).where(leases.c.key == key, leases.c.expires_at > now)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


@dataclass
class StoreBudget:
    """A CallBudget (d365xero.budget) kept in the store under `key` (e.g. "xero:<tenant>").
    One caller at a time (a client's calls are sequential): it holds one slot between acquire()
    and release()."""

    engine: Engine
    key: str
    limits: tuple[Limit, ...]
    service: str
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    max_wait: float = MAX_WAIT
    in_flight: InFlight | None = None
    waited: float = field(default=0.0)  # seconds spent waiting, for benchmarks and logs
    _lease: tuple[int, str] | None = field(default=None, repr=False)
    _window: tuple[str, int, float] | None = field(default=None, repr=False)
    _slots_made: bool = field(default=False, repr=False)

    def acquire(self) -> None:
        self._take_slot()
        waited = self.waited
        try:
            self._within_limits()
        except BaseException:
            self.release()
            raise
        if self._lease is not None and self.in_flight and self.waited > waited:
            slot, holder = self._lease  # the lease runs from the call's start, not the wait's
            extend_slot(
                self.engine, self._slots_key, slot, holder, self.clock() + self.in_flight.lease
            )

    def release(self) -> None:
        if self._window is not None:
            key, index, slot = self._window
            self._window = None
            ended(self.engine, key, index, slot, max(slot, self.clock()))
        if self._lease is not None:
            slot, holder = self._lease
            self._lease = None
            release_slot(self.engine, self._slots_key, slot, holder)

    @property
    def _slots_key(self) -> str:
        return f"{self.key}:in-flight"

    def _take_slot(self) -> None:
        if self.in_flight is None:
            return
        calls, lease = self.in_flight.calls, self.in_flight.lease
        if not self._slots_made:
            _ensure_slots(self.engine, self._slots_key, calls)
            self._slots_made = True
        holder, started, poll = uuid.uuid4().hex, self.clock(), FIRST_POLL
        while True:
            now = self.clock()
            slot = take_slot(self.engine, self._slots_key, calls, holder, now, now + lease)
            if slot is not None:
                self._lease = (slot, holder)
                return
            if now - started > self.max_wait:
                raise TransientError(
                    f"all {calls} of the {self.service} calls allowed in progress at once have "
                    f"been taken for {now - started:.0f} s (other workers): the rest waits for "
                    "the next pass",
                    service=self.service,
                    retry_after=poll,
                )
            self.sleep(poll)
            self.waited += poll
            poll = min(MAX_POLL, poll * 2)

    def _within_limits(self) -> None:
        for index, limit in enumerate(self.limits):
            key = f"{self.key}:{index}"
            if limit.paced:
                self._paced(key, limit)
            else:
                ends = count(self.engine, key, limit, self.clock())
                if ends:
                    raise TransientError(
                        f"the {self.service} budget of {limit.calls} calls per "
                        f"{limit.period:.0f} s is spent until {time.ctime(ends)}",
                        service=self.service,
                        retry_after=ends - self.clock(),
                    )

    def _paced(self, key: str, limit: Limit) -> None:
        while True:
            now = self.clock()
            index: int | None = None
            if limit.sliding:
                slot, index = reserve_sliding(self.engine, key, limit.calls, limit.period, now)
            else:
                slot = reserve(self.engine, key, limit.period / limit.calls, now)
            if slot - now > self.max_wait:
                raise TransientError(
                    f"the {self.service} budget is booked {slot - now:.0f} s ahead "
                    "(other workers, or a Retry-After): the rest waits for the next pass",
                    service=self.service,
                    retry_after=slot - now,
                )
            if slot > now:
                self.sleep(slot - now)
                self.waited += slot - now
            # Not slept: the slot is already after any Retry-After (reserve takes the later),
            # so nothing more is read. Slept: a Retry-After may have come meanwhile; honour it.
            if slot <= now or blocked_until(self.engine, key) <= self.clock():
                if index is not None:
                    self._window = (key, index, slot)  # release() counts the call from its answer
                return

    def hold_off(self, seconds: float) -> None:
        until = self.clock() + seconds
        for index, limit in enumerate(self.limits):
            if limit.paced:
                hold_off(self.engine, f"{self.key}:{index}", until)
