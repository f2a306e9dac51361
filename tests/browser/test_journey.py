"""A new user's whole journey through the portal in chromium, as the user guide tells it: register,
verify the email from the outbox, log in, create a connection through both emulators' consent
pages, run the Synchronisation Center, see an invoice synced on the dashboard, retry a failed
one, edit a setting, subscribe. axe-core checks every page; every page's screenshot is kept
(tests/browser/artifacts/test_journey.../, the pictures docs/PORTAL.md walks through).

A stage whose page is not built yet ends the journey there with a skip that names it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from d365xero.demo import create_sample_invoices
from d365xero.emulators.dataverse.sample import ADMIN_PASSWORD, ADMIN_USERNAME
from d365xero.jobs.passes import run_pass
from d365xero.store.models import Connection
from tests.browser.conftest import Portal
from tests.support.browser import Screenshots, check_axe
from tests.support.portal_routes import endpoints

pytestmark = pytest.mark.slow

XERO_USER, XERO_PASSWORD = "demo@d365xero.example", "demo"
EMAIL = "grace@example.com"
PASSWORD = "violet tractor umbrella 7319"


def field(page: Any, label: str) -> Any:
    """The form field of this label (a required field's label ends with its " *")."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}( \*)?\s*$"))


@dataclass
class Journey:
    page: Any
    portal: Portal
    screenshot: Screenshots

    def looked_at(self, name: str) -> None:
        """Every page the user sees: axe-core on it, and its picture kept."""
        check_axe(self.page)
        self.screenshot(self.page, name)

    def needs(self, path: str, stage: str) -> None:
        if not any(e.path == path for e in endpoints(self.portal.app)):
            pytest.skip(f"the journey stops before {stage}: {path} is not built yet")

    def go(self, path: str) -> None:
        answer = self.page.goto(self.portal.url + path)
        assert answer is not None and answer.status < 400, f"{path}: {answer and answer.status}"

    def heading(self, text: str) -> None:
        self.page.get_by_role("heading", name=text).first.wait_for()


def register(j: Journey, page: Any) -> None:
    """The guide's Register page: a wrong value is answered beside its field, with what was
    typed kept; then the account is made and the verification email sent."""
    j.go("/register")
    field(page, "First Name").fill("Grace")
    field(page, "Last Name").fill("Hopper")
    field(page, "Email Address").fill(EMAIL)
    field(page, "Company").fill("Hopper Ltd")
    field(page, "Company Phone").fill("+44 20 7946 0000")
    field(page, "Country").select_option(label="United Kingdom")
    field(page, "Password").fill(PASSWORD)
    field(page, "Confirm Password").fill(PASSWORD + " typo")
    j.looked_at("register")
    page.get_by_role("button", name="Register").click()
    confirm = field(page, "Confirm Password")
    assert confirm.get_attribute("aria-invalid") == "true"
    assert field(page, "Company").input_value() == "Hopper Ltd"  # kept
    j.looked_at("register-error-beside-the-field")
    field(page, "Password").fill(PASSWORD)
    confirm.fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    j.heading("Check your email")
    j.looked_at("check-your-email")


def verify_from_outbox(j: Journey, page: Any) -> None:
    j.go("/outbox")
    j.looked_at("outbox")
    page.get_by_role("link", name="Open the link").first.click()
    j.heading("Email address verified")
    j.looked_at("email-verified")


def log_in(j: Journey, page: Any) -> None:
    j.go("/login")
    field(page, "Email").fill(EMAIL)
    field(page, "Password").fill(PASSWORD)
    field(page, "Remember Me").check()
    j.looked_at("login")
    page.get_by_role("button", name="Login").click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    cookie = {c["name"]: c for c in page.context.cookies()}["d365xero_session"]
    assert cookie["expires"] > 0 and cookie["httpOnly"]  # Remember Me: it outlives the browser
    j.looked_at("signed-in")


def create_connection(j: Journey, page: Any) -> str:
    """The guide's three steps, through both emulators' own consent pages."""
    j.go("/connections")
    j.looked_at("connections-none-yet")
    page.get_by_role("button", name="Create a New Connection").click()
    j.heading("1. Connect to Xero")
    j.looked_at("create-a-new-connection")
    dynamics_tabs(j, page)
    page.get_by_role("button", name="Connect to Xero").click()
    field(page, "Email address").fill(XERO_USER)
    field(page, "Password").fill(XERO_PASSWORD)
    page.get_by_label("Demo Company (UK)").check()
    j.looked_at("xero-consent")
    page.get_by_role("button", name="Allow access").click()
    page.get_by_text("Connected to the Xero organisation").wait_for()
    j.looked_at("xero-connected")
    field(page, "Dynamics organisation URL").fill(j.portal.emulators.dataverse_url)
    page.get_by_role("button", name="Find its Entra tenant").click()
    page.get_by_role("button", name="Connect to Dynamics").first.click()
    field(page, "Email, phone, or Skype").fill(ADMIN_USERNAME)
    field(page, "Password").fill(ADMIN_PASSWORD)
    j.looked_at("dynamics-consent")
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("heading", name=re.compile("2. Connect to Microsoft Dynamics ✓")).wait_for()
    field(page, "Name").fill("Hopper Books")
    j.looked_at("configure-your-connector")
    page.get_by_role("button", name="Create Connection").click()
    page.wait_for_url(re.compile(r"/connections/[0-9a-f-]{36}$"))
    connection_id = page.url.rsplit("/", 1)[1]
    j.looked_at("dashboard-new-connection")
    return connection_id


def dynamics_tabs(j: Journey, page: Any) -> None:
    """Step 2's two tabs: on-line shown first; on-prem's fields only on its own tab."""
    assert not field(page, "Client id").count()
    page.get_by_role("link", name="Microsoft Dynamics on-prem").click()
    field(page, "Client id").wait_for()
    assert not field(page, "Dynamics organisation URL").count()
    j.looked_at("create-a-new-connection-onprem")
    page.get_by_role("link", name="Microsoft Dynamics on-line").click()
    field(page, "Dynamics organisation URL").wait_for()
    assert not field(page, "Client id").count()


def synchronisation_center(j: Journey, page: Any, connection_id: str) -> None:
    """Tax Rates, Account Codes, Branding Themes, in that order, each with its result."""
    j.go(f"/connections/{connection_id}/sync-center")
    j.looked_at("synchronisation-center")
    for kind, label in (
        ("taxrates", "Tax Rates"),
        ("accounts", "Account Codes"),
        ("brandingthemes", "Branding Themes"),
    ):
        page.locator(f"#import-{kind}").get_by_role("button", name=label).click()
        page.locator(f"#import-{kind} .result[data-status=done]").wait_for()
    j.looked_at("synchronisation-center-imported")


def _count(page: Any, label: str) -> int:
    return int(page.locator(f"dt:text-is('{label}') + dd").inner_text().strip())


def dashboard_and_retry(j: Journey, page: Any, connection_id: str) -> None:
    """Invoices raised in Dynamics, a pass (as serve's scheduler runs it); one synced, one
    failed with the reason its Sync History gives; fixed in Dynamics and retried."""
    portal = j.portal
    with portal.runtime.sessions() as session:
        connection = session.get(Connection, connection_id)
        assert connection is not None
        row_id = connection.dataverse_connection_row_id or ""
    dynamics = portal.dynamics()
    create_sample_invoices(dynamics, row_id, datetime.now(UTC).date())
    run_pass(portal.runtime, connection_id)
    j.go("/connections")
    page.get_by_role("link", name="1 failed").wait_for()  # what Dynamics holds Failed
    j.looked_at("connections-one-failed")
    j.go(f"/connections/{connection_id}")
    assert _count(page, "Synced") > 0 and _count(page, "Failed") == 1
    j.looked_at("dashboard-synced-and-failed")
    [unready] = dynamics.get("invoices", {"$filter": "name eq 'Missing price list'"})["value"]
    [prices] = dynamics.get("pricelevels", {"$filter": "name ne null", "$top": "1"})["value"]
    dynamics.update(  # what its Sync History says to fix, done in Dynamics
        "invoices",
        unready["invoiceid"],
        {"pricelevelid@odata.bind": f"/pricelevels({prices['pricelevelid']})"},
    )
    synced = _count(page, "Synced")
    page.get_by_role("button", name=f"Retry {unready['invoicenumber']}").click()
    page.get_by_text("set back to export status No").wait_for()
    j.looked_at("dashboard-retried")
    run_pass(portal.runtime, connection_id)
    page.reload()
    assert _count(page, "Failed") == 0 and _count(page, "Synced") == synced + 1
    j.looked_at("dashboard-all-synced")


def edit_a_setting(j: Journey, page: Any, connection_id: str) -> None:
    j.go(f"/connections/{connection_id}/settings")
    j.looked_at("connector-settings")
    status = field(page, "Default Xero invoice status")
    status.select_option(label="Authorised")
    page.get_by_role("button", name="Update Connection").click()
    page.locator(".notice.ok").first.wait_for()
    assert field(page, "Default Xero invoice status").input_value() == status.input_value()
    j.looked_at("connector-settings-updated")


def subscribe(j: Journey, page: Any, connection_id: str) -> None:
    """Subscribe Now through Stripe Checkout (the stand-in's hosted page); Stripe's signed
    event activates the subscription."""
    j.go(f"/connections/{connection_id}/billing")
    j.looked_at("billing-plans-and-trial")
    page.get_by_role("button", name=re.compile("^Subscribe Now")).first.click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("MM / YY").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    j.looked_at("stripe-checkout")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{j.portal.url}/**")
    j.portal.stripe.wait()  # the signed checkout.session.completed event reached the portal
    j.go(f"/connections/{connection_id}/billing")
    page.get_by_role("button", name="Cancel subscription").wait_for()
    j.looked_at("billing-subscribed")


def billing_details(j: Journey, page: Any) -> None:
    """The guide's Set Up Billing: a missing City answered beside it, then Update Details."""
    j.go("/billing")
    for label, value in (
        ("First Name", "Grace"),
        ("Last Name", "Hopper"),
        ("Company", "Hopper Ltd"),
        ("Company Position", "Director"),
        ("Address Line 1", "1 Harbour Street"),
        ("Country", "United Kingdom"),
    ):
        field(page, label).fill(value)
    page.get_by_role("button", name="Update Details").click()
    assert field(page, "City").get_attribute("aria-invalid") == "true"
    assert field(page, "Address Line 1").input_value() == "1 Harbour Street"  # kept
    j.looked_at("billing-details-error-beside-the-field")
    field(page, "City").fill("London")
    field(page, "Email Address").fill(EMAIL)  # after Subscribe Now it is no longer filled in
    page.get_by_role("button", name="Update Details").click()
    page.get_by_text("Your billing details are saved.").wait_for()
    j.looked_at("billing-details-saved")


def test_a_new_users_journey(page: Any, portal: Portal, screenshot: Screenshots) -> None:
    j = Journey(page, portal, screenshot)
    j.needs("/register", "Register")
    register(j, page)
    verify_from_outbox(j, page)
    log_in(j, page)
    j.needs("/connections/new", "Create a New Connection")
    connection_id = create_connection(j, page)
    j.needs("/connections/{connection_id}/sync-center", "the Synchronisation Center")
    synchronisation_center(j, page, connection_id)
    j.needs("/connections/{connection_id:uuid}", "the dashboard")
    dashboard_and_retry(j, page, connection_id)
    j.needs("/connections/{connection_id}/settings", "the Connector Settings")
    edit_a_setting(j, page, connection_id)
    j.needs("/connections/{connection_id}/billing", "Billing")
    subscribe(j, page, connection_id)
    j.needs("/billing", "the billing details")
    billing_details(j, page)


def test_forms_work_without_javascript(nojs_page: Any, portal: Portal) -> None:
    """Register, verify, log in and step 2's tabs with JavaScript off: plain forms and links
    all the way."""
    j = Journey(nojs_page, portal, Screenshots.for_test("nojs"))
    j.looked_at = lambda name: None  # type: ignore[method-assign]  # axe needs JavaScript
    j.needs("/register", "Register")
    register(j, nojs_page)
    verify_from_outbox(j, nojs_page)
    log_in(j, nojs_page)
    j.go("/connections")
    nojs_page.get_by_role("button", name="Create a New Connection").click()
    j.heading("1. Connect to Xero")
    dynamics_tabs(j, nojs_page)
