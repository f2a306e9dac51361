"""What the pass lock costs a pass (store.locks): taking and releasing it, and the check made
before each step of the engine, on SQLite (a file lock) and PostgreSQL (an advisory lock on a
session of its own). `python -m bench.pass_lock [--postgres URL] [--rounds N]`; results in
docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from d365xero.store.db import create_engine
from d365xero.store.locks import take_pass_lock


def measure(url: str, rounds: int) -> tuple[float, float]:
    """Milliseconds per take + release, and per check, averaged over `rounds`."""
    engine = create_engine(url)
    try:
        take_pass_lock(engine, "warm-up").release()
        started = time.perf_counter()
        for _ in range(rounds):
            take_pass_lock(engine, "bench").release()
        take = (time.perf_counter() - started) / rounds
        lock = take_pass_lock(engine, "bench")
        started = time.perf_counter()
        for _ in range(rounds):
            lock.check()
        check = (time.perf_counter() - started) / rounds
        lock.release()
        return take * 1000, check * 1000
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{Path(folder) / 'store.sqlite3'}"
        for name, url in (("SQLite", sqlite), ("PostgreSQL", args.postgres)):
            take, check = measure(url, args.rounds)
            print(f"{name}: take + release {take:.2f} ms, check {check:.3f} ms")


if __name__ == "__main__":
    main()
