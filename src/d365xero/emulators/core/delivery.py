"""Webhook delivery, the part the emulated services do alike: a queue, one worker thread with its
own httpx.Client, a POST made again after set delays, waiting until idle, and a stop. What is
sent, signed how, to where and tried again on which answers stays with each service (its
webhooks.py), as do the records of what was delivered.

The worker ends once the queue has been empty for IDLE seconds and the next item starts another,
so an emulator that sends nothing holds no thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

IDLE = 2.0

Item = TypeVar("Item")


def succeeded(status: int) -> bool:
    return 200 <= status < 300


def failed(status: int) -> bool:
    return not succeeded(status)


@dataclass(frozen=True)
class Attempt:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    detail: str  # "HTTP 503", or the transport error


class Courier:
    """A client and a stop: what a delivery is sent with."""

    def __init__(self, client: httpx.Client, stopped: threading.Event | None = None) -> None:
        self.client = client
        self._stopped = stopped or threading.Event()

    def post(
        self,
        url: str,
        body: bytes,
        headers: Callable[[], dict[str, str]],
        delays: Sequence[float] = (),
        again: Callable[[int], bool] = failed,
    ) -> list[Attempt]:
        """POSTs `body` at once, then after each delay in turn while `again(status)`. `headers`
        are made for each attempt (a signature may carry the time). A stop cuts the delays short
        and makes no further attempt."""
        attempts: list[Attempt] = []
        for delay in (0.0, *delays):
            if self._stopped.wait(delay):
                break
            attempts.append(self._once(url, body, headers()))
            if not again(attempts[-1].status):
                break
        return attempts

    def _once(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(0, f"{type(exc).__name__}: {exc}")
        return Attempt(response.status_code, f"HTTP {response.status_code}")


class Outbox(Generic[Item]):
    """Items handed to `deliver` on one worker thread in the order they were put; with `batch`,
    everything queued when the worker takes the next item goes with it."""

    def __init__(
        self,
        deliver: Callable[[Courier, list[Item]], None],
        client: Callable[[], httpx.Client],
        *,
        batch: bool = False,
    ) -> None:
        self._deliver = deliver
        self._client = client  # called on the worker, so a transport set later is used
        self._batch = batch
        self._lock = threading.Lock()
        self._queue: queue.Queue[Item] = queue.Queue()
        self._stopped = threading.Event()
        self._worker: threading.Thread | None = None

    def put(self, item: Item) -> None:
        with self._lock:
            self._queue.put(item)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, args=(self._queue, self._stopped), daemon=True
                )
                self._worker.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Whether every queued item was delivered or given up within `timeout` seconds (for
        tests and demos)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        """Drops what is queued and cuts short the delays under way; the worker ends after the
        attempt it is making, if any. The next put starts afresh (an emulator's reset)."""
        with self._lock:
            self._stopped.set()
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
                self._queue.task_done()
            self._queue, self._stopped, self._worker = queue.Queue(), threading.Event(), None

    def _work(self, items: queue.Queue[Item], stopped: threading.Event) -> None:
        with self._client() as client:
            courier = Courier(client, stopped)
            while not stopped.is_set():
                try:
                    batch = [items.get(timeout=IDLE)]
                except queue.Empty:
                    # Under the lock `put` holds: an item put before this check is seen here,
                    # and one put after it starts the next worker.
                    with self._lock:
                        if items.empty():
                            if self._worker is threading.current_thread():
                                self._worker = None
                            return
                    continue
                while self._batch:
                    try:
                        batch.append(items.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self._deliver(courier, batch)
                finally:
                    for _ in batch:
                        items.task_done()
