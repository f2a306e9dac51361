"""Subscription gating: whether a connection's plan still entitles it to passes.

A new connection starts a TRIAL_DAYS trial; a paid plan runs until its subscription ends (None:
open-ended, e.g. renewed by the billing provider). Pure: the dates come in, a verdict goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from d365xero.domain.plans import lapse_reason, plan_label

TRIAL_DAYS = 30
TRIAL = "trial"


def trial_end(created: datetime) -> datetime:
    return created + timedelta(days=TRIAL_DAYS)


@dataclass(frozen=True)
class Entitlement:
    active: bool
    reason: str  # why not, or what it runs on (shown by `connection list`)


def entitlement(
    plan: str,
    trial_ends_at: datetime | None,
    subscription_ends_at: datetime | None,
    now: datetime,
    status: str | None = None,
) -> Entitlement:
    """`status` is the billing provider's word for the subscription (Stripe's: active, past_due,
    canceled...), when one was reported: it says why an ended subscription ended."""
    if plan == TRIAL:
        if trial_ends_at is not None and trial_ends_at <= now:
            return Entitlement(
                False, f"trial ended on {trial_ends_at:%Y-%m-%d}: subscribe to resume syncing"
            )
        until = f" until {trial_ends_at:%Y-%m-%d}" if trial_ends_at else ""
        return Entitlement(True, f"trial{until}")
    label = plan_label(plan)
    if subscription_ends_at is not None and subscription_ends_at <= now:
        return Entitlement(
            False,
            lapse_reason(plan, status, subscription_ends_at)
            or f"subscription ({label}) ended on {subscription_ends_at:%Y-%m-%d}: renew it to "
            "resume syncing",
        )
    until = f" until {subscription_ends_at:%Y-%m-%d}" if subscription_ends_at else ""
    return Entitlement(True, f"{label}{until}")
