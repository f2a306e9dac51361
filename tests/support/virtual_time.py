"""Virtual time for a fixed set of threads, driven by their own waits (a discrete-event clock):
time stands still while any participant runs, and when every one is asleep it jumps to the
earliest wake-up. A test that paces calls this way is deterministic: each call happens at the
exact virtual moment its budget said, however slow the machine, and a minute of budget takes
milliseconds of real time.

    virtual = VirtualTime(participants=4)
    monkeypatch.setattr(emulator.clock, "time", virtual.time)   # the emulator reads it too
    budget = StoreBudget(..., clock=virtual.time, sleep=virtual.sleep)
    ... each participant calls virtual.done() when it has finished
"""

from __future__ import annotations

import heapq
import threading


class VirtualTime:
    def __init__(self, participants: int, start: float = 1_900_000_000.0) -> None:
        self._now = start
        self._active = participants
        self._asleep = 0
        self._wakes: list[float] = []
        self._cond = threading.Condition()

    def time(self) -> float:
        with self._cond:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            wake = self._now + max(0.0, seconds)
            heapq.heappush(self._wakes, wake)
            self._asleep += 1
            self._advance()
            while self._now < wake:
                self._cond.wait()

    def done(self) -> None:
        """This participant will not sleep again."""
        with self._cond:
            self._active -= 1
            self._advance()

    def _advance(self) -> None:
        """When nobody runs: move to the earliest wake-up and wake whoever is due."""
        if not self._wakes or self._asleep < self._active:
            return
        self._now = max(self._now, self._wakes[0])
        while self._wakes and self._wakes[0] <= self._now:
            heapq.heappop(self._wakes)
            self._asleep -= 1
        self._cond.notify_all()
