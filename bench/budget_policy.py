"""The Xero budget's waiting policy alone, in virtual time: one pass exporting a backlog of N
invoices (6 reference calls, then ceil(N/50) invoice writes), the work between calls (reading
Dynamics, writing back) drawn from a profile, each call `--latency` seconds at Xero. Every call
goes through a real StoreBudget (a SQLite store in a temporary folder) and the Xero emulator's
own RateLimiter (enforcing, to count 429s); the clock is virtual, so 10,000 invoices take a few
seconds. Policies: `even` (calls paced 1.02 s apart, the budget before the sliding window) and
`sliding` (store.budgets.XERO_LIMITS). Output: the export time against the floor of ceil(N/50)
seconds.

    .venv/bin/python -m bench.budget_policy --invoices 10000 --work 0.3 0.6 0.9 1.2
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

from d365xero.emulators.core.clock import Clock
from d365xero.emulators.xero.errors import RateLimited
from d365xero.emulators.xero.ratelimit import RateLimiter
from d365xero.store.budgets import XERO_IN_FLIGHT, XERO_LIMITS, Limit, StoreBudget
from d365xero.store.db import create_engine
from d365xero.store.migrate import upgrade

POLICIES = {
    "even": (Limit(60, 60.0 * 1.02), Limit(5000, 86_400.0, paced=False)),
    "sliding": XERO_LIMITS,
}
PAGE = 4  # invoice writes per page of 200: the page's read and write-back come after the 4th


class VirtualClock(Clock):
    def __init__(self, start: float) -> None:
        super().__init__()
        self.now = start

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _work(n: int, mean: float) -> float:
    """After every PAGE-th call the page boundary costs 3 times the others (same mean)."""
    heavy = (n + 1) % PAGE == 0
    return mean * (3 if heavy else 1) * PAGE / (PAGE + 2)


def run(folder: Path, policy: str, invoices: int, work: float, latency: float) -> dict[str, object]:
    url = f"sqlite:///{folder / f'{policy}-{work}.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    clock = VirtualClock(2_000_000_000.0)
    limiter = RateLimiter(clock, enforce=True)
    budget = StoreBudget(
        engine,
        "xero:t",
        POLICIES[policy],
        "xero",
        clock.time,
        clock.sleep,
        in_flight=XERO_IN_FLIGHT,
    )
    calls = 6 + math.ceil(invoices / 50)
    start, refused = clock.now, 0
    for n in range(calls):
        budget.acquire()
        try:
            limiter.acquire("t")
            clock.now += latency
            limiter.release("t")
        except RateLimited:
            refused += 1
        budget.release()
        clock.now += _work(n, work)
    engine.dispose()
    exported = clock.now - start
    floor = math.ceil(invoices / 50)
    return {
        "policy": policy,
        "work_s": work,
        "latency_s": latency,
        "calls": calls,
        "exported_s": round(exported, 1),
        "floor_s": floor,
        "ratio": round(exported / floor, 3),
        "waited_s": round(budget.waited, 1),
        "refused_429": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--work", type=float, nargs="+", default=[0.3, 0.6, 0.9, 1.2])
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for work in args.work:
            for policy in POLICIES:
                print(json.dumps(run(Path(folder), policy, args.invoices, work, args.latency)))


if __name__ == "__main__":
    main()
