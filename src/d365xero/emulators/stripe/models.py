"""The Stripe stand-in's state and rules: customers, prices (made from `price_data` as Stripe
does), Checkout Sessions in subscription mode, subscriptions and their invoices, and the events
each change raises.

Objects are plain dicts in the shape of Stripe's OpenAPI description (specs/stripe, API version
2023-08-16), with the subscription items' own `current_period_start/end` that API version
2025-03-31 moved there (docs.stripe.com/changelog/basil), so a client of either version finds
the period. Sources: docs.stripe.com/api/checkout/sessions/create, /api/subscriptions,
/billing/subscriptions/overview (statuses), /testing (test cards).
"""

from __future__ import annotations

import calendar
import secrets
import string
import threading
from datetime import UTC, datetime
from typing import Any

from d365xero.emulators.core.calls import CallLog
from d365xero.emulators.core.clock import Clock
from d365xero.emulators.stripe.errors import CardError, InvalidRequest, ResourceMissing
from d365xero.emulators.stripe.webhooks import EventSender

DEFAULT_SECRET_KEY = "sk_test_d365xero_demo"
DEFAULT_WEBHOOK_SECRET = "whsec_d365xero_demo"
SESSION_SECONDS = 24 * 3600  # a Checkout Session expires 24 hours after it is made
INTERVALS = ("day", "week", "month", "year")
# docs.stripe.com/testing: 4242... succeeds; 4000 0000 0000 0002 is a generic decline.
DECLINED_CARDS = {"4000000000000002": "generic_decline", "4000000000009995": "insufficient_funds"}


def _id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _required(params: dict[str, Any], name: str, where: str = "") -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise InvalidRequest(
            f"Missing required param: {where}{name}.",
            code="parameter_missing",
            param=f"{where}{name}",
        )
    return value


