"""The account forms' rules (domain/accounts.py): messages per field, the password policy over
the shipped breached-password list, and when failed logins make the next one wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from d365xero.domain import accounts as rules
from d365xero.portal.account_lists import breached_passwords, countries

GOOD = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.co.uk",
    "company": "Analytical Engines Ltd",
    "company_phone": "+44 (0)20 7946 0958",
    "country": "GB",
    "password": "velvet tractor mango harbour",
    "confirm": "velvet tractor mango harbour",
}


def _errors(**changed: str) -> dict[str, str]:
    return rules.register_errors({**GOOD, **changed}, countries(), breached_passwords())


def test_a_good_registration_has_no_errors() -> None:
    assert _errors() == {}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("first_name", "", "Enter your first name"),
        ("last_name", "x" * 101, "at most 100"),
        ("company", "", "Enter your company's name"),
        ("email", "", "Enter your email"),
        ("email", "ada.example.com", "like name@example.com"),
        ("email", "ada@localhost", "domain like example.com"),
        ("email", "a b@example.com", "before @"),
        ("email", "ada@10.0.0.1", "not an IP address"),
        ("email", "ada@exa_mple.com", "domain like"),
        ("company_phone", "", "Enter your company's phone"),
        ("company_phone", "call me", "digits, spaces"),
        ("company_phone", "12345", "7 to 15 digits"),
        ("company_phone", "+1+2345678", "digits, spaces"),
        ("country", "", "Choose your country"),
        ("country", "XX", "Choose your country"),
        ("first_name", "Ada\x00", "control characters"),
    ],
)
def test_each_field_says_what_is_wrong(field: str, value: str, says: str) -> None:
    errors = _errors(**{field: value})
    assert list(errors) == [field] and says in errors[field]


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("", "Enter a password"),
        ("short pass1", "at least 12"),
        ("x" * 257, "at most 256"),
        ("1qaz2wsx3edc", "most common"),  # in the list as it is
        ("QWERTY123456", "most common"),  # in the list, in any case
        ("Password123456!", "most common"),  # the list's word with decorations
        ("abcabcabcabc", "most common"),  # a repeat
        ("zzzzzzzzzzzzzzzz", "most common"),
        ("lovelace is my name", "name or email"),
        ("my ada@example.co.uk!", "name or email"),
    ],
)
def test_the_password_policy(password: str, says: str) -> None:
    errors = _errors(password=password, confirm=password)
    assert list(errors) == ["password"] and says in errors["password"]


def test_the_confirmation_must_match() -> None:
    assert _errors(confirm="velvet tractor mango harbouR") == {
        "confirm": "The two passwords are not the same."
    }


def test_the_shipped_list_is_the_breached_one() -> None:
    listed = breached_passwords()
    assert len(listed) > 40_000 and {"123456", "password", "qwerty123456"} <= listed
    assert countries()["GB"] == "United Kingdom" and len(countries()) > 240


def test_throttled_until_counts_only_the_window() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    window = timedelta(minutes=15)
    four = [now - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert rules.throttled_until(four, 5, window, now) is None
    five = [*four, now - timedelta(minutes=10)]
    assert rules.throttled_until(five, 5, window, now) == now - timedelta(minutes=10) + window
    old = [*four, now - timedelta(minutes=16)]
    assert rules.throttled_until(old, 5, window, now) is None
    seven = [*five, now - timedelta(minutes=11), now - timedelta(minutes=12)]
    # Two must age out before fewer than five remain: the third oldest decides.
    assert rules.throttled_until(seven, 5, window, now) == now - timedelta(minutes=10) + window


def test_login_form_needs_both_fields() -> None:
    assert rules.login_errors({}) == {
        "email": "Enter your email address.",
        "password": "Enter your password.",
    }


def test_login_refuses_what_is_no_address() -> None:
    for email in ("a\x00@b.co", "x" * 300):
        assert (
            "like name@example.com"
            in rules.login_errors({"email": email, "password": "p"})["email"]
        )
