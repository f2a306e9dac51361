"""Plans and prices, the trial's countdown, and what a billing provider's subscription state
means for syncing. Pure: plain data in, plain data out.

The plans follow the user guide: "GBP Quick renew plan" at £5.00 per day and "GBP Enterprise
Annual (£849.60 inc VAT pa)"; the USD and EUR plans are the same two shapes. Amounts are in
minor units (pence, cents), as Stripe takes them. Whether a connection may sync is decided in
one place, domain.subscription.entitlement; this module only says what to store for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}
INTERVALS = ("day", "year")


@dataclass(frozen=True)
class Plan:
    code: str  # stored in connections.plan
    name: str  # the guide's label, e.g. "GBP Quick renew plan"
    currency: str  # ISO 4217, upper case
    amount: int  # minor units charged each interval
    interval: str  # "day" or "year"
    vat_note: str = ""  # e.g. "inc VAT": the amount already includes VAT


PLANS: tuple[Plan, ...] = (
    Plan("gbp-quick-renew", "GBP Quick renew plan", "GBP", 500, "day"),
    Plan("gbp-enterprise-annual", "GBP Enterprise Annual", "GBP", 84960, "year", "inc VAT"),
    Plan("usd-quick-renew", "USD Quick renew plan", "USD", 650, "day"),
    Plan("usd-enterprise-annual", "USD Enterprise Annual", "USD", 108000, "year"),
    Plan("eur-quick-renew", "EUR Quick renew plan", "EUR", 600, "day"),
    Plan("eur-enterprise-annual", "EUR Enterprise Annual", "EUR", 99000, "year"),
)
_BY_CODE = {plan.code: plan for plan in PLANS}


def find_plan(code: str) -> Plan | None:
    return _BY_CODE.get(code)


def money(currency: str, amount: int) -> str:
    """'£849.60' from ('GBP', 84960); thousands separated ('$1,080.00')."""
    value = Decimal(amount).scaleb(-2)
    symbol = SYMBOLS.get(currency.upper())
    text = f"{value:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def price_label(plan: Plan) -> str:
    """What the checkout button says: '£5.00 per day', '£849.60 per year'."""
    return f"{money(plan.currency, plan.amount)} per {plan.interval}"


def plan_label(code: str) -> str:
    """The guide's label of a plan: 'GBP Quick renew plan', 'GBP Enterprise Annual (£849.60
    inc VAT pa)'; an unknown code (a plan retired since) is shown as it is stored."""
    plan = find_plan(code)
    if plan is None:
        return code
    if plan.interval == "day":
        return plan.name
    note = f" {plan.vat_note}" if plan.vat_note else ""
    return f"{plan.name} ({money(plan.currency, plan.amount)}{note} pa)"


def trial_countdown(trial_ends_at: datetime | None, now: datetime) -> str:
    """'trial expires: 26 days', as the guide shows it under a connection: whole days left,
    rounded up (a trial that ends in 3 hours has 1 day left)."""
    if trial_ends_at is None:
        return ""
    seconds = (trial_ends_at - now).total_seconds()
    if seconds <= 0:
        return f"trial expired on {trial_ends_at:%Y-%m-%d}"
    days = math.ceil(seconds / 86400)
    return f"trial expires: {days} day{'s' if days != 1 else ''}"


# Stripe's subscription statuses (docs.stripe.com/billing/subscriptions/overview#subscription-
# statuses): which of them let the connection sync.
PAID_STATUSES = frozenset({"active", "trialing"})
FAILED_STATUSES = frozenset({"past_due", "unpaid", "incomplete", "incomplete_expired"})
ENDED_STATUSES = frozenset({"canceled", "paused"})


@dataclass(frozen=True)
class SubscriptionState:
    """What to store on the connection for a subscription the provider reported."""

    plan: str
    status: str  # the provider's status, kept so the reason can say what happened
    ends_at: datetime  # syncing stops at this moment unless a renewal moves it


def subscription_state(
    plan: str, status: str, period_end: datetime, ended_at: datetime | None, now: datetime
) -> SubscriptionState:
    """A paid subscription syncs until the end of the period paid for; one whose renewal failed
    stops now (Stripe keeps retrying the card; a success moves it back to active); one that was
    cancelled stops when it ended."""
    if status in PAID_STATUSES:
        return SubscriptionState(plan, status, period_end)
    if status in ENDED_STATUSES:
        return SubscriptionState(plan, status, min(ended_at or now, period_end))
    return SubscriptionState(plan, status, now)


def lapse_reason(plan: str, status: str | None, ended: datetime) -> str | None:
    """Why a subscription that has ended stopped syncing, in the provider's terms; None when
    it simply ran out (the generic 'renew it' reason applies)."""
    label = plan_label(plan)
    if status in FAILED_STATUSES:
        return (
            f"the renewal payment for {label} failed on {ended:%Y-%m-%d}: Subscribe Now on the "
            "Billing page with a working card to resume syncing"
        )
    if status in ENDED_STATUSES:
        return (
            f"subscription ({label}) was cancelled on {ended:%Y-%m-%d}: Subscribe Now on the "
            "Billing page to resume syncing"
        )
    return None
