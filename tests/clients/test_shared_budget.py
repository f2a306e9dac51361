"""Many callers of one Xero tenant, each with its own budget object but one budget in the store,
together stay inside the tenant's limits: the emulator, enforcing Xero's limits, refuses none of
their calls (its own counter of 429s), on SQLite and PostgreSQL.

- The minute: four clients, 160 calls, in virtual time driven by the budgets' own waits
  (tests/support/virtual_time.py): deterministic, and a few real seconds.
- Calls in progress: eight callers (threads, then processes) whose every call is slow at
  Xero; never more than 5 in progress. A holder killed mid-call blocks its slots only until
  their lease runs out.

Each has its control: the same load without the shared budget is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.engine import Engine

from d365xero.budget import CallBudget, Unlimited
from d365xero.errors import TransientError
from d365xero.store.budgets import (
    XERO_IN_FLIGHT,
    XERO_LIMITS,
    InFlight,
    StoreBudget,
    held_slots,
    take_slot,
)
from tests.support.hammer import KEY, hammer
from tests.support.hammer import client as xero_client
from tests.support.virtual_time import VirtualTime
from tests.support.xero_fixtures import API, XeroHarness

CLIENTS, CALLS = 4, 20


def _calls(xero_server: XeroHarness, budget: CallBudget | None, calls: int) -> None:
    with httpx.Client() as http:
        client = xero_client(xero_server.url, http, budget or Unlimited())
        for _ in range(calls):
            client.organisation()


def test_four_clients_of_one_tenant_get_no_429(
    xero_server: XeroHarness, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    virtual = VirtualTime(CLIENTS)
    monkeypatch.setattr(xero_server.emulator.clock, "time", virtual.time)
    xero_server.emulator.rate_limits_enabled = True

    def one_client(_: int) -> None:
        budget = StoreBudget(
            engine,
            KEY,
            XERO_LIMITS,
            "xero",
            clock=virtual.time,
            sleep=virtual.sleep,
            in_flight=XERO_IN_FLIGHT,
        )
        try:
            _calls(xero_server, budget, CALLS)
        finally:
            virtual.done()

    start = virtual.time()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one_client, range(CLIENTS)))
    made = xero_server.emulator.calls.total("/api.xro")
    assert made >= CLIENTS * CALLS > 60
    assert xero_server.emulator.limiter.refused == {}
    # Held back, not merely lucky: 60 at once, then the next 60 a (virtual) minute later...
    assert virtual.time() - start >= (made - 1) // 60 * 60

    with pytest.raises(TransientError, match="HTTP 429"):  # the control: no shared budget
        _calls(xero_server, None, 61)
    assert set(xero_server.emulator.limiter.refused) == {"minute"}


@pytest.fixture
def slow_xero(xero_server: XeroHarness) -> Iterator[XeroHarness]:
    """Limits enforced, and every Accounting GET 0.2 s in progress at Xero."""
    xero_server.emulator.rate_limits_enabled = True
    with httpx.Client() as http:
        slow = {"route": f"GET {API}", "kind": "slow", "seconds": 0.2}
        http.post(f"{xero_server.url}/_emulator/faults", json={"faults": [slow]})
    yield xero_server


def test_eight_callers_never_have_more_than_five_calls_in_progress(
    slow_xero: XeroHarness, engine: Engine
) -> None:
    found = hammer(slow_xero.url, engine, threads=8, calls=6, lease=30.0)
    assert found == {"ok": 8 * 6, "refused": 0}
    assert slow_xero.emulator.limiter.refused == {}
    assert held_slots(engine, f"{KEY}:in-flight", time.time()) == 0  # every slot given back

    control = hammer(slow_xero.url, engine, threads=8, calls=2, lease=None)
    assert control["refused"] > 0
    assert set(slow_xero.emulator.limiter.refused) == {"concurrent"}


def _hammers(url: str, database_url: str, count: int, threads: int, calls: int, lease: float):
    command = [sys.executable, "-m", "tests.support.hammer", url, database_url]
    return [
        subprocess.Popen(
            [*command, str(threads), str(calls), str(lease)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.getcwd(),
        )
        for _ in range(count)
    ]


def test_processes_never_have_more_than_five_calls_in_progress(
    slow_xero: XeroHarness, engine: Engine, database_url: str
) -> None:
    processes = _hammers(slow_xero.url, database_url, count=4, threads=2, calls=5, lease=30.0)
    results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert results == [{"ok": 2 * 5, "refused": 0}] * 4
    assert slow_xero.emulator.limiter.refused == {}


def test_a_holder_killed_mid_call_blocks_its_slots_only_for_their_lease(
    xero_server: XeroHarness, engine: Engine, database_url: str
) -> None:
    """Five calls in progress, 1 s each at Xero, their slots leased for 3 s, and their process
    killed: the next caller waits for the leases, not for ever, then gets an answer."""
    xero_server.emulator.rate_limits_enabled = True
    with httpx.Client() as http:
        slow = {"route": f"GET {API}", "kind": "slow", "seconds": 1.0}
        http.post(f"{xero_server.url}/_emulator/faults", json={"faults": [slow]})
    slots = f"{KEY}:in-flight"
    (holder,) = _hammers(xero_server.url, database_url, count=1, threads=5, calls=50, lease=3.0)
    deadline = time.monotonic() + 60
    while held_slots(engine, slots, time.time()) < 5:
        assert holder.poll() is None and time.monotonic() < deadline, "the holder never held 5"
        time.sleep(0.01)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    now = time.time()
    assert take_slot(engine, slots, 5, "someone-else", now, now + 1) is None  # all still held

    budget = StoreBudget(engine, KEY, (), "xero", in_flight=InFlight(5, 3.0), max_wait=30.0)
    with httpx.Client() as http:
        client = xero_client(xero_server.url, http, budget)
        client.organisation()  # waited for a lease to run out (TransientError after 30 s)
    assert budget.waited > 0
    assert xero_server.emulator.limiter.refused == {}
