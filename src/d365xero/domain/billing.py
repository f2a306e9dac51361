"""Billing details (the guide's "Set Up Billing" form): what each field holds and the message a
wrong value gets, beside its field. Pure: a mapping of form values in, the cleaned details or
the messages out; nothing typed is lost (the caller shows the form again with the values)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class BillingDetails:
    first_name: str
    last_name: str
    email: str
    company_phone: str
    company_position: str
    company: str
    vat_exempt: bool
    address_line1: str
    address_line2: str
    address_line3: str
    city: str
    county: str
    postcode: str
    country: str


# The guide's labels, in its order; the form's field names are the dataclass's.
LABELS: dict[str, str] = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email Address",
    "company_phone": "Company Phone Number",
    "company_position": "Company Position",
    "company": "Company",
    "vat_exempt": "Company VAT exempt",
    "address_line1": "Address Line 1",
    "address_line2": "Address Line 2",
    "address_line3": "Address Line 3",
    "city": "City",
    "county": "County/State",
    "postcode": "Postcode/ZIP Code",
    "country": "Country",
}
REQUIRED = ("first_name", "last_name", "email", "company", "address_line1", "city", "country")
MAX_LENGTH = 200  # any text field; an e-mail address may be up to 254 (RFC 5321 path limit)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")
_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$")
_TRUE = frozenset({"on", "true", "1", "yes"})


def _field_problem(name: str, value: str) -> str | None:
    label = LABELS[name]
    if not value:
        return f"{label} is required" if name in REQUIRED else None
    limit = 254 if name == "email" else MAX_LENGTH
    if len(value) > limit:
        return f"{label} must be at most {limit} characters"
    if any(ord(c) < 32 for c in value):
        return f"{label} must be one line of text"
    if name == "email" and not _EMAIL.match(value):
        return "Email Address must look like name@example.com"
    if name == "company_phone" and not _PHONE.match(value):
        return "Company Phone Number may hold digits, spaces, + ( ) - . / only (6 to 30)"
    if name == "postcode" and not _POSTCODE.match(value):
        return "Postcode/ZIP Code must be 2 to 12 letters, digits, spaces or hyphens"
    return None


def parse_details(form: Mapping[str, str]) -> tuple[BillingDetails | None, dict[str, str]]:
    """The details, or None and a message per wrong field (keyed by field name). Text is
    trimmed; a ticked "Company VAT exempt" box arrives as "on"."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for item in fields(BillingDetails):
        raw = form.get(item.name, "")
        if item.name == "vat_exempt":
            values[item.name] = str(raw).strip().lower() in _TRUE
            continue
        text = str(raw).strip()
        if item.name == "email":
            text = text.lower()
        problem = _field_problem(item.name, text)
        if problem:
            errors[item.name] = problem
        values[item.name] = text
    if errors:
        return None, errors
    return BillingDetails(**values), {}  # type: ignore[arg-type]


def blank_details(email: str = "") -> dict[str, str]:
    """An empty form, with the account's e-mail filled in."""
    return {name: (email if name == "email" else "") for name in LABELS}