def _integer(value: Any, param: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidRequest(
            f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
        ) from None
    if number < 0:
        raise InvalidRequest(
            f"This value must be greater than or equal to 0 (it currently is '{number}').",
            code="parameter_invalid_integer",
            param=param,
        )
    return number


def _metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("Invalid object", code="parameter_invalid_string", param=param)
    return {str(k): str(v) for k, v in value.items()}


def _address(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        raise InvalidRequest("Invalid object", code="parameter_invalid_string", param="address")
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    return {name: (str(value[name]) or None) if name in value else None for name in fields}


def add_interval(moment: int, interval: str, count: int) -> int:
    """The next period's start: calendar months and years, as Stripe bills them."""
    start = datetime.fromtimestamp(moment, UTC)
    if interval == "day":
        return moment + 86400 * count
    if interval == "week":
        return moment + 7 * 86400 * count
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return int(start.replace(year=year, month=month + 1, day=day).timestamp())


class StripeBackend:
    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.clock = Clock()
        self.calls = CallLog()
        self.lock = threading.RLock()
        self.sender = EventSender(self.clock.time, webhook_secret)
        self.reset()

    # --- control plane ---------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict[str, Any]] = {}
            self.products: dict[str, dict[str, Any]] = {}
            self.prices: dict[str, dict[str, Any]] = {}
            self.sessions: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.events: dict[str, dict[str, Any]] = {}
            self.sender.clear()

    def seed(self) -> dict[str, int]:
        """Nothing to load: every object comes from the API."""
        return {"customers": len(self.customers)}

    def now(self) -> int:
        return int(self.clock.time())

    def _emit(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event: dict[str, Any] = {
            "id": _id("evt_"),
            "object": "event",
            "api_version": "2023-08-16",
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1 if self.sender.endpoint else 0,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.events[event["id"]] = event
        self.sender.send(event)

    # --- customers -------------------------------------------------------------------------

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            customer: dict[str, Any] = {
                "id": _id("cus_", 14),
                "object": "customer",
                "address": _address(params.get("address")),
                "balance": 0,
                "created": self.now(),
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": params.get("description") or None,
                "discount": None,
                "email": params.get("email") or None,
                "invoice_prefix": _id("", 8).upper(),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": _metadata(params.get("metadata")),
                "name": params.get("name") or None,
                "phone": params.get("phone") or None,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": params.get("tax_exempt") or "none",
                "test_clock": None,
            }
            if customer["tax_exempt"] not in ("none", "exempt", "reverse"):
                raise InvalidRequest(
                    "Invalid tax_exempt: must be one of none, exempt, or reverse",
                    code="parameter_invalid_string",
                    param="tax_exempt",
                )
            self.customers[customer["id"]] = customer
            self._emit("customer.created", customer)
            return customer

    def update_customer(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/customers/{customer}: the fields given change; metadata merges (an empty
        value removes a key)."""
        with self.lock:
            customer = self.customer(customer_id)
            previous: dict[str, Any] = {}
            for name in ("email", "name", "phone", "description", "tax_exempt"):
                if name in params:
                    previous[name] = customer[name]
                    customer[name] = params[name] or None
            if customer["tax_exempt"] not in ("none", "exempt", "reverse"):
                customer["tax_exempt"] = previous.get("tax_exempt", "none")
                raise InvalidRequest(
                    "Invalid tax_exempt: must be one of none, exempt, or reverse",
                    code="parameter_invalid_string",
                    param="tax_exempt",
                )
            if "address" in params:
                previous["address"] = customer["address"]
                customer["address"] = _address(params["address"])
            for key, value in _metadata(params.get("metadata")).items():
                if value:
                    customer["metadata"][key] = value
                else:
                    customer["metadata"].pop(key, None)
            self._emit("customer.updated", customer, previous)
            return customer

    def customer(self, customer_id: str) -> dict[str, Any]:
        found = self.customers.get(customer_id)
        if found is None:
            raise ResourceMissing("customer", customer_id)
        return found

    # --- prices ----------------------------------------------------------------------------

    def _price_from_data(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidRequest("Invalid object", code="parameter_invalid_string", param=where)
        currency = str(_required(data, "currency", f"{where}[")).lower()
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidRequest(
                f"Invalid currency: {currency}. Stripe currently supports these currencies: ...",
                code="parameter_invalid_string",
                param=f"{where}[currency]",
            )
        amount = _integer(_required(data, "unit_amount", f"{where}["), f"{where}[unit_amount]")
        product_id = data.get("product")
        if product_id:
            product = self.products.get(str(product_id))
            if product is None:
                raise ResourceMissing("product", str(product_id), f"{where}[product]")
        else:
            product_data = _required(data, "product_data", f"{where}[")
            name = _required(product_data, "name", f"{where}[product_data][")
            product = self._product(str(name), _metadata(product_data.get("metadata")))
        recurring = data.get("recurring")
        if recurring is not None:
            recurring = self._recurring(recurring, f"{where}[recurring]")
        return self._price(currency, amount, product["id"], recurring)

    def _recurring(self, recurring: Any, where: str) -> dict[str, Any]:
        if not isinstance(recurring, dict):
            raise InvalidRequest("Invalid object", code="parameter_invalid_string", param=where)
        interval = _required(recurring, "interval", f"{where}[")
        if interval not in INTERVALS:
            raise InvalidRequest(
                f"Invalid {where}[interval]: must be one of day, month, week, or year",
                code="parameter_invalid_string",
                param=f"{where}[interval]",
            )
        count = _integer(recurring.get("interval_count", 1), f"{where}[interval_count]")
        if count < 1 or (interval == "year" and count > 3) or count > 365 * 3:
            raise InvalidRequest(
                "The maximum billing frequency is 3 years.",
                code="parameter_invalid_integer",
                param=f"{where}[interval_count]",
            )
        return {
            "aggregate_usage": None,
            "interval": interval,
            "interval_count": count,
            "trial_period_days": None,
            "usage_type": "licensed",
        }

    def _product(self, name: str, metadata: dict[str, str]) -> dict[str, Any]:
        now = self.now()
        product: dict[str, Any] = {
            "id": _id("prod_", 14),
            "object": "product",
            "active": True,
            "created": now,
            "description": None,
            "features": [],
            "images": [],
            "livemode": False,
            "metadata": metadata,
            "name": name,
            "type": "service",
            "updated": now,
            "url": None,
        }
        self.products[product["id"]] = product
        return product

    def _price(
        self, currency: str, amount: int, product: str, recurring: dict[str, Any] | None
    ) -> dict[str, Any]:
        price: dict[str, Any] = {
            "id": _id("price_"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": self.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": product,
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        self.prices[price["id"]] = price
        return price

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/prices: a price of an existing product or of `product_data`."""
        with self.lock:
            data = dict(params)
            if "product" not in data and "product_data" not in data:
                _required(data, "product")
            return self._price_from_data(data, "price")

    # --- checkout sessions -----------------------------------------------------------------

    def create_session(self, params: dict[str, Any], origin: str) -> dict[str, Any]:
        with self.lock:
            mode = _required(params, "mode")
            if mode != "subscription":
                raise InvalidRequest(
                    f"The stand-in emulates mode=subscription only, not {mode!r}.",
                    code="parameter_invalid_string",
                    param="mode",
                )
            success_url = str(_required(params, "success_url"))
            items = _required(params, "line_items")
            if not isinstance(items, list) or not items:
                raise InvalidRequest(
                    "Invalid array", code="parameter_invalid_empty", param="line_items"
                )
            lines = [self._line(item, f"line_items[{i}]") for i, item in enumerate(items)]
            currencies = {price["currency"] for price, _ in lines}
            if len(currencies) > 1:
                raise InvalidRequest(
                    "All prices on a Checkout Session must have the same currency.",
                    param="line_items",
                )
            customer = params.get("customer") or None
            if customer:
                self.customer(str(customer))
            now = self.now()
            session_id = _id("cs_test_", 58)
            total = sum(price["unit_amount"] * quantity for price, quantity in lines)
            subscription_data = params.get("subscription_data") or {}
            session: dict[str, Any] = {
                "id": session_id,
                "object": "checkout.session",
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": total,
                "amount_total": total,
                "automatic_tax": {"enabled": False, "status": None},
                "billing_address_collection": None,
                "cancel_url": params.get("cancel_url") or None,
                "client_reference_id": params.get("client_reference_id") or None,
                "consent": None,
                "consent_collection": None,
                "created": now,
                "currency": currencies.pop(),
                "custom_fields": [],
                "custom_text": {"shipping_address": None, "submit": None},
                "customer": customer,
                "customer_creation": None if customer else "always",
                "customer_details": None,
                "customer_email": params.get("customer_email") or None,
                "expires_at": now + SESSION_SECONDS,
                "invoice": None,
                "invoice_creation": None,
                "livemode": False,
                "locale": None,
                "metadata": _metadata(params.get("metadata")),
                "mode": "subscription",
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "always",
                "payment_method_options": None,
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "phone_number_collection": {"enabled": False},
                "recovered_from": None,
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_details": None,
                "shipping_options": [],
                "status": "open",
                "submit_type": None,
                "subscription": None,
                "success_url": success_url,
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "url": f"{origin}/checkout/{session_id}",
                "_lines": [(price["id"], quantity) for price, quantity in lines],
                "_subscription_metadata": _metadata(
                    subscription_data.get("metadata"), "subscription_data[metadata]"
                ),
            }
            self.sessions[session_id] = session
            return session

    def _line(self, item: Any, where: str) -> tuple[dict[str, Any], int]:
        if not isinstance(item, dict):
            raise InvalidRequest("Invalid object", param=where)
        quantity = _integer(item.get("quantity", 1), f"{where}[quantity]")
        if item.get("price"):
            price = self.prices.get(str(item["price"]))
            if price is None:
                raise ResourceMissing("price", str(item["price"]), f"{where}[price]")
        elif item.get("price_data"):
            price = self._price_from_data(item["price_data"], f"{where}[price_data]")
        else:
            raise InvalidRequest(
                f"You must specify either `price` or `price_data` in {where}.",
                code="parameter_missing",
                param=where,
            )
        if price["recurring"] is None:
            raise InvalidRequest(
                "You must specify at least one recurring price in `subscription` mode when "
                "using prices.",
                param="line_items",
            )
        return price, quantity

    def session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            found = self.sessions.get(session_id)
            if found is None:
                raise ResourceMissing("checkout.session", session_id, "session")
            if found["status"] == "open" and found["expires_at"] <= self.now():
                found["status"] = "expired"  # Stripe expires sessions after 24 hours
                self._emit("checkout.session.expired", found)
            return found

    def line_prices(self, session: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
        return [(self.prices[price_id], quantity) for price_id, quantity in session["_lines"]]

    def product_name(self, price: dict[str, Any]) -> str:
        return str(self.products[price["product"]]["name"])

    # --- paying on the hosted page ---------------------------------------------------------

    def pay(self, session_id: str, email: str, card: str) -> dict[str, Any]:
        """The hosted page's Pay button: a good card makes the customer (if the session had
        none), the subscription and its first paid invoice, completes the session and raises
        its events; a declined card changes nothing."""
        with self.lock:
            session = self.session(session_id)
            if session["status"] != "open":
                raise InvalidRequest(
                    f"This Checkout Session is {session['status']}.", param="session"
                )
            decline = DECLINED_CARDS.get(card)
            if decline:
                raise CardError(
                    "Your card was declined.", code="card_declined", decline_code=decline
                )
            customer_id = session["customer"]
            if not customer_id:
                customer_id = self.create_customer({"email": email})["id"]
            subscription = self._subscribe(session, customer_id)
            invoice = self._invoice(subscription, paid=True)
            session.update(
                status="complete",
                payment_status="paid",
                customer=customer_id,
                subscription=subscription["id"],
                invoice=invoice["id"],
                customer_details={
                    "address": None,
                    "email": email or self.customers[customer_id]["email"],
                    "name": None,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            subscription["latest_invoice"] = invoice["id"]
            self._emit("customer.subscription.created", subscription)
            self._emit("invoice.paid", invoice)
            self._emit("checkout.session.completed", session)
            return session

    def _subscribe(self, session: dict[str, Any], customer_id: str) -> dict[str, Any]:
        now = self.now()
        subscription_id = _id("sub_")
        first = self.line_prices(session)[0][0]["recurring"]
        end = add_interval(now, first["interval"], first["interval_count"])
        items: list[dict[str, Any]] = [
            {
                "id": _id("si_", 14),
                "object": "subscription_item",
                "billing_thresholds": None,
                "created": now,
                "current_period_end": end,
                "current_period_start": now,
                "metadata": {},
                "price": price,
                "quantity": quantity,
                "subscription": subscription_id,
                "tax_rates": [],
            }
            for price, quantity in self.line_prices(session)
        ]
        subscription: dict[str, Any] = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False},
            "billing_cycle_anchor": now,
            "billing_thresholds": None,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session["currency"],
            "current_period_end": end,
            "current_period_start": now,
            "customer": customer_id,
            "days_until_due": None,
            "default_payment_method": _id("pm_"),
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discount": None,
            "ended_at": None,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(session["_subscription_metadata"]),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": None,
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": now,
            "status": "active",
            "test_clock": None,
            "transfer_data": None,
            "trial_end": None,
            "trial_settings": None,
            "trial_start": None,
        }
        self.subscriptions[subscription_id] = subscription
        return subscription

    def _invoice(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        """A thin invoice for the period; `subscription` is where API 2023-08-16 puts the id and
        `parent.subscription_details` where 2025-03-31 and later do."""
        amount = sum(
            item["price"]["unit_amount"] * item["quantity"]
            for item in subscription["items"]["data"]
        )
        now = self.now()
        invoice_id = _id("in_")
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        lines: list[dict[str, Any]] = [
            {
                "id": _id("il_"),
                "object": "line_item",
                "amount": item["price"]["unit_amount"] * item["quantity"],
                "currency": subscription["currency"],
                "description": f"{item['quantity']} x {self.product_name(item['price'])}",
                "discountable": True,
                "livemode": False,
                "metadata": {},
                "period": {"start": start, "end": end},
                "price": item["price"],
                "proration": False,
                "quantity": item["quantity"],
                "subscription": subscription["id"],
                "subscription_item": item["id"],
                "type": "subscription",
            }
            for item in subscription["items"]["data"]
        ]
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "amount_shipping": 0,
            "attempt_count": 1,
            "attempted": True,
            "automatic_tax": {"enabled": False, "status": None},
            "billing_reason": "subscription_cycle"
            if subscription["latest_invoice"]
            else "subscription_create",
            "collection_method": "charge_automatically",
            "created": now,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "default_tax_rates": [],
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "paid": paid,
            "paid_out_of_band": False,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": end,
            "period_start": start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0,
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now if paid else None,
                "voided_at": None,
            },
            "subscription": subscription["id"],
            "subtotal": amount,
            "total": amount,
            "total_tax_amounts": [],
        }
        self.invoices[invoice["id"]] = invoice
        return invoice

    # --- subscriptions ---------------------------------------------------------------------

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise ResourceMissing("subscription", subscription_id, "subscription_exposed_id")
        return found

    def cancel(self, subscription_id: str) -> dict[str, Any]:
        """DELETE /v1/subscriptions/{id}: ends it at once; cancelling one already cancelled is
        an error, as in Stripe."""
        with self.lock:
            subscription = self.subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise InvalidRequest(
                    "A canceled subscription can only update its cancellation_details and metadata."
                )
            now = self.now()
            previous = {"status": subscription["status"], "canceled_at": None, "ended_at": None}
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            subscription["cancellation_details"]["reason"] = "cancellation_requested"
            self._emit("customer.subscription.deleted", subscription, previous)
            return subscription

    def renew(self, subscription_id: str, *, succeed: bool = True) -> dict[str, Any]:
        """The renewal Stripe runs at the end of a period: a paid invoice moves the period on
        (invoice.paid, customer.subscription.updated); a declined one leaves the period where
        it is and the subscription past_due (invoice.payment_failed,
        customer.subscription.updated)."""
        with self.lock:
            subscription = self.subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise InvalidRequest("A canceled subscription cannot be renewed.")
            before = {
                key: subscription[key]
                for key in ("status", "current_period_start", "current_period_end")
            }
            if succeed:
                start = subscription["current_period_end"]
                recurring = subscription["items"]["data"][0]["price"]["recurring"]
                end = add_interval(start, recurring["interval"], recurring["interval_count"])
                subscription.update(
                    status="active", current_period_start=start, current_period_end=end
                )
                for item in subscription["items"]["data"]:
                    item.update(current_period_start=start, current_period_end=end)
            else:
                subscription["status"] = "past_due"
            invoice = self._invoice(subscription, paid=succeed)
            subscription["latest_invoice"] = invoice["id"]
            previous = {k: v for k, v in before.items() if subscription[k] != v}
            self._emit("invoice.paid" if succeed else "invoice.payment_failed", invoice)
            self._emit("customer.subscription.updated", subscription, previous)
            return subscription


def check_card(number: str, expiry: str, cvc: str, now: datetime) -> str:
    """The hosted page's card checks, in Stripe's words; returns the digits."""
    digits = "".join(c for c in number if not c.isspace())
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn(digits):
        raise CardError("Your card number is invalid.", code="incorrect_number")
    month, _, year = expiry.replace(" ", "").partition("/")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) == 2):
        raise CardError("Your card's expiration date is incomplete.", code="invalid_expiry_month")
    if (2000 + int(year), int(month)) < (now.year, now.month):
        raise CardError("Your card's expiration date is in the past.", code="expired_card")
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise CardError("Your card's security code is incomplete.", code="incorrect_cvc")
    return digits


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0
