"""Payments against invoices (and refunds of credit notes, overpayments and prepayments), and
allocations of credit notes, overpayments and prepayments to invoices: what moves AmountDue,
AmountCredited, RemainingCredit and the automatic PAID status (reference/xero.md §4 Payment,
Allocate credit note; developer.xero.com/documentation/api/accounting/payments, /overpayments,
/prepayments)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.invoices import (
    CREDIT_NOTE,
    INVOICE,
    OVERPAYMENT,
    PREPAYMENT,
    Kind,
    settle,
)
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
# Xero's wording for credit notes (xeroizer#196, #320); the same form for the other kinds.
ALLOCATION_TOO_MUCH = "{} cannot be allocated as amount is greater than amount outstanding"
ALREADY_PAID = "The invoice you are trying to allocate to has already been paid off"
PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
    "RECEIVE-OVERPAYMENT": "AROVERPAYMENTPAYMENT",
    "SPEND-OVERPAYMENT": "APOVERPAYMENTPAYMENT",
    "RECEIVE-PREPAYMENT": "ARPREPAYMENTPAYMENT",
    "SPEND-PREPAYMENT": "APPREPAYMENTPAYMENT",
}
# What a payment may settle: an invoice, or a refund of the three kinds of credit.
PAYABLE = (INVOICE, CREDIT_NOTE, OVERPAYMENT, PREPAYMENT)
ALLOCATABLE = (CREDIT_NOTE, OVERPAYMENT, PREPAYMENT)


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
        for kind in PAYABLE:
            ref = data.get(kind.ref)
            if not isinstance(ref, dict):
                continue
            store = self.books.store(kind)
            document = None
            if ref.get(kind.id_field):
                document = store.get(str(ref[kind.id_field]).lower())
            elif kind.number_field and isinstance(ref.get(kind.number_field), str):
                book = self.books.invoices if kind is INVOICE else self.books.credit_notes
                document = book.by_number(ref[kind.number_field])
            if document is None:
                raise ElementInvalid(f"{kind.label} could not be found")
            return document, kind
        raise ElementInvalid(
            "You must specify an Invoice, Credit Note, Prepayment or Overpayment for the payment."
        )

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
        rate = self._rate(document, data.get("CurrencyRate"))
        payment: dict[str, Any] = {
            "PaymentID": str(uuid.uuid4()),
            "Date": on,
            "Amount": amount,  # in the document's currency
            "BankAmount": self._bank_amount(amount, rate, account),
            "CurrencyRate": rate,
            "PaymentType": PAYMENT_TYPES[document["Type"]],
            "Status": "AUTHORISED",
            "IsReconciled": data.get("IsReconciled") is True,
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

    def _rate(self, document: dict[str, Any], raw: Any) -> Decimal:
        """CurrencyRate "is only used for non base currency invoices and credit notes" (Xero,
        Payments); without one the document's own rate applies."""
        if document["CurrencyCode"] == self.books.base_currency:
            return Decimal(1)
        if raw is None:
            rate: Decimal = document["CurrencyRate"]
            return rate
        given = parse_decimal(raw)
        if given is None or given <= 0:
            raise ElementInvalid("CurrencyRate must be a positive number.")
        return given

    def _bank_amount(self, amount: Decimal, rate: Decimal, account: dict[str, Any]) -> Decimal:
        """BankAmount is "the amount of the payment in the currency of the bank account" (spec
        Payment): rates are units of the document's currency to one of the base currency."""
        bank_currency = account.get("CurrencyCode") or self.books.base_currency
        base = amount / rate
        return money(base * self.books.currency_rate(bank_currency))

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
        kind = next(k for k in PAYABLE if k.id_field == id_field)
        return self.books.store(kind)[document_id], kind

    @staticmethod
    def _summary(payment: dict[str, Any]) -> dict[str, Any]:
        keys = ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate", "HasAccount")
        summary = {k: payment[k] for k in keys if k in payment}
        summary["HasValidationErrors"] = False
        return summary

    # --- allocations of credit notes, overpayments and prepayments ------------------------------

    def _invoice_of(self, ref: Any) -> dict[str, Any]:
        invoice = None
        if isinstance(ref, dict) and ref.get("InvoiceID"):
            invoice = self.books.invoices.invoices.get(str(ref["InvoiceID"]).lower())
        elif isinstance(ref, dict) and isinstance(ref.get("InvoiceNumber"), str):
            invoice = self.books.invoices.by_number(ref["InvoiceNumber"])
        if invoice is None:
            raise ElementInvalid("Invoice could not be found")
        return invoice

    def allocate(
        self, document: dict[str, Any], kind: Kind, data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Part or all of a credit to one outstanding invoice of the same contact and side."""
        if document["Status"] != "AUTHORISED":
            raise ElementInvalid(f"Only AUTHORISED {kind.label.lower()}s can be allocated.")
        invoice = self._invoice_of(data.get("Invoice"))
        if invoice["Status"] == "PAID":
            raise ElementInvalid(ALREADY_PAID)
        if invoice["Status"] != "AUTHORISED":
            raise ElementInvalid(NOT_AUTHORISED)
        if (invoice["Type"] == "ACCREC") != (document["Type"] == kind.sales):
            raise ElementInvalid(
                f"A sales {kind.label.lower()} can only be allocated to a sales invoice."
            )
        if invoice["_contact_id"] != document["_contact_id"]:
            raise ElementInvalid(
                f"The {kind.label.lower()} and the invoice must be for the same contact."
            )
        if invoice["CurrencyCode"] != document["CurrencyCode"]:
            raise ElementInvalid(
                f"The {kind.label.lower()} and the invoice must be in the same currency."
            )
        amount = _amount(data.get("Amount"))
        if amount > document["RemainingCredit"] or amount > invoice["AmountDue"]:
            raise ElementInvalid(ALLOCATION_TOO_MUCH.format(kind.label))
        # The allocation's Date is read-only: "the latter of the invoice date and the credit
        # note date" (Xero, Credit Notes and Overpayments pages); a Date sent is ignored.
        on = max(invoice["Date"], document["Date"])
        allocation: dict[str, Any] = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": amount,
            "Date": on,
            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        }
        if invoice.get("InvoiceNumber"):
            allocation["Invoice"]["InvoiceNumber"] = invoice["InvoiceNumber"]
        document["_credited"] += amount
        invoice["_credited"] += amount  # AmountCredited sums all three kinds (spec Invoice)
        document["Allocations"].append(allocation)
        applied: dict[str, Any] = {kind.id_field: document[kind.id_field]}
        if kind.number_field:
            applied[kind.number_field] = document.get(kind.number_field, "")
        applied.update(
            {
                "AppliedAmount": amount,
                "Date": on,
                "Total": document["Total"],
                "_allocation": allocation["AllocationID"],
            }
        )
        invoice[kind.collection].append(applied)
        settle(document, kind, on)
        settle(invoice, INVOICE, on)
        document["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = now
        return allocation

    def deallocate(
        self, document: dict[str, Any], kind: Kind, allocation_id: str, now: datetime
    ) -> dict[str, Any] | None:
        allocation = next(
            (a for a in document["Allocations"] if a["AllocationID"] == allocation_id.lower()),
            None,
        )
        if allocation is None:
            return None
        invoice = self.books.invoices.invoices[allocation["Invoice"]["InvoiceID"]]
        document["Allocations"].remove(allocation)
        invoice[kind.collection] = [
            c for c in invoice[kind.collection] if c["_allocation"] != allocation["AllocationID"]
        ]
        document["_credited"] -= allocation["Amount"]
        invoice["_credited"] -= allocation["Amount"]
        settle(document, kind)
        settle(invoice, INVOICE)
        document["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = now
        return dict(allocation, IsDeleted=True)
