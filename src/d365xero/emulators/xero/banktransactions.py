"""Bank transactions (spend and receive money), and the overpayments and prepayments that
RECEIVE-/SPEND-OVERPAYMENT and -PREPAYMENT transactions create.

Source: developer.xero.com/documentation/api/accounting/banktransactions (stored copy):
Type, Contact, LineItems and BankAccount are mandatory and only accounts of Type BANK are
accepted; line amounts are Inclusive of tax by default; ItemCode only on SPEND and RECEIVE;
"Overpayments can only have a single line item. The line item will be automated coded to either
the Accounts Receivable (receive) or Accounts Payable (spend) control account"; setting a
currency is only supported on overpayments; updates and deletes of overpayment and prepayment
transactions are not supported. An overpayment or prepayment has the id of its transaction (the
Overpayments and Prepayments pages' examples: the attachment URL of an overpayment is under
/banktransaction/{OverpaymentID}).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.invoices import (
    LINE_AMOUNT_TYPES,
    OVERPAYMENT,
    PREPAYMENT,
    Kind,
    Resolved,
    settle,
)
from d365xero.emulators.xero.totals import invoice_totals
from d365xero.emulators.xero.wire import date_string, parse_date, parse_decimal

if TYPE_CHECKING:
    from d365xero.emulators.xero.books import Books

TYPES = (
    "RECEIVE",
    "SPEND",
    "RECEIVE-OVERPAYMENT",
    "SPEND-OVERPAYMENT",
    "RECEIVE-PREPAYMENT",
    "SPEND-PREPAYMENT",
)
CREDIT_KINDS = {t: k for k in (OVERPAYMENT, PREPAYMENT) for t in k.types}
CONTROL_ACCOUNTS = {"RECEIVE": "DEBTORS", "SPEND": "CREDITORS"}  # SystemAccount of 610 / 800


def _side(bank_type: str) -> str:
    return "RECEIVE" if bank_type.startswith("RECEIVE") else "SPEND"


class BankTransactionBook:
    def __init__(self, books: Books) -> None:
        self.books = books
        self.transactions: dict[str, dict[str, Any]] = {}
        self.overpayments: dict[str, dict[str, Any]] = {}
        self.prepayments: dict[str, dict[str, Any]] = {}

    def get(self, transaction_id: str) -> dict[str, Any] | None:
        if not isinstance(transaction_id, str):
            return None
        return self.transactions.get(transaction_id.lower())

    def credits(self, kind: Kind) -> dict[str, dict[str, Any]]:
        return self.overpayments if kind is OVERPAYMENT else self.prepayments

    # --- create ----------------------------------------------------------------------------

    def create(self, data: dict[str, Any], unitdp: int, now: datetime) -> dict[str, Any]:
        """Validates and records one transaction (and its overpayment or prepayment); raises
        ElementInvalid with every problem found. Returns the transaction."""
        errors: list[str] = []
        bank_type = data.get("Type")
        if bank_type is None:
            raise ElementInvalid("Bank Transaction Type must be specified")
        if bank_type not in TYPES:
            raise ElementInvalid(f"Bank Transaction Type '{bank_type}' is not valid")
        status = data.get("Status") or "AUTHORISED"
        if status != "AUTHORISED":
            errors.append("Bank transactions can only be created with status AUTHORISED.")
        resolved = Resolved(fields={})
        self.books.invoices.resolve_contact(data.get("Contact"), resolved, errors)
        bank = self._bank_account(data.get("BankAccount"), errors)
        lat_raw = data.get("LineAmountTypes") or "Inclusive"
        lat = LINE_AMOUNT_TYPES.get(str(lat_raw).lower(), "Inclusive")
        if str(lat_raw).lower() not in LINE_AMOUNT_TYPES:
            errors.append(f"LineAmountTypes '{lat_raw}' is not valid.")
        lines = self._lines(data, bank_type, lat, unitdp, errors)
        currency, rate = self._currency(data, bank_type, bank, errors)
        on = parse_date(data["Date"]) if data.get("Date") else self.books.today()
        if on is None:
            errors.append(f"Date '{data.get('Date')}' is not a valid date.")
        totals = invoice_totals([(ln["LineAmount"], ln["TaxAmount"]) for ln in lines], lat)
        if lines and totals.total <= 0:
            errors.append("The total of a bank transaction must be positive.")
        for key in ("Reference", "Url"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                errors.append(f"{key} must be a string.")
        if errors:
            raise ElementInvalid(*dict.fromkeys(errors))
        assert bank is not None and on is not None
        if resolved.new_contact_name:  # Xero creates the contact, as on invoices
            resolved.contact_id = self.books.contacts.create(
                {"Name": resolved.new_contact_name}, now
            )["ContactID"]
        transaction: dict[str, Any] = {
            "BankTransactionID": str(uuid.uuid4()),
            "Type": bank_type,
            "_contact_id": resolved.contact_id,
            "LineItems": lines,
            "BankAccount": {k: bank[k] for k in ("AccountID", "Code", "Name")},
            "IsReconciled": data.get("IsReconciled") is True,
            "Date": on,
            "DateString": date_string(on),
            "CurrencyCode": currency,
            "CurrencyRate": rate,
            "Status": "AUTHORISED",
            "LineAmountTypes": lat,
            "SubTotal": totals.sub_total,
            "TotalTax": totals.total_tax,
            "Total": totals.total,
            "UpdatedDateUTC": now,
            "HasAttachments": False,
        }
        for key in ("Reference", "Url"):
            if data.get(key):
                transaction[key] = data[key]
        self.transactions[transaction["BankTransactionID"]] = transaction
        kind = CREDIT_KINDS.get(bank_type)
        if kind is not None:
            self._credit(transaction, kind)
        return transaction

    def _bank_account(self, raw: Any, errors: list[str]) -> dict[str, Any] | None:
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
            errors.append("A valid BankAccount must be specified")
            return None
        if account["Type"] != "BANK":  # "Only accounts of Type BANK will be accepted."
            errors.append(f"Account {account['Code']} is not a bank account.")
            return None
        return account

    def _lines(
        self, data: dict[str, Any], bank_type: str, lat: str, unitdp: int, errors: list[str]
    ) -> list[dict[str, Any]]:
        raw_lines = data.get("LineItems")
        if not isinstance(raw_lines, list) or not raw_lines:
            errors.append("One or more line items must be specified")
            return []
        side = _side(bank_type)
        overpayment = bank_type.endswith("-OVERPAYMENT")
        if overpayment and len(raw_lines) != 1:
            errors.append("Overpayments can only have a single line item.")
        if bank_type not in ("SPEND", "RECEIVE") and any(
            isinstance(r, dict) and r.get("ItemCode") for r in raw_lines
        ):
            errors.append(
                "ItemCode can only be used when the Bank Transaction Type is SPEND or RECEIVE."
            )
            return []
        if overpayment:
            control = next(
                a["Code"]
                for a in self.books.accounts.values()
                if a.get("SystemAccount") == CONTROL_ACCOUNTS[side]
            )
            raw_lines = [
                dict(r, AccountCode=control) if isinstance(r, dict) else r for r in raw_lines
            ]
        invoice_type = "ACCREC" if side == "RECEIVE" else "ACCPAY"
        computed = [
            self.books.invoices.line(r, invoice_type, lat, unitdp, errors) for r in raw_lines
        ]
        lines = [line for line in computed if line is not None]
        if any("AccountCode" not in line for line in lines):
            errors.append("Account code '' is not a valid code for this document.")
        return lines

    def _currency(
        self,
        data: dict[str, Any],
        bank_type: str,
        bank: dict[str, Any] | None,
        errors: list[str],
    ) -> tuple[str, Decimal]:
        books = self.books
        bank_currency = (bank or {}).get("CurrencyCode") or books.base_currency
        currency = data.get("CurrencyCode") or bank_currency
        if currency != bank_currency and not bank_type.endswith("-OVERPAYMENT"):
            errors.append("Setting a currency is only supported on overpayments.")
        if not isinstance(currency, str) or not books.currency_known(currency):
            errors.append(f"The currency code '{currency}' is not valid")
            return books.base_currency, Decimal(1)
        raw_rate = data.get("CurrencyRate")
        rate = books.currency_rate(currency)
        if raw_rate is not None and currency != books.base_currency:
            given = parse_decimal(raw_rate)
            if given is None or given <= 0:
                errors.append("CurrencyRate must be a positive number.")
            else:
                rate = given
        return currency, rate

    def _credit(self, transaction: dict[str, Any], kind: Kind) -> dict[str, Any]:
        """The overpayment or prepayment a transaction makes: credit to allocate or refund."""
        credit: dict[str, Any] = {
            kind.id_field: transaction["BankTransactionID"],
            "Type": transaction["Type"],
            "_contact_id": transaction["_contact_id"],
            "_paid": Decimal("0.00"),
            "_credited": Decimal("0.00"),
            "Allocations": [],
            "Payments": [],
            "HasAttachments": False,
        }
        for key in (
            "Date",
            "DateString",
            "Status",
            "LineAmountTypes",
            "LineItems",
            "SubTotal",
            "TotalTax",
            "Total",
            "UpdatedDateUTC",
            "CurrencyCode",
            "CurrencyRate",
            "Reference",
        ):
            if key in transaction:
                credit[key] = transaction[key]
        settle(credit, kind)
        self.credits(kind)[credit[kind.id_field]] = credit
        transaction[kind.id_field] = credit[kind.id_field]
        return credit
