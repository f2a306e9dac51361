"""Plans, prices and the trial's countdown as the user guide shows them; what a subscription's
state means for syncing; billing details and their messages per field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from d365xero.domain.billing import LABELS, blank_details, parse_details
from d365xero.domain.plans import (
    PLANS,
    find_plan,
    money,
    plan_label,
    price_label,
    subscription_state,
    trial_countdown,
)
from d365xero.domain.subscription import entitlement

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_the_guides_plans_and_labels() -> None:
    quick = find_plan("gbp-quick-renew")
    annual = find_plan("gbp-enterprise-annual")
    assert quick is not None and annual is not None
    assert plan_label(quick.code) == "GBP Quick renew plan"
    assert price_label(quick) == "£5.00 per day"
    assert plan_label(annual.code) == "GBP Enterprise Annual (£849.60 inc VAT pa)"
    assert {p.currency for p in PLANS} == {"GBP", "USD", "EUR"}
    assert {p.interval for p in PLANS} == {"day", "year"}
    assert len({p.code for p in PLANS}) == len(PLANS)
    assert all(len(p.code) <= 32 for p in PLANS)  # connections.plan is 32 characters
    assert plan_label("USD Enterprise Annual".lower().replace(" ", "-")) == (
        "USD Enterprise Annual ($1,080.00 pa)"
    )
    assert plan_label("retired-plan") == "retired-plan"
    assert money("EUR", 600) == "€6.00" and money("JPY", 100) == "1.00 JPY"


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        (timedelta(days=26), "trial expires: 26 days"),
        (timedelta(days=25, hours=3), "trial expires: 26 days"),
        (timedelta(hours=3), "trial expires: 1 day"),
        (timedelta(days=30), "trial expires: 30 days"),
    ],
)
def test_the_trial_countdown(left: timedelta, shown: str) -> None:
    assert trial_countdown(NOW + left, NOW) == shown


def test_an_ended_trial_says_when() -> None:
    assert trial_countdown(NOW - timedelta(days=1), NOW) == "trial expired on 2026-11-30"
    assert trial_countdown(None, NOW) == ""


def test_what_a_subscription_state_means() -> None:
    end = NOW + timedelta(days=1)
    assert subscription_state("gbp-quick-renew", "active", end, None, NOW).ends_at == end
    assert subscription_state("gbp-quick-renew", "trialing", end, None, NOW).ends_at == end
    failed = subscription_state("gbp-quick-renew", "past_due", end, None, NOW)
    assert failed.ends_at == NOW and failed.status == "past_due"
    ended = NOW - timedelta(hours=1)
    assert subscription_state("gbp-quick-renew", "canceled", end, ended, NOW).ends_at == ended


def test_entitlement_says_why_a_subscription_stopped() -> None:
    later = NOW + timedelta(minutes=1)
    active = entitlement("gbp-quick-renew", None, NOW + timedelta(days=1), NOW, "active")
    assert active.active and active.reason == "GBP Quick renew plan until 2026-12-02"
    failed = entitlement("gbp-quick-renew", None, NOW, later, "past_due")
    assert not failed.active
    assert failed.reason == (
        "the renewal payment for GBP Quick renew plan failed on 2026-12-01: Subscribe Now on "
        "the Billing page with a working card to resume syncing"
    )
    cancelled = entitlement("gbp-enterprise-annual", None, NOW, later, "canceled")
    assert cancelled.reason.startswith(
        "subscription (GBP Enterprise Annual (£849.60 inc VAT pa)) was cancelled on 2026-12-01"
    )
    ran_out = entitlement("gbp-quick-renew", None, NOW, later, None)
    assert "ended on 2026-12-01: renew it" in ran_out.reason


def _good() -> dict[str, str]:
    return {
        "first_name": " Ada ",
        "last_name": "Lovelace",
        "email": "Ada@Example.com",
        "company_phone": "+44 20 7946 0000",
        "company_position": "Director",
        "company": "Analytical Engines Ltd",
        "vat_exempt": "on",
        "address_line1": "12 St James's Square",
        "address_line2": "",
        "address_line3": "",
        "city": "London",
        "county": "Greater London",
        "postcode": "SW1Y 4LB",
        "country": "United Kingdom",
    }


def test_good_details_are_cleaned() -> None:
    details, errors = parse_details(_good())
    assert errors == {}
    assert details is not None
    assert details.first_name == "Ada" and details.email == "ada@example.com"
    assert details.vat_exempt is True
    unticked, _ = parse_details({**_good(), "vat_exempt": ""})
    assert unticked is not None and unticked.vat_exempt is False


def test_wrong_details_get_a_message_per_field() -> None:
    form = {
        **_good(),
        "first_name": "",
        "email": "not-an-address",
        "company_phone": "call me",
        "postcode": "!",
        "city": "x" * 201,
        "company": "two\nlines",
    }
    details, errors = parse_details(form)
    assert details is None
    assert errors == {
        "first_name": "First Name is required",
        "email": "Email Address must look like name@example.com",
        "company_phone": (
            "Company Phone Number may hold digits, spaces, + ( ) - . / only (6 to 30)"
        ),
        "postcode": "Postcode/ZIP Code must be 2 to 12 letters, digits, spaces or hyphens",
        "city": "City must be at most 200 characters",
        "company": "Company must be one line of text",
    }


def test_the_form_has_the_guides_labels() -> None:
    assert list(LABELS.values()) == [
        "First Name",
        "Last Name",
        "Email Address",
        "Company Phone Number",
        "Company Position",
        "Company",
        "Company VAT exempt",
        "Address Line 1",
        "Address Line 2",
        "Address Line 3",
        "City",
        "County/State",
        "Postcode/ZIP Code",
        "Country",
    ]
    assert blank_details("ada@example.com")["email"] == "ada@example.com"


def test_the_stripe_url_follows_the_url_policy() -> None:
    from pydantic import ValidationError

    from d365xero.config import Settings
    from d365xero.errors import ConfigurationError

    assert Settings(stripe_url="http://127.0.0.1:12111/").stripe_url == "http://127.0.0.1:12111"
    with pytest.raises((ConfigurationError, ValidationError), match="D365XERO_STRIPE_URL"):
        Settings(stripe_url="http://stripe.example.com")
    hidden = Settings(stripe_secret_key="sk_test_secret", stripe_webhook_secret="whsec_x")
    assert "sk_test_secret" not in repr(hidden) and "whsec_x" not in repr(hidden)
