"""Contacts of one organisation: creation, update and Xero's uniqueness rules
(reference/xero.md §3.4 and §4)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from d365xero.emulators.xero.errors import ElementInvalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_FIELDS = {
    "Name": 255,
    "FirstName": 255,
    "LastName": 255,
    "EmailAddress": 255,
    "ContactNumber": 50,
    "AccountNumber": 50,
    "CompanyNumber": 50,
    "TaxNumber": 50,
    "BankAccountDetails": 255,
    "Website": 255,
    "DefaultCurrency": 3,
    "AccountsReceivableTaxType": 50,
    "AccountsPayableTaxType": 50,
    "SalesDefaultAccountCode": 10,
    "PurchasesDefaultAccountCode": 10,
}
_LIST_FIELDS = ("Addresses", "Phones", "ContactPersons")
_STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")


def duplicate_name_message(name: str) -> str:
    # Xero's wording, quoted in github.com/Pinelab-studio/pinelab-vendure-plugins/issues/505.
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of `data` Xero would store, type-checked; raises ElementInvalid."""
    errors: list[str] = []
    fields: dict[str, Any] = {}
    for name, limit in _TEXT_FIELDS.items():
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if not isinstance(value, str):
            errors.append(f"{name} must be a string.")
        elif len(value) > limit:
            errors.append(f"{name} must not be more than {limit} characters long.")
        else:
            fields[name] = value
    for name in _LIST_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            errors.append(f"{name} must be a list.")
        else:
            fields[name] = value
    status = data.get("ContactStatus")
    if status is not None:
        if status not in _STATUSES:
            errors.append(f"ContactStatus '{status}' is not valid.")
        else:
            fields["ContactStatus"] = status
    email = fields.get("EmailAddress")
    if email and not _EMAIL.match(email):
        errors.append("Email address must be valid.")
    if errors:
        raise ElementInvalid(*errors)
    return fields


class ContactBook:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}

    def get(self, contact_id: str) -> dict[str, Any] | None:
        return self.contacts.get(contact_id.lower()) if isinstance(contact_id, str) else None

    def by_name(self, name: str) -> dict[str, Any] | None:
        for contact in self.contacts.values():
            if contact["ContactStatus"] == "ACTIVE" and contact["Name"].lower() == name.lower():
                return contact
        return None

    def by_number(self, number: str) -> dict[str, Any] | None:
        for contact in self.contacts.values():
            if contact.get("ContactNumber") == number:
                return contact
        return None

    def find_for_update(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """POST /Contacts updates the contact named by ContactID, ContactNumber or Name."""
        if data.get("ContactID"):
            found = self.get(data["ContactID"])
            if found is None:
                raise ElementInvalid(
                    f"The ContactID {data['ContactID']} does not exist in the organisation."
                )
            return found
        if isinstance(data.get("ContactNumber"), str) and data["ContactNumber"]:
            found = self.by_number(data["ContactNumber"])
            if found:
                return found
        if isinstance(data.get("Name"), str):
            return self.by_name(data["Name"])
        return None

    def _check_unique(self, fields: dict[str, Any], own_id: str | None) -> None:
        name = fields.get("Name")
        if name:
            other = self.by_name(name)
            if other and other["ContactID"] != own_id:
                raise ElementInvalid(duplicate_name_message(name))
        number = fields.get("ContactNumber")
        if number:
            other = self.by_number(number)
            if other and other["ContactID"] != own_id:
                raise ElementInvalid(
                    f"The contact number {number} is already assigned to another contact."
                )

    def validate_new(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = _clean(data)
        if not fields.get("Name", "").strip():
            raise ElementInvalid("The contact name must be specified.")
        self._check_unique(fields, None)
        return fields

    def create(self, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        fields = self.validate_new(data)
        contact_id = str(uuid.uuid4())
        contact: dict[str, Any] = {
            "ContactID": contact_id,
            "ContactStatus": "ACTIVE",
            "Name": fields.pop("Name").strip(),
            "Addresses": [],
            "Phones": [],
            "ContactPersons": [],
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
            "UpdatedDateUTC": now,
        }
        contact.update(fields)
        self.contacts[contact_id] = contact
        return contact

    def update(self, contact: dict[str, Any], data: dict[str, Any], now: datetime) -> None:
        fields = _clean(data)
        if "Name" in fields and not fields["Name"].strip():
            raise ElementInvalid("The contact name must be specified.")
        if fields.get("ContactStatus", contact["ContactStatus"]) == "ACTIVE":
            merged = {"Name": contact["Name"], **fields}
            self._check_unique(merged, contact["ContactID"])
        contact.update(fields)
        contact["UpdatedDateUTC"] = now
