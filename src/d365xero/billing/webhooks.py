"""POST /webhooks/stripe: Stripe's signed events (docs.stripe.com/webhooks).

- The signature (`Stripe-Signature: t=...,v1=...`) is checked by the SDK's
  `stripe.Webhook.construct_event` over the raw body, with its 5-minute tolerance, so a replay
  of an old delivery is refused too: 400, never 500.
- Each event is applied once: its id is recorded in the same transaction as its changes, and a
  redelivery (Stripe retries until it sees a 2xx) is acknowledged and changes nothing.
- Stripe does not promise order, so an event is only a cue: the subscription is read back from
  the API and its current state applied (docs.stripe.com/webhooks#event-ordering).
- checkout.session.completed and customer.subscription.* activate, renew or end a connection's
  plan; invoice.payment_failed stops syncing with a reason the owner sees
  (domain.plans.lapse_reason) until a payment succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy.exc
import stripe
import structlog
from sqlalchemy.orm import Session, sessionmaker

from d365xero.domain.plans import PAID_STATUSES, find_plan
from d365xero.store import billing, connections
from d365xero.store.models import Connection

log = structlog.get_logger(__name__)

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})


def _moment(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _get(obj: Any, key: str) -> Any:
    """A field of an SDK object or a plain dict, None when absent."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        return None


def period_end(subscription: Any) -> datetime | None:
    """The end of the period paid for: on the items since API 2025-03-31 (basil), on the
    subscription itself before."""
    items = _get(_get(subscription, "items"), "data") or []
    ends = [_get(item, "current_period_end") for item in items]
    found = [end for end in ends if end] or [_get(subscription, "current_period_end")]
    return _moment(max(v for v in found if v)) if any(found) else None


def invoice_subscription(invoice: Any) -> str | None:
    """The subscription an invoice bills: `parent.subscription_details.subscription` since API
    2025-03-31, `subscription` before."""
    details = _get(_get(invoice, "parent"), "subscription_details")
    found = _get(details, "subscription") or _get(invoice, "subscription")
    if found is not None and not isinstance(found, str):
        found = _get(found, "id")
    return str(found) if found else None


def apply_stripe_subscription(
    session: Session, connection: Connection, subscription: Any, plan: str
) -> str:
    """Stores a subscription object as Stripe reported it; says what it did."""
    customer = _get(subscription, "customer")
    started = _moment(_get(subscription, "start_date") or _get(subscription, "created"))
    end = period_end(subscription) or datetime.now(UTC)
    status = str(_get(subscription, "status"))
    billing.apply_subscription(
        session,
        connection,
        subscription_id=str(_get(subscription, "id")),
        customer_id=customer if isinstance(customer, str) else _get(customer, "id"),
        plan=plan,
        status=status,
        started_at=started or end,
        period_end=end,
        ended_at=_moment(_get(subscription, "ended_at")),
    )
    return f"{connection.name}: {plan} {status}"


def _well_formed(event: Any) -> bool:
    """An id and a type of the sizes the store keeps, and a data object (a signed body is
    Stripe's, but the receiver answers any body without a 500)."""
    kind, event_id = _get(event, "type"), _get(event, "id")
    obj = _get(_get(event, "data"), "object")
    return (
        isinstance(event_id, str)
        and 0 < len(event_id) <= 255
        and isinstance(kind, str)
        and 0 < len(kind) <= 100
        and isinstance(obj, dict | stripe.StripeObject)
    )


