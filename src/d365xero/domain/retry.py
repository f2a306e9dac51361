"""When an invoice Xero did not answer for is tried again: exponential backoff with jitter,
until a limit of attempts or age, after which it is marked Failed with the last reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class RetryState:
    """An invoice's transient failures so far."""

    attempts: int
    first_failed: datetime
    next_attempt: datetime
    last_reason: str

    def due(self, now: datetime) -> bool:
        return now >= self.next_attempt


def after_failure(
    previous: RetryState | None, reason: str, now: datetime, jitter: float
) -> RetryState:
    """The state after one more transient failure; `jitter` in [0, 1) spreads retries of many
    invoices (full jitter: the wait is a random share of the exponential step)."""
    attempts = (previous.attempts if previous else 0) + 1
    step = min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)
    wait = step / 2 + step / 2 * jitter  # at least half the step, so retries still back off
    first = previous.first_failed if previous else now
    return RetryState(attempts, first, now + wait, reason)


def exhausted(state: RetryState, now: datetime, policy: RetryPolicy) -> bool:
    return state.attempts >= policy.max_attempts or now - state.first_failed >= policy.max_age


def gave_up_message(state: RetryState) -> str:
    return (
        f"Xero did not answer after {state.attempts} tries since "
        f"{state.first_failed:%Y-%m-%d %H:%M} UTC: {state.last_reason} The invoice may or may not "
        "be in Xero; the connector checks before sending it again. Set Export status to No to "
        "retry."
    )
