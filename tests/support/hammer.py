"""Callers hammering one Xero tenant at once: `threads` XeroClients in this process, each making
`calls` GET Organisation, every call through a StoreBudget that holds Xero's limit of calls in
progress (5 per tenant) in the store. Only that limit: the tenant's minute is kept out of the
way by moving the emulator's clock 1.5 s before each call (so any 60 s of its clock hold at most
40 calls plus one per caller). Without a lease (None) there is no budget at all: the control.

In this process: `hammer(...)`; as one of several processes:

    python -m tests.support.hammer XERO_URL DATABASE_URL THREADS CALLS LEASE

prints JSON {"ok": calls answered, "refused": calls refused with a 429}.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine

from d365xero.budget import CallBudget, Unlimited
from d365xero.errors import TransientError
from d365xero.store.budgets import InFlight, StoreBudget
from d365xero.store.db import create_engine
from d365xero.xero.client import RetryPolicy, XeroClient
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import ClientCredentialsTokens
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, TENANT_ID

KEY = f"xero:{TENANT_ID}"
CLOCK_STEP = 1.5  # emulator seconds per call


@dataclass
class ClockPerCall:
    """The budget, and the emulator's clock moved on before each call."""

    inner: CallBudget
    http: httpx.Client
    url: str

    def acquire(self) -> None:
        self.inner.acquire()
        self.http.post(f"{self.url}/_emulator/clock", json={"advance_seconds": CLOCK_STEP})

    def release(self) -> None:
        self.inner.release()

    def hold_off(self, seconds: float) -> None:
        self.inner.hold_off(seconds)


def client(url: str, http: httpx.Client, budget: CallBudget) -> XeroClient:
    endpoints = XeroEndpoints(url)
    tokens = ClientCredentialsTokens(http, endpoints.token_url, CLIENT_ID, CLIENT_SECRET)
    return XeroClient(
        endpoints=endpoints,
        tenant_id=TENANT_ID,
        tokens=tokens,
        retry=RetryPolicy(attempts=1, backoff=0.0),
        sleep=lambda seconds: None,
        budget=budget,
    )


def _one_caller(url: str, engine: Engine, calls: int, lease: float | None) -> tuple[int, int]:
    ok = refused = 0
    with httpx.Client() as http:
        inner: CallBudget = Unlimited()
        if lease is not None:
            inner = StoreBudget(engine, KEY, (), "xero", in_flight=InFlight(5, lease))
        xero = client(url, http, ClockPerCall(inner, http, url))
        for _ in range(calls):
            try:
                xero.organisation()
                ok += 1
            except TransientError as exc:
                assert "429" in str(exc), exc
                refused += 1
        xero.close()
    return ok, refused


def hammer(
    url: str, engine: Engine, threads: int, calls: int, lease: float | None
) -> dict[str, int]:
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda _: _one_caller(url, engine, calls, lease), range(threads)))
    return {"ok": sum(r[0] for r in results), "refused": sum(r[1] for r in results)}


def main() -> None:
    url, database, threads, calls, lease = sys.argv[1:6]
    engine = create_engine(database)
    try:
        found = hammer(url, engine, int(threads), int(calls), float(lease))
    finally:
        engine.dispose()
    print(json.dumps(found))


if __name__ == "__main__":
    main()
