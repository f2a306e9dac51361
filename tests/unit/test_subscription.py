"""Subscription gating: a trial runs 30 days from the connection's creation; a lapsed trial or
subscription stops passes and says why and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from d365xero.domain.subscription import entitlement, trial_end

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_trial_runs_thirty_days() -> None:
    ends = trial_end(NOW)
    assert ends == NOW + timedelta(days=30)
    assert entitlement("trial", ends, None, NOW).active
    assert entitlement("trial", ends, None, NOW).reason == "trial until 2026-12-31"
    lapsed = entitlement("trial", ends, None, ends)
    assert not lapsed.active
    assert lapsed.reason == "trial ended on 2026-12-31: subscribe to resume syncing"


def test_a_paid_plan_runs_until_its_subscription_ends() -> None:
    assert entitlement("standard", None, None, NOW).reason == "standard"
    ends = NOW + timedelta(days=1)
    assert entitlement("standard", NOW - timedelta(days=90), ends, NOW).active  # trial over
    lapsed = entitlement("standard", None, ends, ends + timedelta(seconds=1))
    assert not lapsed.active
    assert "subscription (standard) ended on 2026-12-02: renew it" in lapsed.reason
