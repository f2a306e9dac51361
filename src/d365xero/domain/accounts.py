"""Portal accounts: what a person may type into the register, account and password forms, and
when a run of failed logins makes the next one wait. Pure: the forms' fields, the country codes
and the breached-password list come in; field name to message goes out."""

from __future__ import annotations

import re
from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

PASSWORD_MIN = 12
# Long passphrases are welcome; past this it is a paste accident (or an attempt to make the
# hash cost more), and argon2 would hash it all the same.
PASSWORD_MAX = 256
NAME_MAX = 100
COMPANY_MAX = 200
EMAIL_MAX = 254  # RFC 5321's path limit, less the angle brackets

PROFILE_FIELDS = ("first_name", "last_name", "email", "company", "company_phone", "country")

# A dot-atom local part and a domain of LDH labels: the addresses people have, not every
# address RFC 5322 allows (quoted local parts are refused; no one here needs them).
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# A phone number as people write one: an optional +, digits, spaces and the usual separators.
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")


def email_problem(email: str) -> str | None:
    if not email:
        return "Enter your email address."
    if len(email) > EMAIL_MAX:
        return f"An email address has at most {EMAIL_MAX} characters."
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return "Enter an email address like name@example.com."
    if len(local) > 64 or not _LOCAL.match(local):
        return "The part before @ has characters an email address cannot have."
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "The part after @ must be a domain like example.com."
    if labels[-1].isdigit():
        return "The part after @ must be a domain name, not an IP address."
    return None


def phone_problem(phone: str) -> str | None:
    if not phone:
        return "Enter your company's phone number."
    if not _PHONE.match(phone) or phone.count("+") > 1:
        return "A phone number has digits, spaces, brackets, dashes and may start with +."
    digits = sum(c.isdigit() for c in phone)
    # E.164: at most 15 digits; fewer than 7 is no one's full number.
    if not 7 <= digits <= 15:
        return "A phone number has 7 to 15 digits."
    return None


def _text_problem(value: str, what: str, most: int) -> str | None:
    if not value:
        return f"Enter your {what}."
    if len(value) > most:
        return f"Your {what} has at most {most} characters."
    if any(ord(c) < 32 for c in value):
        return f"Your {what} cannot have control characters."
    return None


def _base_word(password: str) -> str:
    """The word under the usual decorations: lower case, digits and symbols stripped from both
    ends ('Password123!' -> 'password'), which the breached list has without them."""
    return password.lower().strip("0123456789!@#$%^&*()_-+=.,?~ ")


def _repeats(password: str) -> bool:
    """One short unit over and over ('aaaaaaaaaaaa', 'abcabcabcabc'): the list leaves these
    out (zxcvbn, where it comes from, scores them by other means)."""
    size = len(password)
    return any(
        size % unit == 0 and password[:unit] * (size // unit) == password
        for unit in range(1, min(4, size // 2) + 1)
    )


def password_problem(
    password: str, *, breached: Container[str], personal: Iterable[str] = ()
) -> str | None:
    """Why the password will not do (NIST SP 800-63B: length, not known to be breached, not
    derived from the account's own details), or None."""
    if not password:
        return "Enter a password."
    if len(password) < PASSWORD_MIN:
        return (
            f"Use at least {PASSWORD_MIN} characters: a few unrelated words are easy to remember."
        )
    if len(password) > PASSWORD_MAX:
        return f"A password has at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in breached or _base_word(password) in breached or _repeats(lowered):
        return "This password is one of the most common, known from data breaches: choose another."
    for detail in personal:
        detail = detail.strip().lower()
        if len(detail) >= 3 and detail in lowered:
            return "Your password cannot contain your name or email address."
    return None


def personal_details(fields: Mapping[str, str]) -> list[str]:
    """What a password must not contain: the email, its local part, the names."""
    email = fields.get("email", "")
    return [
        email,
        email.partition("@")[0],
        fields.get("first_name", ""),
        fields.get("last_name", ""),
    ]


def profile_errors(fields: Mapping[str, str], countries: Collection[str]) -> dict[str, str]:
    """The details of the register and account forms: field name to message."""
    problems = {
        "first_name": _text_problem(fields.get("first_name", ""), "first name", NAME_MAX),
        "last_name": _text_problem(fields.get("last_name", ""), "last name", NAME_MAX),
        "email": email_problem(fields.get("email", "")),
        "company": _text_problem(fields.get("company", ""), "company's name", COMPANY_MAX),
        "company_phone": phone_problem(fields.get("company_phone", "")),
        "country": None if fields.get("country", "") in countries else "Choose your country.",
    }
    return {name: message for name, message in problems.items() if message}


def new_password_errors(
    fields: Mapping[str, str], breached: Container[str], personal: Iterable[str]
) -> dict[str, str]:
    """`password` and its `confirm`, as the register, reset and change forms send them."""
    password = fields.get("password", "")
    problem = password_problem(password, breached=breached, personal=personal)
    if problem:
        return {"password": problem}
    if fields.get("confirm", "") != password:
        return {"confirm": "The two passwords are not the same."}
    return {}


def register_errors(
    fields: Mapping[str, str], countries: Collection[str], breached: Container[str]
) -> dict[str, str]:
    errors = profile_errors(fields, countries)
    errors.update(new_password_errors(fields, breached, personal_details(fields)))
    return errors


def login_errors(fields: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    email = fields.get("email", "")
    if not email:
        errors["email"] = "Enter your email address."
    elif len(email) > EMAIL_MAX or any(ord(c) < 32 for c in email):
        # Never an account's address (and PostgreSQL refuses NUL in text even to compare).
        errors["email"] = "Enter an email address like name@example.com."
    if not fields.get("password"):
        errors["password"] = "Enter your password."
    return errors


def throttled_until(
    failures: Sequence[datetime], limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """When the next attempt may be made, if `limit` failures already fell within `window`
    (None: now). Once enough of the oldest have aged out of the window, fewer than `limit`
    remain."""
    recent = sorted(at for at in failures if at > now - window)
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + window
