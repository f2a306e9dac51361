"""Plans and billing end to end: the official stripe SDK against the Stripe stand-in, its hosted
checkout page, and its signed webhook events delivered to POST /webhooks/stripe of the real app
on a real port. Subscribing activates the connection's plan; cancelling, and a failed renewal,
stop its syncing with a reason `connection list` and the pages show; every event is applied
once; a bad or old signature is refused with 400."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d365xero.billing.checkout import cancel_subscription, start_checkout
from d365xero.emulators.stripe.webhooks import signature_header
from d365xero.store import billing
from d365xero.store.models import BillingEvent
from tests.support.stripe_fixtures import (
    DECLINED_CARD,
    WEBHOOK_SECRET,
    Billing,
    billing_harness,
)


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Iterator[Billing]:
    with billing_harness(tmp_path, database_url) as made:
        yield made


def _checkout(harness: Billing, plan: str = "gbp-quick-renew") -> str:
    with harness.runtime.sessions.begin() as session:
        connection = harness.fresh()
        session.add(connection)
        started = start_checkout(
            harness.stripe.sdk(),
            session,
            connection,
            plan,
            user_id=harness.user.id,
            email=harness.user.email,
            success_url=f"{harness.url}/connections/{connection.id}/billing?paid={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{harness.url}/connections/{connection.id}/billing",
        )
    return started.url


def _subscribe(harness: Billing, plan: str = "gbp-quick-renew") -> str:
    url = _checkout(harness, plan)
    paid = harness.stripe.pay(url)
    assert paid.status_code == 303, paid.text
    harness.stripe.wait()
    subscription = harness.stripe.backend.subscriptions
    assert len(subscription) == 1
    return next(iter(subscription))


def _wait_for(what: str, done: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_subscribing_activates_the_connection(harness: Billing) -> None:
    assert harness.fresh().plan == "trial"
    url = _checkout(harness)
    page = harness.stripe.http().get(url)
    assert "Subscribe to: GBP Quick renew plan" in page.text
    assert "£5.00 per day" in page.text

    paid = harness.stripe.pay(url)
    assert paid.status_code == 303
    session_id = url.rsplit("/", 1)[1]
    assert paid.headers["location"].endswith(f"/billing?paid={session_id}")
    harness.stripe.wait()

    connection = harness.fresh()
    assert connection.plan == "gbp-quick-renew"
    assert connection.subscription_status == "active"
    assert connection.subscription_ends_at is not None
    left = connection.subscription_ends_at - datetime.now(UTC)
    assert timedelta(hours=23) < left <= timedelta(days=1)
    entitled = harness.entitlement()
    assert entitled.active and entitled.reason.startswith("GBP Quick renew plan until ")
    with harness.runtime.sessions() as session:
        details = billing.get_details(session, harness.user.id)
        assert details is not None and details.stripe_customer_id
        assert harness.stripe.backend.customers[details.stripe_customer_id]["email"] == (
            "ada@example.com"
        )
    deliveries = harness.stripe.backend.sender.endpoint.deliveries  # type: ignore[union-attr]
    assert {d["type"] for d in deliveries} >= {
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    }
    assert all(d["attempts"][-1] == 200 for d in deliveries), deliveries


def test_an_annual_plan_runs_a_year(harness: Billing) -> None:
    _subscribe(harness, "gbp-enterprise-annual")
    connection = harness.fresh()
    assert connection.subscription_ends_at is not None
    assert connection.subscription_ends_at - datetime.now(UTC) > timedelta(days=364)
    assert harness.entitlement().reason.startswith(
        "GBP Enterprise Annual (£849.60 inc VAT pa) until "
    )


def test_a_declined_card_changes_nothing(harness: Billing) -> None:
    url = _checkout(harness)
    declined = harness.stripe.pay(url, DECLINED_CARD)
    assert declined.status_code == 402
    assert "Your card was declined." in declined.text
    assert harness.stripe.backend.subscriptions == {}
    harness.stripe.wait()
    assert harness.fresh().plan == "trial"
    bad = harness.stripe.pay(url, "4242 4242 4242 4241")
    assert bad.status_code == 402 and "Your card number is invalid." in bad.text


def test_cancelling_pauses_syncing_with_a_reason(harness: Billing) -> None:
    subscription_id = _subscribe(harness)
    with harness.runtime.sessions.begin() as session:
        connection = harness.fresh()
        session.add(connection)
        assert cancel_subscription(harness.stripe.sdk(), session, connection) is not None
    harness.stripe.wait()
    assert harness.stripe.backend.subscriptions[subscription_id]["status"] == "canceled"
    entitled = harness.entitlement()
    assert not entitled.active
    assert entitled.reason.startswith("subscription (GBP Quick renew plan) was cancelled on ")
    assert "Subscribe Now" in entitled.reason


def test_a_cancellation_from_stripe_pauses_syncing(harness: Billing) -> None:
    subscription_id = _subscribe(harness)
    assert harness.stripe.hook(f"subscriptions/{subscription_id}/cancel").status_code == 200
    harness.stripe.wait()
    assert harness.fresh().subscription_status == "canceled"
    assert not harness.entitlement().active


def test_a_failed_renewal_pauses_syncing_and_a_paid_one_resumes_it(harness: Billing) -> None:
    subscription_id = _subscribe(harness)
    first_end = harness.fresh().subscription_ends_at
    assert harness.stripe.hook(f"subscriptions/{subscription_id}/fail-renewal").status_code == 200
    harness.stripe.wait()
    entitled = harness.entitlement()
    assert not entitled.active
    assert entitled.reason.startswith("the renewal payment for GBP Quick renew plan failed on ")
    types = [d["type"] for d in harness.stripe.backend.sender.endpoint.deliveries]  # type: ignore[union-attr]
    assert "invoice.payment_failed" in types

    assert harness.stripe.hook(f"subscriptions/{subscription_id}/renew").status_code == 200
    harness.stripe.wait()
    connection = harness.fresh()
    assert connection.subscription_status == "active"
    assert first_end is not None and connection.subscription_ends_at is not None
    assert connection.subscription_ends_at - first_end == timedelta(days=1)
    assert harness.entitlement().active


def test_each_event_is_applied_once(harness: Billing) -> None:
    _subscribe(harness)
    with harness.runtime.sessions() as session:
        applied = session.query(BillingEvent).count()
    completed = next(
        e
        for e in harness.stripe.backend.events.values()
        if e["type"] == "checkout.session.completed"
    )
    assert harness.stripe.hook(f"events/{completed['id']}/resend").status_code == 202
    harness.stripe.wait()
    last = harness.stripe.backend.sender.endpoint.deliveries[-1]  # type: ignore[union-attr]
    assert last["id"] == completed["id"] and last["attempts"] == [200]
    with harness.runtime.sessions() as session:
        assert session.query(BillingEvent).count() == applied


def _post(harness: Billing, body: bytes, header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return httpx.post(f"{harness.url}/webhooks/stripe", content=body, headers=headers)


def _event(kind: str = "customer.created") -> bytes:
    return json.dumps(
        {
            "id": "evt_test_signature",
            "object": "event",
            "api_version": "2023-08-16",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_x", "object": "customer"}},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
    ).encode()


def test_signatures_good_bad_and_old(harness: Billing) -> None:
    body = _event()
    now = int(time.time())
    good = _post(harness, body, signature_header(body, WEBHOOK_SECRET, now))
    assert good.status_code == 200, good.text
    assert _post(harness, body, signature_header(body, "whsec_wrong", now)).status_code == 400
    tampered = body.replace(b"cus_x", b"cus_y")
    assert _post(harness, tampered, signature_header(body, WEBHOOK_SECRET, now)).status_code == 400
    old = signature_header(body, WEBHOOK_SECRET, now - 600)  # a replay: outside 5 minutes
    refused = _post(harness, body, old)
    assert refused.status_code == 400 and "timestamp" in refused.text
    assert _post(harness, body, None).status_code == 400
    assert _post(harness, body, "t=abc,v1=zz").status_code == 400
    garbage = b"not json"
    assert (
        _post(harness, garbage, signature_header(garbage, WEBHOOK_SECRET, now)).status_code == 400
    )
    again = _post(harness, body, signature_header(body, WEBHOOK_SECRET, now))
    assert again.status_code == 200 and "already applied" in again.text


def test_connection_list_says_why_syncing_stopped(
    harness: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from d365xero.cli import app

    subscription_id = _subscribe(harness)
    harness.stripe.hook(f"subscriptions/{subscription_id}/fail-renewal")
    harness.stripe.wait()
    settings = harness.runtime.settings
    monkeypatch.setenv("D365XERO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("D365XERO_DATABASE_URL", settings.database())
    listed = CliRunner().invoke(app, ["connection", "list"])
    assert listed.exit_code == 0, listed.output
    assert "the renewal payment for GBP Quick renew plan failed" in listed.output


@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["id", "type", "data", "object"]), inner)
            ),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    signed=st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_body_gets_a_500(harness: Billing, body: bytes, signed: bool) -> None:
    """Whatever arrives, signed with the right secret or not, is answered 200, 400 or 503."""
    header = signature_header(body, WEBHOOK_SECRET, int(time.time())) if signed else "t=1,v1=0"
    answer = _post(harness, body, header)
    assert answer.status_code in (200, 400, 503), (body, answer.text)


def test_subscribing_again_after_a_failed_renewal_cancels_the_old_one(harness: Billing) -> None:
    old = _subscribe(harness)
    harness.stripe.hook(f"subscriptions/{old}/fail-renewal")
    harness.stripe.wait()
    assert not harness.entitlement().active
    paid = harness.stripe.pay(_checkout(harness, "gbp-enterprise-annual"))
    assert paid.status_code == 303
    harness.stripe.wait()
    subscriptions = harness.stripe.backend.subscriptions
    new = next(s for s in subscriptions if s != old)
    assert subscriptions[old]["status"] == "canceled"  # nobody pays twice
    assert subscriptions[new]["status"] == "active"
    connection = harness.fresh()
    assert connection.plan == "gbp-enterprise-annual" and connection.subscription_status == "active"
    assert harness.entitlement().active


def _signed(kind: str, obj: dict[str, object], event_id: str) -> tuple[bytes, str]:
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
        }
    ).encode()
    return body, signature_header(body, WEBHOOK_SECRET, int(time.time()))


def test_an_event_of_a_subscription_stripe_no_longer_has_is_acknowledged(
    harness: Billing,
) -> None:
    body, header = _signed(
        "customer.subscription.updated", {"id": "sub_gone", "object": "subscription"}, "evt_1"
    )
    answer = _post(harness, body, header)
    assert answer.status_code == 200 and "no longer exists" in answer.text
    assert harness.fresh().plan == "trial"


def test_while_stripe_is_unreachable_events_wait_for_a_retry(harness: Billing) -> None:
    from pydantic import SecretStr

    from d365xero.billing.client import stripe_client
    from d365xero.billing.webhooks import StripeWebhooks
    from d365xero.config import Settings
    from d365xero.emulators.core.server import free_port

    nowhere = Settings(
        stripe_url=f"http://127.0.0.1:{free_port()}", stripe_secret_key=SecretStr("sk_test_x")
    )
    with httpx.Client(timeout=2) as http:
        hooks = StripeWebhooks(
            harness.runtime.sessions, lambda: stripe_client(nowhere, http), WEBHOOK_SECRET
        )
        body, header = _signed(
            "invoice.payment_failed",
            {"id": "in_1", "object": "invoice", "subscription": "sub_1"},
            "evt_2",
        )
        assert hooks.receive(body, header)[0] == 503
    with harness.runtime.sessions() as session:
        assert session.get(BillingEvent, "evt_2") is None  # not recorded: the retry applies it
