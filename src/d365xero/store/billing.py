"""Billing in the store: users' billing details, the subscriptions paying for connections, the
webhook events already applied, and what a subscription's state does to its connection (through
domain.plans, so that domain.subscription's entitlement decides whether it syncs)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.domain import billing as details_rules
from d365xero.domain.plans import PAID_STATUSES, subscription_state
from d365xero.store.models import (
    BillingDetails,
    BillingEvent,
    BillingSubscription,
    Connection,
    utcnow,
)


def get_details(session: Session, user_id: str) -> BillingDetails | None:
    return session.get(BillingDetails, user_id)


def details_form(row: BillingDetails | None, email: str = "") -> dict[str, str]:
    """The form's values from the stored details (an empty form with the account's e-mail
    when there are none); the VAT box is "on" or ""."""
    if row is None:
        return details_rules.blank_details(email)
    values = {item.name: getattr(row, item.name) for item in fields(details_rules.BillingDetails)}
    values["vat_exempt"] = "on" if row.vat_exempt else ""
    return {k: str(v) for k, v in values.items()}


def save_details(
    session: Session, user_id: str, details: details_rules.BillingDetails
) -> BillingDetails:
    row = session.get(BillingDetails, user_id)
    if row is None:
        row = BillingDetails(user_id=user_id)
        session.add(row)
    for name, value in asdict(details).items():
        setattr(row, name, value)
    session.flush()
    return row


def set_customer(session: Session, user_id: str, customer_id: str) -> None:
    row = session.get(BillingDetails, user_id)
    if row is None:
        row = BillingDetails(user_id=user_id, **details_rules.blank_details())
        row.vat_exempt = False
        session.add(row)
    row.stripe_customer_id = customer_id
    session.flush()


def first_time(session: Session, event_id: str, kind: str) -> bool:
    """Records the event as applied; False when it was already (a redelivery). The caller's
    transaction holds the record with the changes the event made: both or neither."""
    if session.get(BillingEvent, event_id) is not None:
        return False
    session.add(BillingEvent(id=event_id, type=kind))
    session.flush()
    return True


def find_subscription(session: Session, subscription_id: str) -> BillingSubscription | None:
    return session.get(BillingSubscription, subscription_id)


def superseded(session: Session, connection_id: str) -> list[BillingSubscription]:
    """The connection's subscriptions older than its newest that are not cancelled yet (one
    whose renewal failed, replaced by a new Subscribe Now): to cancel, so no one pays twice."""
    newest = latest_subscription(session, connection_id)
    query = sa.select(BillingSubscription).where(
        BillingSubscription.connection_id == connection_id,
        BillingSubscription.status != "canceled",
    )
    return [row for row in session.scalars(query) if row is not newest]


def latest_subscription(session: Session, connection_id: str) -> BillingSubscription | None:
    """The newest of the connection's subscriptions; of two started in the same second (Stripe
    times them in seconds), a paid one before one that is not."""
    query = sa.select(BillingSubscription).where(BillingSubscription.connection_id == connection_id)
    rows = list(session.scalars(query))
    return max(rows, key=lambda r: (r.started_at, r.status in PAID_STATUSES, r.id), default=None)


def apply_subscription(
    session: Session,
    connection: Connection,
    *,
    subscription_id: str,
    customer_id: str | None,
    plan: str,
    status: str,
    started_at: datetime,
    period_end: datetime,
    ended_at: datetime | None,
) -> BillingSubscription:
    """Stores the subscription as the provider now reports it and, when it is the connection's
    newest, what it means for syncing (plan, until when, and the status that says why not)."""
    row = session.get(BillingSubscription, subscription_id)
    if row is None:
        row = BillingSubscription(id=subscription_id, connection_id=connection.id)
        session.add(row)
    row.customer_id, row.plan, row.status = customer_id, plan, status
    row.started_at, row.current_period_end = started_at, period_end
    session.flush()
    if latest_subscription(session, connection.id) is row:
        state = subscription_state(plan, status, period_end, ended_at, utcnow())
        connection.plan = state.plan
        connection.subscription_ends_at = state.ends_at
        connection.subscription_status = state.status
    return row
