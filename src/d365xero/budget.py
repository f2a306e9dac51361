"""What a client asks before each call so that every process together stays inside a service's
limits: `acquire()` returns when one more call may start (it may sleep; it raises TransientError
when the budget is spent for longer than a pass should wait), `release()` says the call is over
(it no longer counts among the calls in progress), and `hold_off(seconds)` passes on a
Retry-After the service sent, so every process honours it. The clients take one of these through
`one_call` and never import the store (jobs.clients builds the store's, store.budgets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class CallBudget(Protocol):
    def acquire(self) -> None: ...

    def release(self) -> None: ...

    def hold_off(self, seconds: float) -> None: ...


@contextmanager
def one_call(budget: CallBudget) -> Iterator[None]:
    """The call in the block is counted by the budget: acquired before it, released after it
    whatever happens (an acquire that raises has released what it took)."""
    budget.acquire()
    try:
        yield
    finally:
        budget.release()


class Unlimited:
    """No shared budget (one process alone, or tests of a client by itself)."""

    def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None

    def hold_off(self, seconds: float) -> None:
        return None
