"""Work the dashboard asks Dynamics and Xero for, kept from costing more than it must:

- `Brief`: an answer kept for a few seconds (the failed invoices: a dashboard reloaded, or
  opened in two tabs, asks Dynamics once), dropped when the portal changes what it said.
- `Jobs`: slow read-only work run on request (a dry run, a reconciliation), at most one per
  connection and kind at a time, on a small pool of threads. The request waits for it up to
  `wait` seconds; a job still going then keeps going, and its result is kept for the page to
  show when asked again. So a click never holds a request (or a thread of the server's pool)
  for longer than `wait`, and repeated clicks never pile up work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request

T = TypeVar("T")


class Brief(Generic[T]):
    def __init__(self, seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._kept: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, make: Callable[[], T]) -> tuple[T, float]:
        """(the answer, its age in seconds): kept, or made now (outside the lock: a slow
        answer for one connection does not hold up another's)."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept and now - kept[0] < self.seconds:
            return kept[1], now - kept[0]
        value = make()
        with self._lock:
            self._kept[key] = (self._clock(), value)
            if len(self._kept) > 10_000:  # a bound, not a policy: old ones go first
                for old in sorted(self._kept, key=lambda k: self._kept[k][0])[:1000]:
                    del self._kept[old]
        return value, 0.0

    def drop(self, key: str) -> None:
        with self._lock:
            self._kept.pop(key, None)


@dataclass
class Job:
    future: Future[Any]
    started: float
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.future.done()

    def outcome(self) -> tuple[Any, BaseException | None]:
        """(result, None) or (None, the exception it raised); only once done."""
        error = self.future.exception()
        return (None, error) if error else (self.future.result(), None)


class Jobs:
    def __init__(self, workers: int = 2, wait: float = 20.0, keep: float = 600.0) -> None:
        self.wait, self.keep = wait, keep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portal-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, work: Callable[[], Any]) -> Job:
        """The job for `key`: the one still running, else a new one of `work`. Waits up to
        `wait` seconds for it to end."""
        with self._lock:
            self._forget_old()
            job = self._jobs.get(key)
            if job is None or job.done:
                made = Job(self._pool.submit(work), time.monotonic())
                made.future.add_done_callback(lambda _f: _finished(made))
                self._jobs[key] = job = made
        try:
            job.future.result(timeout=self.wait)
        except FutureTimeout:
            pass
        except Exception:  # the page shows it (Job.outcome)
            pass
        return job

    def latest(self, key: str) -> Job | None:
        with self._lock:
            self._forget_old()
            return self._jobs.get(key)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key, job in list(self._jobs.items()):
            if job.finished is not None and now - job.finished > self.keep:
                del self._jobs[key]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _finished(job: Job) -> None:
    job.finished = time.monotonic()


_MADE = threading.Lock()


def on_app(request: Request, name: str, make: Callable[[], T]) -> T:
    """The app's one `name` (made on first use: the portal's pages need no change to
    create_app)."""
    state = request.app.state
    found: T | None = getattr(state, name, None)
    if found is None:
        with _MADE:
            found = getattr(state, name, None)
            if found is None:
                found = make()
                setattr(state, name, found)
    return found
