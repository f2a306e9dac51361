"""What a client asks before each call so that every process together stays inside a service's
limits: `acquire()` returns when one more call may start (it may sleep; it raises TransientError
when the budget is spent for longer than a pass should wait), and `hold_off(seconds)` passes on
a Retry-After the service sent, so every process honours it. The clients take one of these and
never import the store (jobs.clients builds the store's, store.budgets)."""

from __future__ import annotations

from typing import Protocol


class CallBudget(Protocol):
    def acquire(self) -> None: ...

    def hold_off(self, seconds: float) -> None: ...


class Unlimited:
    """No shared budget (one process alone, or tests of a client by itself)."""

    def acquire(self) -> None:
        return None

    def hold_off(self, seconds: float) -> None:
        return None
