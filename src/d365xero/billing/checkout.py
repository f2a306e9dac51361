"""Subscribing a connection: a Stripe Customer for its owner (made once, with the billing
details), then a Checkout Session in subscription mode for the plan's price
(docs.stripe.com/api/checkout/sessions/create). The session names the connection
(`client_reference_id`, and metadata on the session and on the subscription it makes), so the
webhook events that follow find it again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy.orm import Session

from d365xero.domain.plans import Plan, find_plan
from d365xero.errors import ConfigurationError
from d365xero.store import billing
from d365xero.store.models import BillingDetails, BillingSubscription, Connection


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str  # where to send the user: Stripe's hosted page


def customer_params(details: BillingDetails | None, email: str, user_id: str) -> Any:
    """The Stripe Customer's fields from the billing details (docs.stripe.com/api/customers):
    the company (else the person) as its name, VAT exemption as `tax_exempt`, the address
    (Stripe takes the country as a two-letter code: another spelling is left out)."""
    params: dict[str, Any] = {"email": email, "metadata": {"user_id": user_id}}
    if details is None:
        return params
    name = f"{details.first_name} {details.last_name}".strip()
    params.update(
        email=details.email or email,
        name=details.company or name,
        phone=details.company_phone,
        tax_exempt="exempt" if details.vat_exempt else "none",
    )
    if details.address_line1:
        extra = ", ".join(p for p in (details.address_line2, details.address_line3) if p)
        address = {
            "line1": details.address_line1,
            "line2": extra,
            "city": details.city,
            "state": details.county,
            "postal_code": details.postcode,
        }
        if len(details.country) == 2 and details.country.isalpha():
            address["country"] = details.country.upper()
        params["address"] = address
    return params


def _customer(client: stripe.StripeClient, session: Session, user_id: str, email: str) -> str:
    details = billing.get_details(session, user_id)
    if details is not None and details.stripe_customer_id:
        return details.stripe_customer_id
    customer = client.v1.customers.create(customer_params(details, email, user_id))
    billing.set_customer(session, user_id, customer.id)
    return str(customer.id)


def update_customer(
    client: stripe.StripeClient, session: Session, user_id: str, email: str
) -> bool:
    """Sends changed billing details to the user's Stripe Customer, if one was made (else the
    next checkout makes it with them); True when sent."""
    details = billing.get_details(session, user_id)
    if details is None or not details.stripe_customer_id:
        return False
    client.v1.customers.update(details.stripe_customer_id, customer_params(details, email, user_id))
    return True


def line_item(plan: Plan) -> dict[str, object]:
    """The plan as an inline price (price_data): no Product or Price to set up in Stripe first."""
    return {
        "quantity": 1,
        "price_data": {
            "currency": plan.currency.lower(),
            "unit_amount": plan.amount,
            "recurring": {"interval": plan.interval},
            "product_data": {"name": plan.name, "metadata": {"plan": plan.code}},
        },
    }


def start_checkout(
    client: stripe.StripeClient,
    session: Session,
    connection: Connection,
    plan_code: str,
    *,
    user_id: str,
    email: str,
    success_url: str,
    cancel_url: str,
) -> Checkout:
    """A Checkout Session for `connection` on the plan; the caller redirects to its url (and
    commits: the customer id is kept either way)."""
    plan = find_plan(plan_code)
    if plan is None:
        raise ConfigurationError(f"there is no plan {plan_code!r}")
    customer = _customer(client, session, user_id, email)
    metadata = {"connection_id": connection.id, "plan": plan.code}
    params: Any = {
        "mode": "subscription",
        "customer": customer,
        "client_reference_id": connection.id,
        "line_items": [line_item(plan)],
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    created = client.v1.checkout.sessions.create(params)
    return Checkout(str(created.id), str(created.url))


def cancel_subscription(
    client: stripe.StripeClient, session: Session, connection: Connection
) -> BillingSubscription | None:
    """Cancels the connection's newest live subscription at once; the
    customer.subscription.deleted event that follows stops its syncing (and so does this
    answer, in case the event is late)."""
    from d365xero.billing.webhooks import apply_stripe_subscription

    row = billing.latest_subscription(session, connection.id)
    if row is None or row.status == "canceled":
        return None
    cancelled = client.v1.subscriptions.cancel(row.id)
    apply_stripe_subscription(session, connection, cancelled, row.plan)
    return row