class StripeWebhooks:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: Callable[[], stripe.StripeClient] | None,
        secret: str | None,
    ) -> None:
        """`client` makes the SDK client that reads subscriptions back (None: billing is not
        configured, and events are answered 503 so Stripe retries them later)."""
        self.sessions, self.client, self.secret = sessions, client, secret

    def receive(self, body: bytes, signature: str | None) -> tuple[int, str]:
        if not self.secret or self.client is None:
            return 503, "Stripe webhooks are not configured: set D365XERO_STRIPE_WEBHOOK_SECRET"
        if not signature:
            return 400, "missing Stripe-Signature header"
        try:
            event = stripe.Webhook.construct_event(body, signature, self.secret)
        except stripe.SignatureVerificationError as exc:
            log.warning("stripe webhook refused", reason=str(exc).split(",")[0][:100])
            return 400, "bad signature (or a timestamp outside the tolerance)"
        except (ValueError, KeyError, TypeError, AttributeError):  # the SDK reads any JSON
            return 400, "the body is not a Stripe event"
        if not _well_formed(event):
            return 400, "the body is not a Stripe event"
        try:
            return self._apply_once(event)
        except (AttributeError, KeyError, TypeError, ValueError):  # signed, yet not an event
            return 400, "the body is not a Stripe event"
        except stripe.StripeError as exc:
            if isinstance(exc, stripe.InvalidRequestError) and exc.http_status == 404:
                # Gone at Stripe (e.g. test data deleted): retrying would never help.
                return 200, "the subscription no longer exists at Stripe: nothing to do"
            log.warning("stripe webhook deferred", event_id=event.id, error=type(exc).__name__)
            return 503, "Stripe could not be reached to read the subscription: retry later"

    def _apply_once(self, event: stripe.Event) -> tuple[int, str]:
        try:
            with self.sessions.begin() as session:
                if not billing.first_time(session, event.id, event.type):
                    return 200, f"{event.id} was already applied"
                detail = self._apply(session, event)
        except sqlalchemy.exc.IntegrityError:  # the same event applied at once elsewhere
            return 200, f"{event.id} was already applied"
        log.info("stripe webhook", event_id=event.id, type=event.type, result=detail)
        return 200, detail

    def _apply(self, session: Session, event: stripe.Event) -> str:
        obj = event.data.object
        kind = event.type
        if kind == "checkout.session.completed":
            if _get(obj, "mode") != "subscription" or not _get(obj, "subscription"):
                return "not a subscription checkout: nothing to do"
            metadata = _get(obj, "metadata") or {}
            connection_id = _get(obj, "client_reference_id") or _get(metadata, "connection_id")
            return self._refresh(session, str(_get(obj, "subscription")), connection_id)
        if kind in SUBSCRIPTION_EVENTS:
            return self._refresh(session, str(_get(obj, "id")), None)
        if kind in INVOICE_EVENTS:
            subscription_id = invoice_subscription(obj)
            if not subscription_id:
                return "an invoice of no subscription: nothing to do"
            return self._refresh(session, subscription_id, None)
        return f"{kind}: nothing to do"

    def _refresh(self, session: Session, subscription_id: str, connection_id: str | None) -> str:
        """Reads the subscription back from Stripe and applies its current state to the
        connection it pays for (known from an earlier event, or from its metadata)."""
        assert self.client is not None
        subscription = self.client().v1.subscriptions.retrieve(subscription_id)
        metadata = _get(subscription, "metadata") or {}
        known = billing.find_subscription(session, subscription_id)
        connection_id = (
            known.connection_id if known else connection_id or _get(metadata, "connection_id")
        )
        plan = (known.plan if known else None) or _get(metadata, "plan")
        connection = connections.get_connection(session, connection_id) if connection_id else None
        if connection is None:
            return f"subscription {subscription_id} pays for no connection here: nothing to do"
        if plan is None or find_plan(plan) is None:
            return f"subscription {subscription_id} has no plan of ours: nothing to do"
        done = apply_stripe_subscription(session, connection, subscription, plan)
        if _get(subscription, "status") in PAID_STATUSES:
            for old in billing.superseded(session, connection.id):
                cancelled = self.client().v1.subscriptions.cancel(old.id)
                old.status = str(_get(cancelled, "status"))
                done += f"; the earlier {old.id} is cancelled"
        return done
