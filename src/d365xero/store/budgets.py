"""Rate budgets shared by every process through the store (table rate_budgets).

Pacing: a budget of `limit` calls per `period` seconds gives each call a slot `period / limit`
after the previous one, reserved with one atomic UPDATE ... RETURNING (PostgreSQL locks the row;
SQLite's single writer serialises it): whoever asks, in whichever process, gets the next free
slot and sleeps until it. Evenly spaced calls never put more than `limit` in any sliding window
of `period`, which is how Xero counts its minute (the emulator too). A fixed window (`window`,
`used`) counts Xero's day. `blocked_until` keeps a Retry-After for every process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from d365xero.errors import TransientError
from d365xero.store.models import RateBudget

table = RateBudget.__table__


@dataclass(frozen=True)
class Limit:
    calls: int
    period: float  # seconds
    paced: bool = True  # False: a fixed window (counted, not spaced), e.g. Xero's day


# Xero, per tenant (developer.xero.com/documentation/guides/oauth2/limits): 60 a minute, 5,000
# a day. The minute is paced 2% under the limit: clocks and networks are not exact.
XERO_LIMITS = (Limit(60, 60.0 * 1.02), Limit(5000, 86_400.0, paced=False))
# Dataverse service protection, per user (learn.microsoft.com/power-apps/developer/data-platform/
# api-limits): 6,000 requests in a 5-minute sliding window.
DATAVERSE_LIMITS = (Limit(6000, 300.0 * 1.02),)
# Longer than this and the pass had better end and leave the rest to the next one.
MAX_WAIT = 120.0


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
    with engine.begin() as connection:
        exists = connection.execute(sa.select(table.c.key).where(table.c.key == key)).first()
    if exists is None:
        _ensure(engine, key)
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


@dataclass
class StoreBudget:
    """A CallBudget (d365xero.budget) kept in the store under `key` (e.g. "xero:<tenant>")."""

    engine: Engine
    key: str
    limits: tuple[Limit, ...]
    service: str
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    max_wait: float = MAX_WAIT
    waited: float = field(default=0.0)  # seconds spent waiting, for benchmarks and logs

    def acquire(self) -> None:
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
            slot = reserve(self.engine, key, limit.period / limit.calls, now)
            if slot - now > self.max_wait:
                raise TransientError(
                    f"the {self.service} budget is booked {slot - now:.0f} s ahead "
                    "(other workers, or a Retry-After): the rest waits for the next pass",
                    service=self.service,
                    retry_after=slot - now,
                )
            if slot <= now:
                return  # the slot is already after any Retry-After (reserve takes the later)
            self.sleep(slot - now)
            self.waited += slot - now
            # A Retry-After that arrived while we slept: honour it, then take a new slot.
            if blocked_until(self.engine, key) <= self.clock():
                return

    def hold_off(self, seconds: float) -> None:
        until = self.clock() + seconds
        for index, limit in enumerate(self.limits):
            if limit.paced:
                hold_off(self.engine, f"{self.key}:{index}", until)
