"""Four clients of one Xero tenant, each with its own budget object but one budget in the store,
together stay inside the tenant's 60 calls a minute: the emulator, enforcing Xero's limits,
refuses none of their 160 calls (its own counter of 429s). Time is the emulator's clock, driven
fast by the test, so 160 virtual seconds take a few real ones; the budgets read the same clock.
The same load without the shared budget is refused (the emulator does enforce)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.engine import Engine

from d365xero.budget import CallBudget
from d365xero.emulators.core.clock import Clock
from d365xero.errors import TransientError
from d365xero.store.budgets import XERO_LIMITS, StoreBudget
from d365xero.xero.client import RetryPolicy, XeroClient
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import ClientCredentialsTokens
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, TENANT_ID, XeroHarness

CLIENTS, CALLS = 4, 20


@pytest.fixture
def driven_clock(xero_server: XeroHarness) -> Iterator[Clock]:
    """The emulator's clock, moved 0.05 s every 2 ms of real time (25 times real time: a call's
    latency stays well inside the budget's 2% margin) while the test runs."""
    clock = xero_server.emulator.clock
    stop = threading.Event()

    def drive() -> None:
        while not stop.wait(0.002):
            clock.advance(0.05)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    yield clock
    stop.set()
    driver.join()


def _sleeper(clock: Clock) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:  # until the driven clock has moved that far
        until = clock.time() + seconds
        while clock.time() < until:
            time.sleep(0.001)

    return sleep


def _calls(xero_server: XeroHarness, budget: CallBudget | None, calls: int) -> None:
    with httpx.Client() as http:
        endpoints = XeroEndpoints(xero_server.url)
        tokens = ClientCredentialsTokens(http, endpoints.token_url, CLIENT_ID, CLIENT_SECRET)
        client = XeroClient(
            endpoints=endpoints,
            tenant_id=TENANT_ID,
            tokens=tokens,
            retry=RetryPolicy(attempts=1),
            budget=budget,
        )
        for _ in range(calls):
            client.organisation()


def test_four_clients_of_one_tenant_get_no_429(
    xero_server: XeroHarness, engine: Engine, driven_clock: Clock
) -> None:
    xero_server.emulator.rate_limits_enabled = True

    def one_client(_: int) -> None:
        budget = StoreBudget(
            engine,
            f"xero:{TENANT_ID}",
            XERO_LIMITS,
            "xero",
            clock=driven_clock.time,
            sleep=_sleeper(driven_clock),
        )
        _calls(xero_server, budget, CALLS)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one_client, range(CLIENTS)))
    assert xero_server.emulator.calls.total("/api.xro") >= CLIENTS * CALLS > 60
    assert xero_server.emulator.limiter.refused == {}

    with pytest.raises(TransientError, match="HTTP 429"):  # the control: no shared budget
        _calls(xero_server, None, 61)
    assert set(xero_server.emulator.limiter.refused) == {"minute"}
