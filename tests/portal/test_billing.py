"""The Billing pages: a connection's plans with their prices and the trial's countdown, Subscribe
Now through the Stripe stand-in's Checkout back to an active plan, cancelling to a paused
banner, the billing details form (messages beside the fields, values kept), and another user's
ids answered 404 on every billing route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from d365xero.store import billing, connections
from d365xero.store.models import User
from tests.portal.conftest import Portal, csrf_token
from tests.support.stripe_fixtures import Billing, billing_harness

HTML = {"accept": "text/html"}


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Iterator[Billing]:
    with billing_harness(tmp_path, database_url) as made:
        yield made


def _signed_in(harness: Billing) -> TestClient:
    client = harness.client()
    Portal(harness.app, harness.runtime).sign_in(client, harness.user)
    return client


def _page(harness: Billing) -> str:
    return f"/connections/{harness.connection.id}/billing"


def test_the_plans_page_shows_prices_and_the_trial(harness: Billing) -> None:
    client = _signed_in(harness)
    page = client.get(_page(harness), headers=HTML)
    assert page.status_code == 200
    assert "trial expires: 30 days" in page.text
    assert "GBP Quick renew plan" in page.text and "£5.00 per day" in page.text
    assert "GBP Enterprise Annual (£849.60 inc VAT pa)" in page.text
    assert "$6.50 per day" in page.text and "€990.00 per year" in page.text
    assert page.text.count(">Subscribe Now</button>") == 6
    assert 'aria-current="page">Billing</a>' in page.text
    csp = page.headers["content-security-policy"]
    assert f"form-action 'self' {harness.stripe.url}" in csp


def test_subscribe_now_goes_through_checkout_to_an_active_plan(harness: Billing) -> None:
    client = _signed_in(harness)
    token = csrf_token(client, _page(harness))
    started = client.post(
        f"{_page(harness)}/subscribe", data={"csrf_token": token, "plan": "gbp-quick-renew"}
    )
    assert started.status_code == 303
    checkout = started.headers["location"]
    assert checkout.startswith(f"{harness.stripe.url}/checkout/cs_test_")
    paid = harness.stripe.pay(checkout)
    assert paid.status_code == 303
    back = paid.headers["location"]
    assert back.startswith(f"http://testserver{_page(harness)}?paid=cs_test_")
    harness.stripe.wait()
    page = client.get(back, headers=HTML)
    assert "your payment is being confirmed" in page.text
    assert "GBP Quick renew plan until " in page.text
    assert "trial expires" not in page.text and "Syncing is paused" not in page.text
    assert "Subscribed: to change the plan, cancel the subscription first." in page.text
    twice = client.post(
        f"{_page(harness)}/subscribe",
        data={"csrf_token": token, "plan": "gbp-enterprise-annual"},
        headers=HTML,
    )
    assert twice.status_code == 409 and "already subscribed" in twice.text
    assert len(harness.stripe.backend.sessions) == 1

    cancelled = client.post(f"{_page(harness)}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    harness.stripe.wait()
    page = client.get(_page(harness), headers=HTML)
    assert "The subscription is cancelled." not in page.text  # only after the redirect
    assert "Syncing is paused: subscription (GBP Quick renew plan) was cancelled on " in page.text
    assert 'class="status paused"' in page.text
    again = client.post(f"{_page(harness)}/cancel", data={"csrf_token": token}, headers=HTML)
    assert again.status_code == 400 and "There is no subscription to cancel." in again.text


def test_a_failed_renewal_shows_the_banner(harness: Billing) -> None:
    client = _signed_in(harness)
    token = csrf_token(client, _page(harness))
    started = client.post(
        f"{_page(harness)}/subscribe", data={"csrf_token": token, "plan": "usd-quick-renew"}
    )
    harness.stripe.pay(started.headers["location"])
    harness.stripe.wait()
    subscription_id = next(iter(harness.stripe.backend.subscriptions))
    harness.stripe.hook(f"subscriptions/{subscription_id}/fail-renewal")
    harness.stripe.wait()
    page = client.get(_page(harness), headers=HTML)
    assert "Syncing is paused: the renewal payment for USD Quick renew plan failed on" in page.text


def test_an_unknown_plan_is_refused_beside_the_plans(harness: Billing) -> None:
    client = _signed_in(harness)
    token = csrf_token(client, _page(harness))
    refused = client.post(
        f"{_page(harness)}/subscribe",
        data={"csrf_token": token, "plan": "free-forever"},
        headers=HTML,
    )
    assert refused.status_code == 400 and "Choose one of the plans below." in refused.text
    assert harness.stripe.backend.sessions == {}


def _other_users_connection(portal: Portal) -> tuple[TestClient, str, User]:
    client, ada = portal.signed_in_client("ada@example.com")
    bob = portal.user("bob@example.com")
    with portal.runtime.sessions.begin() as session:
        made = connections.add_connection(
            session, portal.runtime.box, name="Bob's", secrets={}, user_id=bob.id
        )
        return client, made.id, ada


def test_another_users_connection_is_404_on_every_billing_route(portal: Portal) -> None:
    client, bobs, _ = _other_users_connection(portal)
    token = csrf_token(client, "/billing")
    assert client.get(f"/connections/{bobs}/billing", headers=HTML).status_code == 404
    for action in ("subscribe", "cancel"):
        answer = client.post(
            f"/connections/{bobs}/billing/{action}",
            data={"csrf_token": token, "plan": "gbp-quick-renew"},
            headers=HTML,
        )
        assert answer.status_code == 404, action
    assert client.get("/connections/no-such-id/billing", headers=HTML).status_code == 404


def test_signed_out_visitors_are_sent_to_login(portal: Portal) -> None:
    answer = portal.client().get("/billing", headers=HTML)
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/login")


def test_without_stripe_settings_subscribing_says_so(portal: Portal) -> None:
    client, ada = portal.signed_in_client()
    with portal.runtime.sessions.begin() as session:
        mine = connections.add_connection(
            session, portal.runtime.box, name="Mine", secrets={}, user_id=ada.id
        ).id
    page = client.get(f"/connections/{mine}/billing", headers=HTML)
    assert "billing is not configured" in page.text
    token = csrf_token(client, "/billing")
    answer = client.post(
        f"/connections/{mine}/billing/subscribe",
        data={"csrf_token": token, "plan": "gbp-quick-renew"},
        headers=HTML,
    )
    assert answer.status_code == 503 and "billing is not configured" in answer.text


def test_billing_details_keep_what_was_typed_and_say_whats_wrong(portal: Portal) -> None:
    client, ada = portal.signed_in_client()
    page = client.get("/billing", headers=HTML)
    assert page.status_code == 200
    for label in ("First Name", "Company VAT exempt", "County/State", "Postcode/ZIP Code"):
        assert label in page.text
    assert 'value="ada@example.com"' in page.text  # the account's e-mail to start with
    token = csrf_token(client, "/billing")
    typed = {
        "csrf_token": token,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "not an address",
        "company": "<b>Engines</b>",
        "address_line1": "12 St James's Square",
        "city": "London",
        "country": "",
        "vat_exempt": "on",
    }
    refused = client.post("/billing", data=typed, headers=HTML)
    assert refused.status_code == 400
    assert 'id="e-email">Email Address must look like name@example.com' in refused.text
    assert 'id="e-country">Country is required' in refused.text
    assert 'value="Lovelace"' in refused.text and 'value="not an address"' in refused.text
    assert "&lt;b&gt;Engines&lt;/b&gt;" in refused.text and "<b>Engines" not in refused.text
    assert 'name="vat_exempt" type="checkbox" value="on" checked' in refused.text

    saved = client.post(
        "/billing", data={**typed, "email": "ada@example.com", "country": "United Kingdom"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/billing?saved=1"
    page = client.get("/billing?saved=1", headers=HTML)
    assert "Your billing details are saved." in page.text
    assert 'value="United Kingdom"' in page.text
    with portal.runtime.sessions() as session:
        row = billing.get_details(session, ada.id)
        assert row is not None and row.vat_exempt and row.company == "<b>Engines</b>"


def test_a_form_without_its_csrf_token_is_refused(portal: Portal) -> None:
    client, _ = portal.signed_in_client()
    client.get("/billing", headers=HTML)
    refused = client.post("/billing", data={"first_name": "Ada"}, headers=HTML)
    assert refused.status_code in (400, 403)


def test_updated_details_reach_the_stripe_customer(harness: Billing) -> None:
    client = _signed_in(harness)
    token = csrf_token(client, _page(harness))
    started = client.post(
        f"{_page(harness)}/subscribe", data={"csrf_token": token, "plan": "gbp-quick-renew"}
    )
    assert started.status_code == 303
    details = {
        "csrf_token": token,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "accounts@engines.example",
        "company": "Analytical Engines Ltd",
        "company_phone": "+44 20 7946 0000",
        "vat_exempt": "on",
        "address_line1": "12 St James's Square",
        "city": "London",
        "postcode": "SW1Y 4LB",
        "country": "GB",
    }
    saved = client.post("/billing", data=details)
    assert saved.status_code == 303 and saved.headers["location"] == "/billing?saved=1"
    (customer,) = harness.stripe.backend.customers.values()
    assert customer["email"] == "accounts@engines.example"
    assert customer["name"] == "Analytical Engines Ltd"
    assert customer["tax_exempt"] == "exempt"
    assert customer["address"]["country"] == "GB" and customer["address"]["city"] == "London"
    assert customer["metadata"]["user_id"] == harness.user.id


def test_stripe_returns_the_browser_to_the_public_url(harness: Billing) -> None:
    harness.runtime.settings = harness.runtime.settings.model_copy(
        update={"public_url": "https://connector.example.com/"}
    )
    client = _signed_in(harness)
    token = csrf_token(client, _page(harness))
    started = client.post(
        f"{_page(harness)}/subscribe", data={"csrf_token": token, "plan": "eur-quick-renew"}
    )
    (session,) = harness.stripe.backend.sessions.values()
    assert session["success_url"].startswith(f"https://connector.example.com{_page(harness)}?paid=")
    assert session["cancel_url"] == f"https://connector.example.com{_page(harness)}"
    assert started.headers["location"] == session["url"]
