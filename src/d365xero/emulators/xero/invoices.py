"""Invoices and credit notes of one organisation (they share Xero's rules for lines, totals,
numbering and status): validation, line arithmetic, numbering and the status machine
(reference/xero.md §3, §4 CreditNote)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.totals import HUNDRED, invoice_totals, line_amount, line_tax, to_dp
from d365xero.emulators.xero.wire import date_string, parse_date, parse_decimal

if TYPE_CHECKING:
    from d365xero.emulators.xero.books import Books


@dataclass(frozen=True)
class Kind:
    """A kind of document that payments or allocations settle."""

    id_field: str
    number_field: str
    types: tuple[str, str]  # (sales, purchases)
    prefix: str
    label: str
    collection: str  # the API's collection, and the key of the invoice's array of them

    @property
    def sales(self) -> str:
        return self.types[0]

    @property
    def ref(self) -> str:
        """The key naming one of these inside another resource (Payment.Invoice, ...)."""
        return self.label.replace(" ", "")


INVOICE = Kind("InvoiceID", "InvoiceNumber", ("ACCREC", "ACCPAY"), "INV-", "Invoice", "Invoices")
CREDIT_NOTE = Kind(
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCRECCREDIT", "ACCPAYCREDIT"),
    "CN-",
    "Credit Note",
    "CreditNotes",
)
# Made by BankTransactions of these types (developer.xero.com/documentation/api/accounting/
# banktransactions); they carry no number of their own.
OVERPAYMENT = Kind(
    "OverpaymentID",
    "",
    ("RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT"),
    "",
    "Overpayment",
    "Overpayments",
)
PREPAYMENT = Kind(
    "PrepaymentID",
    "",
    ("RECEIVE-PREPAYMENT", "SPEND-PREPAYMENT"),
    "",
    "Prepayment",
    "Prepayments",
)
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
LINE_AMOUNT_TYPES = {"exclusive": "Exclusive", "inclusive": "Inclusive", "notax": "NoTax"}
# Allowed moves of the status machine (reference/xero.md §3.3). PAID is never set by a client.
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": set(),
    "VOIDED": set(),
    "DELETED": set(),
}
NOT_MODIFIABLE = "Invoice not of valid status for modification"
# Read-only flags xero-python sends on every write (reference/xero.md §8); they change nothing.
SDK_FLAGS = ("HasAttachments", "HasErrors", "HasValidationErrors")
# What may still change on a document with a payment or credit applied: header fields only
# (reference/xero.md §3.3, summarising Xero's Invoices page; line descriptions, accounts and
# tracking are editable in Xero too, but not emulated).
LIMITED_EDITS = {
    "InvoiceID",
    "InvoiceNumber",
    "CreditNoteID",
    "CreditNoteNumber",
    "Type",
    "Status",
    "Reference",
    "DueDate",
    "BrandingThemeID",
    "Url",
    "SentToContact",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
    *SDK_FLAGS,
}
# Xero's wording, github.com/waynerobinson/xeroizer/pull/211.
HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."


@dataclass
class Resolved:
    """A validated invoice element, ready to commit."""

    fields: dict[str, Any]
    contact_id: str | None = None
    new_contact_name: str | None = None
    errors: list[str] = field(default_factory=list)


def _text(data: dict[str, Any], key: str, limit: int, errors: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(f"{key} must be a string.")
        return None
    if len(value) > limit:
        errors.append(f"{key} must not be more than {limit} characters long.")
        return None
    return value


class InvoiceBook:
    def __init__(self, books: Books, kind: Kind = INVOICE) -> None:
        self.books = books
        self.kind = kind
        self.invoices: dict[str, dict[str, Any]] = {}
        self.next_number = 1

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        if not isinstance(invoice_id, str):
            return None
        found = self.invoices.get(invoice_id.lower())
        if found:
            return found
        # Xero also accepts an InvoiceNumber where an InvoiceID goes (reference/xero.md §3.1).
        return self.by_number(invoice_id)

    def by_number(self, number: str) -> dict[str, Any] | None:
        for invoice in self.invoices.values():
            if (
                invoice["Type"] == self.kind.sales
                and invoice.get(self.kind.number_field) == number
                and invoice["Status"] != "DELETED"
            ):
                return invoice
        return None

    def find_for_update(self, data: dict[str, Any]) -> dict[str, Any] | None:
        kind = self.kind
        if data.get(kind.id_field):
            found = self.invoices.get(str(data[kind.id_field]).lower())
            if found is None:
                raise ElementInvalid(
                    f"{kind.label} with ID {data[kind.id_field]} could not be found."
                )
            return found
        number = data.get(kind.number_field)
        if isinstance(number, str) and data.get("Type", kind.sales) == kind.sales:
            return self.by_number(number)
        return None

    # --- numbering -----------------------------------------------------------------------

    def _number_taken(self, number: str, own_id: str | None) -> bool:
        other = self.by_number(number)
        return other is not None and other[self.kind.id_field] != own_id

    def _auto_number(self) -> str:
        while True:
            number = f"{self.kind.prefix}{self.next_number:04d}"
            self.next_number += 1
            if not self._number_taken(number, None):
                return number

    # --- lines ---------------------------------------------------------------------------

    def line(
        self, raw: Any, invoice_type: str, lat: str, unitdp: int, errors: list[str]
    ) -> dict[str, Any] | None:
        """One line item, computed as Xero does; problems are appended to `errors`. Bank
        transactions price their lines this way too."""
        if not isinstance(raw, dict):
            errors.append("Each line item must be an object.")
            return None
        line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or uuid.uuid4())}
        defaults = self._item_defaults(raw, line, invoice_type == self.kind.sales, errors)
        if defaults is None:
            return None
        numbers = _numbers(raw, errors)
        quantity, unit = _quantity_and_unit(numbers, defaults, "Description" in line, errors)
        line["Quantity"] = to_dp(quantity, 4)
        line["UnitAmount"] = to_dp(unit, unitdp)
        _discounts(line, numbers, invoice_type, errors)
        tax_rate = self._account_and_tax(raw, line, defaults, errors)
        self._tracking(raw, line, errors)
        rate, discount = numbers["DiscountRate"], numbers["DiscountAmount"]
        amount = line_amount(line["Quantity"], line["UnitAmount"], rate, discount)
        if numbers["LineAmount"] is not None and rate is None and discount is None:
            amount = to_dp(numbers["LineAmount"], 2)
        line["LineAmount"] = amount
        line["TaxAmount"] = line_tax(amount, tax_rate, lat)
        given_tax = raw.get("TaxAmount")
        if given_tax is not None and lat != "NoTax":
            override = parse_decimal(given_tax)
            if override is None:
                errors.append("TaxAmount must be a number.")
            else:  # TaxAmount is auto-calculated but overridable (spec LineItem).
                line["TaxAmount"] = to_dp(override, 2)
        return line

    def _item_defaults(
        self, raw: dict[str, Any], line: dict[str, Any], sales: bool, errors: list[str]
    ) -> dict[str, Any] | None:
        """The item's sales (ACCREC) or purchase (ACCPAY) details a line falls back on; None
        when the ItemCode is unknown. Sets the line's Description, ItemCode and Item."""
        description = _text(raw, "Description", 4000, errors)
        defaults: dict[str, Any] = {}
        item_code = raw.get("ItemCode")
        if item_code:
            item = self.books.items.by_code(item_code) if isinstance(item_code, str) else None
            if item is None:
                errors.append(f"Item code '{item_code}' is not valid.")
                return None
            line["ItemCode"] = item["Code"]
            line["Item"] = {"ItemID": item["ItemID"], "Name": item["Name"], "Code": item["Code"]}
            defaults = item["SalesDetails" if sales else "PurchaseDetails"]
            if description is None:
                key = "Description" if sales else "PurchaseDescription"
                description = item.get(key) or item.get("Description")
        if description is not None:
            line["Description"] = description
        return defaults

    def _account_and_tax(
        self,
        raw: dict[str, Any],
        line: dict[str, Any],
        defaults: dict[str, Any],
        errors: list[str],
    ) -> Decimal:
        """Sets AccountCode and TaxType (the line's own, else the item's, else the account's
        default tax) and returns the tax rate in percent."""
        books = self.books
        account_code = raw.get("AccountCode") or defaults.get("AccountCode")
        account = None
        if account_code:
            account = books.account(account_code) if isinstance(account_code, str) else None
            if account is None:
                errors.append(
                    f"Account code '{account_code}' is not a valid code for this document."
                )
            else:
                line["AccountCode"] = account["Code"]
                line["AccountID"] = account["AccountID"]
        tax_type = raw.get("TaxType") or defaults.get("TaxType")
        if not tax_type and account is not None:
            tax_type = account.get("TaxType")
        if not tax_type:
            return Decimal(0)
        rate_row = books.tax_rate(tax_type) if isinstance(tax_type, str) else None
        if rate_row is None:
            errors.append(f"The TaxType code '{tax_type}' is not valid")
            return Decimal(0)
        line["TaxType"] = rate_row["TaxType"]
        rate: Decimal = rate_row["EffectiveRate"]
        return rate

    def _tracking(self, raw: dict[str, Any], line: dict[str, Any], errors: list[str]) -> None:
        tracking = raw.get("Tracking") or []
        if not isinstance(tracking, list) or len(tracking) > 2:  # max 2 (spec LineItem)
            errors.append("A line item can have a maximum of 2 tracking categories.")
            tracking = []
        line["Tracking"] = []
        for entry in tracking:
            try:
                line["Tracking"].append(self.books.tracking(entry))
            except ElementInvalid as exc:
                errors.extend(exc.messages)

    # --- validate and commit ---------------------------------------------------------------

    def resolve(
        self, data: dict[str, Any], existing: dict[str, Any] | None, unitdp: int, today: date
    ) -> Resolved:
        """Check one element against Xero's rules; nothing is changed yet."""
        errors: list[str] = []
        merged = self._merge(data, existing)
        invoice_type, status = self._type_and_status(merged, data, existing, errors)
        resolved = Resolved(fields={"Status": status})
        self.resolve_contact(merged.get("Contact"), resolved, errors)
        fields = resolved.fields
        lat_raw = merged.get("LineAmountTypes") or "Exclusive"
        fields["LineAmountTypes"] = LINE_AMOUNT_TYPES.get(str(lat_raw).lower(), "Exclusive")
        if str(lat_raw).lower() not in LINE_AMOUNT_TYPES:
            errors.append(f"LineAmountTypes '{lat_raw}' is not valid.")
        for key in ("Date", "DueDate"):
            fields[key] = _date_field(merged, key, errors)
        fields["Date"] = fields["Date"] or today
        for key, limit in (("Reference", 255), ("Url", 2000)):
            fields[key] = _text(merged, key, limit, errors)
        fields[self.kind.number_field] = self._number(merged, invoice_type, existing, errors)
        self._currency(merged, fields, errors)
        theme = merged.get("BrandingThemeID")
        if theme and not self.books.branding_theme(theme):
            errors.append(f"Branding theme '{theme}' could not be found.")
        fields["BrandingThemeID"] = theme
        fields["LineItems"] = self._lines(merged, invoice_type, status, fields, unitdp, errors)
        if not fields["DueDate"] and status == "AUTHORISED" and invoice_type == "ACCREC":
            fields["DueDate"] = self.books.due_date_by_terms(fields["Date"])
        resolved.errors = list(dict.fromkeys(errors))
        return resolved

    def _type_and_status(
        self,
        merged: dict[str, Any],
        data: dict[str, Any],
        existing: dict[str, Any] | None,
        errors: list[str],
    ) -> tuple[str, str]:
        kind = self.kind
        invoice_type = merged.get("Type")
        if invoice_type is None:
            errors.append(f"{kind.label} Type must be specified")
        elif invoice_type not in kind.types:
            errors.append(f"{kind.label} Type '{invoice_type}' is not valid")
            invoice_type = None
        status = merged.get("Status") or "DRAFT"
        if not isinstance(status, str) or status not in TRANSITIONS:
            errors.append(f"Status '{status}' is not valid.")
            return invoice_type or kind.sales, "DRAFT"
        if existing is None and status not in CREATE_STATUSES:
            errors.append(f"{kind.label}s cannot be created with status {status}.")
        if existing is not None:
            errors += self._transition_errors(existing, data, status, kind)
        return invoice_type or kind.sales, status

    def _number(
        self,
        merged: dict[str, Any],
        invoice_type: str,
        existing: dict[str, Any] | None,
        errors: list[str],
    ) -> str | None:
        kind = self.kind
        number = _text(merged, kind.number_field, 255, errors)
        if number and invoice_type == kind.sales:
            own = existing[kind.id_field] if existing else None
            if self._number_taken(number, own):
                errors.append(f"{kind.label} # must be unique.")
        return number

    def _currency(self, merged: dict[str, Any], fields: dict[str, Any], errors: list[str]) -> None:
        books = self.books
        currency = merged.get("CurrencyCode") or books.base_currency
        if not isinstance(currency, str) or not books.currency_known(currency):
            errors.append(f"The currency code '{currency}' is not valid")
            currency = books.base_currency
        fields["CurrencyCode"] = currency
        rate = merged.get("CurrencyRate")
        fields["CurrencyRate"] = (
            parse_decimal(rate) if rate is not None else books.currency_rate(currency)
        )
        if fields["CurrencyRate"] is None or fields["CurrencyRate"] <= 0:
            errors.append("CurrencyRate must be a positive number.")

    def _lines(
        self,
        merged: dict[str, Any],
        invoice_type: str,
        status: str,
        fields: dict[str, Any],
        unitdp: int,
        errors: list[str],
    ) -> list[dict[str, Any]]:
        raw_lines = merged.get("LineItems")
        if not isinstance(raw_lines, list) or not raw_lines:
            errors.append("One or more line items must be specified")
            raw_lines = []
        lat = fields["LineAmountTypes"]
        computed = [self.line(raw, invoice_type, lat, unitdp, errors) for raw in raw_lines]
        lines = [line for line in computed if line is not None]
        # Approving needs an account on every line that carries an amount.
        if status in ("SUBMITTED", "AUTHORISED") and any(
            line["LineAmount"] and "AccountCode" not in line for line in lines
        ):
            errors.append("Account code '' is not a valid code for this document.")
        return lines

    @staticmethod
    def _merge(data: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        if existing is None:
            return data
        merged = {k: v for k, v in existing.items() if not k.startswith("_")}
        merged["Contact"] = {"ContactID": existing["_contact_id"]}
        # Kept lines are recomputed, so their derived amounts must not pose as overrides.
        merged["LineItems"] = [
            {k: v for k, v in line.items() if k not in ("LineAmount", "TaxAmount")}
            for line in existing["LineItems"]
        ]
        merged.update({k: v for k, v in data.items() if v is not None})
        if "Type" in data and data["Type"] != existing["Type"]:
            merged["Type"] = data["Type"]
        return merged

    @staticmethod
    def _transition_errors(
        existing: dict[str, Any], data: dict[str, Any], status: str, kind: Kind
    ) -> list[str]:
        current = existing["Status"]
        if status == "PAID" and current != "PAID":
            return [f"{kind.label} status cannot be set to PAID; it is paid by applying payments."]
        settled = existing["_paid"] or existing["_credited"]
        if settled and status == current and current in ("AUTHORISED", "PAID"):
            # With a payment or credit applied only a few header fields may change.
            return [] if set(data) <= LIMITED_EDITS else [HAS_PAYMENTS]
        if settled and status == "VOIDED":
            return [HAS_PAYMENTS]
        if status not in TRANSITIONS[current] and not (status == current and _only_status(data)):
            if status == "DELETED":
                return [f"Only DRAFT or SUBMITTED {kind.label.lower()}s can be deleted."]
            if status == "VOIDED" and current in ("DRAFT", "SUBMITTED"):
                return [f"Only AUTHORISED {kind.label.lower()}s can be voided."]
            return [NOT_MODIFIABLE.replace("Invoice", kind.label)]
        if data.get("Type") and data["Type"] != existing["Type"]:
            return ["The Type of an invoice cannot be changed."]
        return []

    def resolve_contact(self, raw: Any, resolved: Resolved, errors: list[str]) -> None:
        """Sets resolved.contact_id, or new_contact_name when Xero would create the contact."""
        if not isinstance(raw, dict) or not any(
            raw.get(k) for k in ("ContactID", "Name", "ContactNumber")
        ):
            errors.append("A Contact must be specified for this type of transaction")
            return
        contacts = self.books.contacts
        if raw.get("ContactID"):
            contact = contacts.get(str(raw["ContactID"]))
            if contact is None:
                errors.append(
                    f"The ContactID {raw['ContactID']} does not exist in the organisation."
                )
                return
        elif isinstance(raw.get("ContactNumber"), str) and contacts.by_number(raw["ContactNumber"]):
            contact = contacts.by_number(raw["ContactNumber"])
        elif isinstance(raw.get("Name"), str) and raw["Name"].strip():
            contact = contacts.by_name(raw["Name"].strip())
            if contact is None:
                # Xero creates the contact when the name is new (reference/xero.md §3.4).
                resolved.new_contact_name = raw["Name"].strip()
                return
        else:
            errors.append("A Contact must be specified for this type of transaction")
            return
        assert contact is not None
        resolved.contact_id = contact["ContactID"]

    def commit(
        self,
        resolved: Resolved,
        existing: dict[str, Any] | None,
        data: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        fields = resolved.fields
        if resolved.new_contact_name:
            contact = self.books.contacts.create({"Name": resolved.new_contact_name}, now)
            resolved.contact_id = contact["ContactID"]
        kind = self.kind
        invoice: dict[str, Any] = (
            existing
            if existing is not None
            else {
                kind.id_field: str(uuid.uuid4()),
                "Type": data["Type"],
                "Payments": [],
                "HasAttachments": False,
                "HasErrors": False,
                "SentToContact": False,
                "_paid": Decimal("0.00"),
                "_credited": Decimal("0.00"),
                "_created": now,
            }
        )
        if existing is None and kind is INVOICE:
            invoice.update({"CreditNotes": [], "Prepayments": [], "Overpayments": []})
        elif existing is None:
            invoice["Allocations"] = []
        if not fields[kind.number_field] and invoice["Type"] == kind.sales:
            fields[kind.number_field] = invoice.get(kind.number_field) or self._auto_number()
        invoice["_contact_id"] = resolved.contact_id
        for key in (kind.number_field, "Reference", "Url", "BrandingThemeID"):
            if fields[key]:
                invoice[key] = fields[key]
            else:
                invoice.pop(key, None)
        invoice["Status"] = fields["Status"]
        invoice["LineAmountTypes"] = fields["LineAmountTypes"]
        invoice["Date"] = fields["Date"]
        invoice["DateString"] = date_string(fields["Date"])
        if fields["DueDate"]:
            invoice["DueDate"] = fields["DueDate"]
            invoice["DueDateString"] = date_string(fields["DueDate"])
        invoice["CurrencyCode"] = fields["CurrencyCode"]
        invoice["CurrencyRate"] = fields["CurrencyRate"]
        invoice["LineItems"] = fields["LineItems"]
        self._total(invoice)
        invoice["UpdatedDateUTC"] = now
        self.invoices[invoice[kind.id_field]] = invoice
        party = self.books.contacts.get(resolved.contact_id or "")
        if party is not None:
            party["IsCustomer" if invoice["Type"] == kind.sales else "IsSupplier"] = True
        return invoice

    def _total(self, invoice: dict[str, Any]) -> None:
        lines = invoice["LineItems"]
        totals = invoice_totals(
            [(line["LineAmount"], line["TaxAmount"]) for line in lines], invoice["LineAmountTypes"]
        )
        invoice["SubTotal"] = totals.sub_total
        invoice["TotalTax"] = totals.total_tax
        invoice["Total"] = totals.total
        discount = sum(
            (line["Quantity"] * line["UnitAmount"] - line["LineAmount"] for line in lines),
            Decimal(0),
        )
        if self.kind is INVOICE:
            invoice["TotalDiscount"] = to_dp(discount, 2)
            invoice["IsDiscounted"] = discount != 0
        settle(invoice, self.kind)


def settle(document: dict[str, Any], kind: Kind, on: date | None = None) -> None:
    """Amounts left after payments and allocations; PAID (automatic, never set by a client) when
    nothing is left, and back to AUTHORISED when a payment or allocation is removed
    (reference/xero.md §3.3)."""
    left = document["Total"] - document["_paid"] - document["_credited"]
    if document["Status"] in ("VOIDED", "DELETED"):
        left = Decimal("0.00")
    if kind is INVOICE:
        document["AmountPaid"] = document["_paid"]
        document["AmountCredited"] = document["_credited"]
        document["AmountDue"] = left
    else:
        document["RemainingCredit"] = left
        document["AppliedAmount"] = document["_credited"]
    settled = document["_paid"] or document["_credited"]
    if document["Status"] == "AUTHORISED" and left == 0 and settled:
        document["Status"] = "PAID"
        if on is not None:
            document["FullyPaidOnDate"] = on
    elif document["Status"] == "PAID" and left != 0:
        document["Status"] = "AUTHORISED"
        document.pop("FullyPaidOnDate", None)


def _date_field(merged: dict[str, Any], key: str, errors: list[str]) -> date | None:
    value = merged.get(key)
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, date) else parse_date(value)
    if parsed is None:
        errors.append(f"{key} '{value}' is not a valid date.")
    return parsed


def _numbers(raw: dict[str, Any], errors: list[str]) -> dict[str, Decimal | None]:
    numbers: dict[str, Decimal | None] = {}
    for key in ("Quantity", "UnitAmount", "LineAmount", "DiscountRate", "DiscountAmount"):
        value = raw.get(key)
        numbers[key] = None if value is None else parse_decimal(value)
        if value is not None and numbers[key] is None:
            errors.append(f"{key} must be a number.")
    return numbers


def _quantity_and_unit(
    numbers: dict[str, Decimal | None],
    defaults: dict[str, Any],
    described: bool,
    errors: list[str],
) -> tuple[Decimal, Decimal]:
    """A line with neither is description-only (spec LineItem.Description); with LineAmount
    Xero derives the missing factor (spec LineItem.LineAmount)."""
    quantity, unit = numbers["Quantity"], numbers["UnitAmount"]
    if unit is None and defaults.get("UnitPrice") is not None:
        unit = defaults["UnitPrice"]
    given = numbers["LineAmount"]
    if quantity is None and unit is None and given is None:
        if not described:
            errors.append("Description must be specified for a line item.")
        return Decimal(0), Decimal(0)
    if given is not None:
        if quantity is None and unit is None:
            quantity, unit = Decimal(1), given
        elif quantity is None:
            quantity = to_dp(given / unit, 4) if unit else Decimal(1)
        elif unit is None:
            unit = to_dp(given / quantity, 4) if quantity else Decimal(0)
    return (Decimal(1) if quantity is None else quantity), (Decimal(0) if unit is None else unit)


def _discounts(
    line: dict[str, Any],
    numbers: dict[str, Decimal | None],
    invoice_type: str,
    errors: list[str],
) -> None:
    rate, discount = numbers["DiscountRate"], numbers["DiscountAmount"]
    if (rate or discount) and invoice_type != "ACCREC":  # ACCREC and quotes only (spec)
        errors.append("Discounts are only supported on ACCREC invoices.")
    if rate is not None:
        if rate < 0 or rate > HUNDRED:
            errors.append(
                f"The discount rate '{rate}' is invalid. "
                "Discount must not be greater than the line total."
            )
        line["DiscountRate"] = rate
    if discount is not None:
        if discount < 0 or discount > abs(line["Quantity"] * line["UnitAmount"]):
            errors.append(
                f"The discount amount '{discount}' is invalid. "
                "Discount must not be greater than the line total."
            )
        line["DiscountAmount"] = discount


def _only_status(data: dict[str, Any]) -> bool:
    return set(data) <= {
        "InvoiceID",
        "InvoiceNumber",
        "CreditNoteID",
        "CreditNoteNumber",
        "Status",
        "Type",
        *SDK_FLAGS,
    }


def due_by_terms(day: int, invoice_date: date) -> date:
    """Day `day` of the month after `invoice_date` (Xero's OFFOLLOWINGMONTH terms)."""
    first_next = (invoice_date.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next.replace(day=min(day, 28))
