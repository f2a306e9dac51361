"""Backoff of invoices Xero did not answer for: exponential, jittered, bounded; the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from d365xero.domain.retry import (
    LONGEST_WAIT,
    RetryPolicy,
    after_failure,
    exhausted,
    gave_up_message,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_waits_grow_exponentially_within_the_jitter_and_stop_growing() -> None:
    state = None
    waits = []
    for attempt in range(1, 12):
        state = after_failure(state, "HTTP 503", NOW, jitter=0.5)
        assert state.attempts == attempt and state.first_failed == NOW
        waits.append(state.next_attempt - NOW)
    assert waits[1] == 2 * waits[0] and waits[2] == 4 * waits[0]
    assert max(waits) <= LONGEST_WAIT


def test_jitter_spreads_the_next_attempt_between_half_and_all_of_the_step() -> None:
    low = after_failure(None, "x", NOW, jitter=0.0).next_attempt - NOW
    high = after_failure(None, "x", NOW, jitter=0.999).next_attempt - NOW
    assert timedelta(seconds=30) == low < high < timedelta(minutes=1)


def test_the_limit_is_attempts_or_age() -> None:
    policy = RetryPolicy(max_attempts=3, max_age=timedelta(hours=2))
    state = after_failure(None, "x", NOW, 0.5)
    assert not exhausted(state, NOW, policy)
    assert exhausted(state, NOW + timedelta(hours=2), policy)
    for _ in range(2):
        state = after_failure(state, "timed out", NOW, 0.5)
    assert exhausted(state, NOW, policy)
    assert "after 3 tries" in gave_up_message(state) and "timed out" in gave_up_message(state)
    assert not state.due(NOW) and state.due(state.next_attempt)
