"""Editing a connection's Connector Settings (its dxc_setting row) from the portal: what a form
may hold, and what to write when Dynamics changed the row meanwhile.

Values are plain text, one per field: "Yes"/"No", an invoice status's label, an account's row
id in Dynamics, a time zone's name, the field mappings' JSON.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

YES_NO = ("Yes", "No")
STATUSES = ("Draft", "Submitted", "Authorised")
CHOICES = (
    "use_xero_invoice_number",
    "create_contacts",
    "create_products",
    "create_credit_note",
)
ACCOUNTS = ("default_sales_account", "default_purchase_account")
FIELDS = (
    "use_xero_invoice_number",
    "create_contacts",
    "create_products",
    "default_status",
    "default_sales_account",
    "default_purchase_account",
    "create_credit_note",
    "timezone",
)


@dataclass(frozen=True)
class AccountChoice:
    """An active Xero account code, as imported into Dynamics (dxc_chartofaccount)."""

    row_id: str
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"


def validate(
    form: Mapping[str, str], accounts: Mapping[str, AccountChoice], zones: Collection[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(the values, the errors by field) of a submitted settings form; `accounts` by row id,
    `zones` the time zones there are."""
    values = {name: form.get(name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    for name in CHOICES:
        if values[name] not in YES_NO:
            errors[name] = "Choose Yes or No."
    if values["default_status"] not in STATUSES:
        errors["default_status"] = "Choose Draft, Submitted or Authorised."
    for name in ACCOUNTS:
        if not accounts:
            errors[name] = (
                "Dynamics has no Xero account codes yet: import Account Codes in the "
                "Synchronisation Center first."
            )
        elif values[name] not in accounts:
            errors[name] = "Choose one of the Xero account codes listed."
    zone = values["timezone"]
    if not zone:
        errors["timezone"] = "Give the time zone of your Dynamics and Xero, e.g. Europe/London."
    elif zone not in zones:
        errors["timezone"] = (
            f'"{zone[:64]}" is not a time zone name; use one like Europe/London or '
            "America/New_York."
        )
    return values, errors


@dataclass(frozen=True)
class Merge:
    """What to write, and the fields where Dynamics' newer value wins over the portal's."""

    write: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, str] = field(default_factory=dict)  # field -> what Dynamics has


def merge(base: Mapping[str, str], mine: Mapping[str, str], theirs: Mapping[str, str]) -> Merge:
    """Three-way: `base` what the form was loaded with, `mine` what it sent, `theirs` what
    Dynamics has now. A field only the portal changed is written; one Dynamics changed stays
    as Dynamics has it; one both changed (to different values) is Dynamics' and a conflict."""
    write, conflicts = {}, {}
    for name, value in mine.items():
        was, now = base.get(name, ""), theirs.get(name, "")
        if value in (was, now):
            continue  # the portal left it alone, or both agree
        if now != was:
            conflicts[name] = now
        else:
            write[name] = value
    return Merge(write, conflicts)
