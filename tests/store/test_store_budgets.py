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
from d365xero.store.budgets import Limit, StoreBudget, count, hold_off, reserve

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
