"""The Stripe stand-in through the official stripe SDK (the calls d365xero makes, and the
errors Stripe answers), its hosted checkout page, its events and their signatures; every
response and event is validated against Stripe's OpenAPI description (tests/support)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from tests.support.stripe_fixtures import DECLINED_CARD, WEBHOOK_SECRET, StandIn, stand_in
from tests.support.stripe_openapi import event_errors, object_errors

from d365xero.emulators.stripe.form import decode
from d365xero.emulators.stripe.models import add_interval
from d365xero.emulators.stripe.webhooks import signature_header


@pytest.fixture
def stand() -> Iterator[StandIn]:
    with stand_in() as made:
        yield made
        made.check()
        assert made.validator.checked > 0


def _line(**price_data: Any) -> dict[str, Any]:
    data = {
        "currency": "gbp",
        "unit_amount": 500,
        "recurring": {"interval": "day"},
        "product_data": {"name": "GBP Quick renew plan"},
        **price_data,
    }
    return {"quantity": 1, "price_data": data}


def _session(client: stripe.StripeClient, **params: Any) -> stripe.checkout.Session:
    base: dict[str, Any] = {
        "mode": "subscription",
        "success_url": "http://127.0.0.1/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1/back",
        "line_items": [_line()],
    }
    return client.v1.checkout.sessions.create({**base, **params})


def test_customer_session_subscription_cancel(stand: StandIn) -> None:
    client = stand.sdk()
    customer = client.v1.customers.create({"email": "ada@example.com", "name": "Ada"})
    assert customer.id.startswith("cus_") and customer.email == "ada@example.com"
    assert client.v1.customers.retrieve(customer.id).name == "Ada"
    updated = client.v1.customers.update(
        customer.id,
        {"name": "Ada L", "tax_exempt": "exempt", "address": {"city": "London", "country": "GB"}},
    )
    assert updated.name == "Ada L" and updated.tax_exempt == "exempt"
    assert updated.address is not None and updated.address.city == "London"
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.customers.update(customer.id, {"tax_exempt": "sometimes"})
    assert bad.value.param == "tax_exempt"
    session = _session(
        client,
        customer=customer.id,
        client_reference_id="conn-1",
        metadata={"plan": "gbp-quick-renew"},
    )
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.url == f"{stand.url}/checkout/{session.id}"
    assert session.metadata["plan"] == "gbp-quick-renew"

    assert stand.pay(session.url).status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.customer == customer.id
    subscription = client.v1.subscriptions.retrieve(str(done.subscription))
    assert subscription.status == "active"
    item = subscription["items"]["data"][0]
    assert item["price"]["unit_amount"] == 500 and item["price"]["currency"] == "gbp"
    assert item["current_period_end"] - item["current_period_start"] == 86400

    expanded = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert expanded.subscription.id == subscription.id  # type: ignore[union-attr]

    cancelled = client.v1.subscriptions.cancel(subscription.id)
    assert cancelled.status == "canceled" and cancelled.ended_at is not None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(subscription.id)


def test_a_price_object_in_a_line_item(stand: StandIn) -> None:
    client = stand.sdk()
    price = client.v1.prices.create(
        {
            "currency": "eur",
            "unit_amount": 99000,
            "recurring": {"interval": "year"},
            "product_data": {"name": "EUR Enterprise Annual"},
        }
    )
    assert client.v1.prices.retrieve(price.id).unit_amount == 99000
    session = _session(
        client, line_items=[{"price": price.id, "quantity": 1}], customer_email="bob@example.com"
    )
    page = stand.http().get(session.url)
    assert "€990.00 per year" in page.text and "EUR Enterprise Annual" in page.text
    assert 'value="bob@example.com"' in page.text


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"line_items": [{"quantity": 1}]}, "line_items[0]", "parameter_missing"),
        ({"line_items": [_line(recurring=None)]}, "line_items", None),
        (
            {"line_items": [_line(recurring={"interval": "fortnight"})]},
            "line_items[0][price_data][recurring][interval]",
            "parameter_invalid_string",
        ),
        (
            {"line_items": [_line(unit_amount="five")]},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": [{"price": "price_missing", "quantity": 1}]},
            "line_items[0][price]",
            "resource_missing",
        ),
        ({"customer": "cus_missing"}, "id", "resource_missing"),
        ({"mode": "payment"}, "mode", "parameter_invalid_string"),
    ],
)
def test_bad_sessions_are_refused_as_stripe_does(
    stand: StandIn, params: dict[str, Any], param: str, code: str | None
) -> None:
    client = stand.sdk()
    base: dict[str, Any] = {
        "mode": "subscription",
        "success_url": "http://127.0.0.1/ok",
        "line_items": [_line()],
    }
    merged = {k: v for k, v in {**base, **params}.items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(merged)
    assert caught.value.param == param
    assert caught.value.code == code
    assert caught.value.http_status in (400, 404)


def test_unknown_objects_and_keys(stand: StandIn) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stand.sdk().v1.subscriptions.retrieve("sub_missing")
    assert missing.value.http_status == 404
    assert missing.value.user_message == "No such subscription: 'sub_missing'"
    with pytest.raises(stripe.AuthenticationError) as wrong:
        stand.sdk("sk_test_not_the_key_1234").v1.customers.create({})
    assert "Invalid API Key provided" in str(wrong.value.user_message)
    assert "not_the_key" not in str(wrong.value.user_message)
    anonymous = stand.http().post("/v1/customers")
    assert anonymous.status_code == 401
    unknown = stand.http().get("/v1/nothing", headers={"Authorization": "Bearer x"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("Unrecognized request URL (GET: ")


def test_the_hosted_page_checks_the_card(stand: StandIn) -> None:
    session = _session(stand.sdk())
    declined = stand.pay(session.url, DECLINED_CARD)
    assert declined.status_code == 402 and "Your card was declined." in declined.text
    for card, expiry, cvc, message in [
        ("1234 5678 9012 3456", "12 / 34", "123", "Your card number is invalid."),
        ("4242 4242 4242 4242", "13 / 34", "123", "Your card's expiration date is incomplete."),
        ("4242 4242 4242 4242", "01 / 20", "123", "Your card's expiration date is in the past."),
        ("4242 4242 4242 4242", "12 / 34", "1", "Your card's security code is incomplete."),
    ]:
        answer = stand.pay(session.url, card, expiry=expiry, cvc=cvc)
        assert answer.status_code == 402 and message in answer.text.replace("&#x27;", "'")
    assert stand.backend.subscriptions == {}
    paid = stand.pay(session.url)
    assert paid.headers["location"] == f"http://127.0.0.1/ok?session={session.id}"
    again = stand.pay(session.url)
    assert again.status_code == 400 and "This Checkout Session is complete." in again.text
    assert stand.http().get("/checkout/cs_test_missing").status_code == 404


def test_events_are_signed_as_stripe_documents(stand: StandIn) -> None:
    received: list[tuple[bytes, str]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append((request.content, request.headers["stripe-signature"]))
        return httpx.Response(200)

    stand.backend.sender.transport = httpx.MockTransport(receiver)
    stand.backend.sender.register("http://receiver.test/webhooks/stripe")
    session = _session(stand.sdk())
    stand.pay(session.url)
    stand.wait()
    kinds = []
    for body, header in received:
        event = stripe.Webhook.construct_event(body, header, WEBHOOK_SECRET)
        kinds.append(event.type)
        assert event_errors(json.loads(body)) == []
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, header, "whsec_another")
    assert kinds == [
        "customer.created",
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    t, v1 = received[0][1].split(",")
    assert t.startswith("t=") and v1.startswith("v1=") and len(v1) == 3 + 64


def test_renewals_and_failures_raise_their_events(stand: StandIn) -> None:
    session = _session(stand.sdk())
    stand.pay(session.url)
    subscription_id = next(iter(stand.backend.subscriptions))
    before = stand.backend.subscriptions[subscription_id]["current_period_end"]
    assert (
        stand.hook(f"subscriptions/{subscription_id}/renew").json()["current_period_start"]
        == before
    )
    failed = stand.hook(f"subscriptions/{subscription_id}/fail-renewal").json()
    assert failed["status"] == "past_due"
    kinds = [e["type"] for e in stand.backend.events.values()]
    assert kinds[-4:] == [
        "invoice.paid",
        "customer.subscription.updated",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    updated = list(stand.backend.events.values())[-1]
    assert updated["data"]["previous_attributes"] == {"status": "active"}
    assert stand.hook(f"subscriptions/{subscription_id}/cancel").json()["status"] == "canceled"
    assert stand.hook(f"subscriptions/{subscription_id}/renew").status_code == 400
    assert stand.hook("subscriptions/sub_missing/renew").status_code == 404


def test_the_validator_sees_a_wrong_object() -> None:
    """Not vacuous: a subscription without its required fields is a mismatch."""
    assert object_errors({"id": "sub_1", "object": "subscription"}, "subscription")
    assert (
        object_errors(
            {"id": "cus_1", "object": "customer", "created": 1, "livemode": False}, "customer"
        )
        == []
    )


def test_form_bodies_decode_as_stripe_encodes_them() -> None:
    body = (
        b"line_items[0][price_data][currency]=gbp&line_items[0][quantity]=1&"
        b"line_items[1][price]=price_1&metadata[plan]=x&expand[]=a&expand[]=b&mode=subscription"
    )
    assert decode(body) == {
        "line_items": [
            {"price_data": {"currency": "gbp"}, "quantity": "1"},
            {"price": "price_1"},
        ],
        "metadata": {"plan": "x"},
        "expand": ["a", "b"],
        "mode": "subscription",
    }


def test_periods_follow_the_calendar() -> None:
    jan31 = 1801353600  # 2027-01-31T00:00:00Z
    assert add_interval(jan31, "month", 1) == 1803772800  # 2027-02-28
    assert add_interval(jan31, "year", 1) - jan31 == 365 * 86400
    assert add_interval(jan31, "day", 1) - jan31 == 86400


def test_signature_header_matches_the_sdk() -> None:
    body = b'{"id": "evt_1", "object": "event"}'
    import time

    header = signature_header(body, WEBHOOK_SECRET, int(time.time()))
    assert stripe.WebhookSignature.verify_header(body.decode(), header, WEBHOOK_SECRET, 300)


def test_a_session_expires_after_a_day(stand: StandIn) -> None:
    client = stand.sdk()
    session = _session(client)
    stand.http().post("/_emulator/clock", json={"advance_seconds": 24 * 3600})
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    page = stand.http().get(session.url)
    assert "This Checkout Session is expired." in page.text
    assert stand.pay(session.url).status_code == 400
