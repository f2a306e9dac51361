"""Shared rate budgets: slots reserved by many threads (and, on PostgreSQL, processes) at once
are all different and evenly spaced; a fixed window never grants more than its limit; a
Retry-After held off by one holder delays everybody's next slot."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
from sqlalchemy.engine import Engine

from d365xero.errors import TransientError
from d365xero.store.budgets import (
    Limit,
    StoreBudget,
    count,
    hold_off,
    reserve,
    reserve_sliding,
)

INTERVAL = 0.5
NOW = 1_000_000.0


def _assert_evenly_spaced(slots: list[float], first: float) -> None:
    ordered = sorted(slots)
    assert ordered[0] == pytest.approx(first)
    gaps = [b - a for a, b in pairwise(ordered)]
    assert all(gap == pytest.approx(INTERVAL) for gap in gaps), gaps[:5]


def test_threads_reserving_at_once_get_distinct_evenly_spaced_slots(engine: Engine) -> None:
    with ThreadPoolExecutor(8) as pool:
        slots = list(pool.map(lambda _: reserve(engine, "t", INTERVAL, NOW), range(120)))
    assert len(set(slots)) == 120
    _assert_evenly_spaced(slots, NOW)


@pytest.mark.postgres
def test_processes_reserving_at_once_get_distinct_evenly_spaced_slots(
    engine: Engine, database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several processes on one store: PostgreSQL")
    code = (
        "import json, sys\n"
        "from d365xero.store.db import create_engine\n"
        "from d365xero.store.budgets import reserve\n"
        "engine = create_engine(sys.argv[1])\n"
        f"print(json.dumps([reserve(engine, 'p', {INTERVAL}, {NOW}) for _ in range(40)]))\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    slots = [s for p in processes for s in json.loads(p.communicate(timeout=60)[0])]
    assert len(set(slots)) == 160
    _assert_evenly_spaced(slots, NOW)


def test_a_fixed_window_grants_its_limit_and_no_more(engine: Engine) -> None:
    day = Limit(50, 86_400.0, paced=False)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: count(engine, "d", day, NOW), range(80)))
    assert answers.count(0.0) == 50
    next_window = (NOW // 86_400 + 1) * 86_400
    assert set(answers) - {0.0} == {next_window}
    assert count(engine, "d", day, next_window) == 0.0  # a new window starts again


def test_a_retry_after_held_off_by_one_delays_every_next_slot(engine: Engine) -> None:
    assert reserve(engine, "r", INTERVAL, NOW) == NOW
    hold_off(engine, "r", NOW + 30)
    assert reserve(engine, "r", INTERVAL, NOW + 1) == NOW + 30


def test_the_budget_sleeps_until_its_slot_and_refuses_a_spent_day(engine: Engine) -> None:
    clock = [NOW]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    budget = StoreBudget(
        engine,
        "xero:tenant",
        (Limit(2, 2 * INTERVAL), Limit(3, 86_400.0, paced=False)),
        "xero",
        clock=lambda: clock[0],
        sleep=sleep,
    )
    for _ in range(3):
        budget.acquire()
    assert slept == [pytest.approx(INTERVAL)] * 2
    with pytest.raises(TransientError, match="budget of 3 calls per 86400 s is spent"):
        budget.acquire()


PERIOD = 61.2


def _assert_sliding(slots: list[float], calls: int) -> None:
    """No `calls` + 1 of them within a period: call k starts a period after call k - calls."""
    ordered = sorted(slots)
    assert all(b - a >= PERIOD - 1e-6 for a, b in zip(ordered, ordered[calls:], strict=False))


def test_a_sliding_window_lets_a_burst_through_then_a_period_later_the_next(
    engine: Engine,
) -> None:
    with ThreadPoolExecutor(8) as pool:
        reserved = list(
            pool.map(lambda _: reserve_sliding(engine, "w", 60, PERIOD, NOW), range(150))
        )
    slots = [slot for slot, _ in reserved]
    assert sorted(slots) == pytest.approx(
        [NOW] * 60 + [NOW + PERIOD] * 60 + [NOW + 2 * PERIOD] * 30
    )
    assert sorted(index for _, index in reserved) == sorted(list(range(60)) * 2 + list(range(30)))
    _assert_sliding(slots, 60)


def test_a_sliding_window_makes_up_for_a_late_caller(engine: Engine) -> None:
    """One caller, sometimes slower than 1 s a call: the budget lets the next calls catch up,
    where even pacing would lose the time for good, and still never 61 in a period."""
    now, slots = NOW, []
    for n in range(200):
        slot, _ = reserve_sliding(engine, "late", 60, PERIOD, now)
        slots.append(slot)
        now = max(now, slot) + (1.8 if n % 4 == 3 else 0.6)  # the work after the call
    _assert_sliding(slots, 60)
    paced = 199 * PERIOD / 60
    assert slots[-1] - slots[0] < paced  # 1.02 s a call on average: the 1.8 s are made up


@pytest.mark.postgres
def test_processes_reserving_a_sliding_window_never_put_61_in_a_period(
    engine: Engine, database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several processes on one store: PostgreSQL")
    code = (
        "import json, sys\n"
        "from d365xero.store.db import create_engine\n"
        "from d365xero.store.budgets import reserve_sliding\n"
        "engine = create_engine(sys.argv[1])\n"
        f"print(json.dumps([reserve_sliding(engine, 'ps', 60, {PERIOD}, {NOW})[0]"
        " for _ in range(40)]))\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    slots = [s for p in processes for s in json.loads(p.communicate(timeout=60)[0])]
    assert sorted(slots) == pytest.approx(
        [NOW] * 60 + [NOW + PERIOD] * 60 + [NOW + 2 * PERIOD] * 40
    )


def test_a_new_fixed_window_refuses_nobody_while_its_row_is_being_made(engine: Engine) -> None:
    """Callers that all find no row yet: each makes it or waits for it, none is told the day is
    spent (a caller whose UPDATE ran before the row existed used to be)."""
    day = Limit(5000, 86_400.0, paced=False)
    for key in ("n0", "n1", "n2", "n3", "n4"):
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _, k=key: count(engine, k, day, NOW), range(8)))
        assert answers == [0.0] * 8


def test_a_sliding_window_counts_a_call_from_its_answer(engine: Engine) -> None:
    """Xero counted a call somewhere between its start and its answer: the call `limit` later
    waits a period after the answer, so a slow way there never squeezes the window."""
    clock = [NOW]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    budget = StoreBudget(
        engine, "answered", (Limit(2, 10.0, sliding=True),), "xero", lambda: clock[0], sleep
    )
    budget.acquire()
    clock[0] += 3.0  # the first call took 3 s to be answered
    budget.release()
    budget.acquire()  # room in the window: at once
    budget.release()
    assert clock[0] == NOW + 3.0
    budget.acquire()
    assert clock[0] == pytest.approx(NOW + 13.0)  # 10 s after the first call's answer


def test_a_call_that_need_not_wait_costs_one_statement_per_limit(engine: Engine) -> None:
    """Its slot is already past any Retry-After, so nothing more is read: every Xero and
    Dataverse call pays the store this, so it is one round trip per limit, not two."""
    import sqlalchemy as sa

    clock = [NOW]
    budget = StoreBudget(
        engine, "dataverse:org", (Limit(6000, 306.0),), "dataverse", clock=lambda: clock[0]
    )
    budget.acquire()  # makes the row
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.split()[0].upper())

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        clock[0] = NOW + 60  # long after the last slot
        budget.acquire()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["UPDATE"]
