"""Payments against invoices (and refunds against credit notes), and credit note allocations:
what moves AmountDue, RemainingCredit and the automatic PAID status (reference/xero.md §4
Payment, Allocate credit note)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.invoices import CREDIT_NOTE, INVOICE, Kind, settle
from d365xero.emulators.xero.totals import money
from d365xero.emulators.xero.wire import parse_date, parse_decimal

if TYPE_CHECKING:
    from d365xero.emulators.xero.books import Books

# Xero's wording (reference/xero.md §4 Payment, §4 Allocate; secondary sources cited there).
NOT_AUTHORISED = "Payments can only be made against Authorised documents"
# Xero's API takes no payment above the amount due (an overpayment is a BankTransaction of type
# RECEIVE-OVERPAYMENT instead): "it is not possible to post payment amount that are larger than
# the amount owed via API" - Xero support, quoted in github.com/calcinai/xero-php/issues/534.
TOO_MUCH = "Payment amount exceeds the amount outstanding on this document"
ALLOCATION_TOO_MUCH = "Credit Note cannot be allocated as amount is greater than amount outstanding"
ALREADY_PAID = "The invoice you are trying to allocate to has already been paid off"
PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}


def _amount(raw: Any, label: str = "Amount") -> Decimal:
    value = parse_decimal(raw)
    if value is None:
        raise ElementInvalid(f"{label} must be specified as a number.")
    if value <= 0:
        raise ElementInvalid(f"{label} must be greater than zero.")
    return money(value)


def _date(raw: Any, today: date) -> date:
    if raw is None or raw == "":
        return today
    parsed = parse_date(raw)
    if parsed is None:
        raise ElementInvalid(f"Date '{raw}' is not a valid date.")
    return parsed


def _left(document: dict[str, Any], kind: Kind) -> Decimal:
    key = "AmountDue" if kind is INVOICE else "RemainingCredit"
    amount: Decimal = document[key]
    return amount


class PaymentBook:
    def __init__(self, books: Books) -> None:
        self.books = books
        self.payments: dict[str, dict[str, Any]] = {}

    def get(self, payment_id: str) -> dict[str, Any] | None:
        return self.payments.get(payment_id.lower()) if isinstance(payment_id, str) else None

    def _target(self, data: dict[str, Any]) -> tuple[dict[str, Any], Kind]:
        books = self.books
        for key, book, kind in (
            ("Invoice", books.invoices, INVOICE),
            ("CreditNote", books.credit_notes, CREDIT_NOTE),
        ):
            ref = data.get(key)
            if not isinstance(ref, dict):
                continue
            document = None
            if ref.get(kind.id_field):
                document = book.invoices.get(str(ref[kind.id_field]).lower())
            elif isinstance(ref.get(kind.number_field), str):
                document = book.by_number(ref[kind.number_field])
            if document is None:
                raise ElementInvalid(f"{kind.label} could not be found")
            return document, kind
        raise ElementInvalid("You must specify an Invoice or a Credit Note for the payment.")

    def _account(self, raw: Any) -> dict[str, Any]:
        account = None
        if isinstance(raw, dict):
            if raw.get("AccountID"):
                wanted = str(raw["AccountID"]).lower()
                account = next(
                    (a for a in self.books.accounts.values() if a["AccountID"] == wanted), None
                )
            elif isinstance(raw.get("Code"), str):
                account = self.books.account(raw["Code"])
        if account is None or account["Status"] != "ACTIVE":
            raise ElementInvalid("Account could not be found")
        # Payments go to a bank account or one enabled for payments (spec Account fields).
        if account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
            raise ElementInvalid(
                f"Account {account['Code']} is not a bank account or enabled for payments."
            )
        return account

    def create(self, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        document, kind = self._target(data)
        if document["Status"] != "AUTHORISED":
            raise ElementInvalid(NOT_AUTHORISED)
        amount = _amount(data.get("Amount"))
        if amount > _left(document, kind):
            raise ElementInvalid(TOO_MUCH)
        account = self._account(data.get("Account"))
        on = _date(data.get("Date"), self.books.today())
        reference = data.get("Reference") if isinstance(data.get("Reference"), str) else None
        rate = parse_decimal(data.get("CurrencyRate")) or document["CurrencyRate"]
        payment: dict[str, Any] = {
            "PaymentID": str(uuid.uuid4()),
            "Date": on,
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": rate,
            "PaymentType": PAYMENT_TYPES[document["Type"]],
            "Status": "AUTHORISED",
            "IsReconciled": False,
            "HasAccount": True,
            "HasValidationErrors": False,
            "UpdatedDateUTC": now,
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "_target": (kind.id_field, document[kind.id_field]),
        }
        if reference:
            payment["Reference"] = reference
        self.payments[payment["PaymentID"]] = payment
        document["_paid"] += amount
        document["Payments"].append(self._summary(payment))
        settle(document, kind, on)
        document["UpdatedDateUTC"] = now
        return payment

    def delete(self, payment: dict[str, Any], now: datetime) -> None:
        """POST /Payments/{id} {"Status":"DELETED"}: the document owes the amount again."""
        if payment["Status"] == "DELETED":
            raise ElementInvalid("This payment has already been deleted.")
        document, kind = self.document_of(payment)
        payment["Status"] = "DELETED"
        payment["UpdatedDateUTC"] = now
        document["_paid"] -= payment["Amount"]
        document["Payments"] = [
            p for p in document["Payments"] if p["PaymentID"] != payment["PaymentID"]
        ]
        settle(document, kind)
        document["UpdatedDateUTC"] = now

    def document_of(self, payment: dict[str, Any]) -> tuple[dict[str, Any], Kind]:
        id_field, document_id = payment["_target"]
        if id_field == INVOICE.id_field:
            return self.books.invoices.invoices[document_id], INVOICE
        return self.books.credit_notes.invoices[document_id], CREDIT_NOTE

    @staticmethod
    def _summary(payment: dict[str, Any]) -> dict[str, Any]:
        keys = ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate", "HasAccount")
        summary = {k: payment[k] for k in keys if k in payment}
        summary["HasValidationErrors"] = False
        return summary

    # --- credit note allocations -------------------------------------------------------------

    def allocate(
        self, credit_note: dict[str, Any], data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        if credit_note["Status"] != "AUTHORISED":
            raise ElementInvalid("Only AUTHORISED credit notes can be allocated.")
        ref = data.get("Invoice")
        invoice = None
        if isinstance(ref, dict) and ref.get("InvoiceID"):
            invoice = self.books.invoices.invoices.get(str(ref["InvoiceID"]).lower())
        elif isinstance(ref, dict) and isinstance(ref.get("InvoiceNumber"), str):
            invoice = self.books.invoices.by_number(ref["InvoiceNumber"])
        if invoice is None:
            raise ElementInvalid("Invoice could not be found")
        if invoice["Status"] == "PAID":
            raise ElementInvalid(ALREADY_PAID)
        if invoice["Status"] != "AUTHORISED":
            raise ElementInvalid(NOT_AUTHORISED)
        if (invoice["Type"] == "ACCREC") != (credit_note["Type"] == "ACCRECCREDIT"):
            raise ElementInvalid("A sales credit note can only be allocated to a sales invoice.")
        if invoice["_contact_id"] != credit_note["_contact_id"]:
            raise ElementInvalid("The credit note and the invoice must be for the same contact.")
        amount = _amount(data.get("Amount"))
        if amount > credit_note["RemainingCredit"] or amount > invoice["AmountDue"]:
            raise ElementInvalid(ALLOCATION_TOO_MUCH)
        on = _date(data.get("Date"), self.books.today())
        allocation: dict[str, Any] = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": amount,
            "Date": on,
            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        }
        if invoice.get("InvoiceNumber"):
            allocation["Invoice"]["InvoiceNumber"] = invoice["InvoiceNumber"]
        credit_note["_credited"] += amount
        invoice["_credited"] += amount
        credit_note["Allocations"].append(allocation)
        invoice["CreditNotes"].append(
            {
                "CreditNoteID": credit_note["CreditNoteID"],
                "CreditNoteNumber": credit_note.get("CreditNoteNumber", ""),
                "AppliedAmount": amount,
                "Date": on,
                "Total": credit_note["Total"],
                "_allocation": allocation["AllocationID"],
            }
        )
        settle(credit_note, CREDIT_NOTE, on)
        settle(invoice, INVOICE, on)
        credit_note["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = now
        return allocation

    def deallocate(
        self, credit_note: dict[str, Any], allocation_id: str, now: datetime
    ) -> dict[str, Any] | None:
        allocation = next(
            (a for a in credit_note["Allocations"] if a["AllocationID"] == allocation_id.lower()),
            None,
        )
        if allocation is None:
            return None
        invoice = self.books.invoices.invoices[allocation["Invoice"]["InvoiceID"]]
        credit_note["Allocations"].remove(allocation)
        invoice["CreditNotes"] = [
            c for c in invoice["CreditNotes"] if c["_allocation"] != allocation["AllocationID"]
        ]
        credit_note["_credited"] -= allocation["Amount"]
        invoice["_credited"] -= allocation["Amount"]
        settle(credit_note, CREDIT_NOTE)
        settle(invoice, INVOICE)
        credit_note["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = now
        return dict(allocation, IsDeleted=True)
