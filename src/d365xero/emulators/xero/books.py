"""One Xero organisation: its reference data, contacts, items and invoices, and the batch rules
every write follows (reference/xero.md §3.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.banktransactions import BankTransactionBook
from d365xero.emulators.xero.contacts import ContactBook
from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.invoices import (
    CREDIT_NOTE,
    INVOICE,
    OVERPAYMENT,
    PREPAYMENT,
    InvoiceBook,
    Kind,
    due_by_terms,
)
from d365xero.emulators.xero.items import ItemBook
from d365xero.emulators.xero.payments import PaymentBook
from d365xero.emulators.xero.totals import money, to_dp
from d365xero.emulators.xero.wire import ZERO_ID, render, render_dict


@dataclass
class Outcome:
    """The result of one element of a batch write."""

    resource: dict[str, Any] | None
    echo: dict[str, Any]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _zero_balances() -> dict[str, Any]:
    zero = Decimal("0.00")
    return {
        "AccountsReceivable": {"Outstanding": zero, "Overdue": zero},
        "AccountsPayable": {"Outstanding": zero, "Overdue": zero},
    }


def _echo(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The parts of a rejected element that are safe to echo back (strings only)."""
    return {k: data[k] for k in keys if isinstance(data.get(k), str)}


Emit = Callable[[str, str, str, str, "dict[str, Any] | None"], None]


def _no_events(category: str, kind: str, resource: str, rid: str, data: Any) -> None:
    return None


class Books:
    def __init__(self, tenant_id: str, name: str, short_code: str, now: Callable[[], datetime]):
        self.tenant_id = tenant_id
        self.now = now
        # Webhook events (category, CREATE|UPDATE, resource collection, id, data); see webhooks.py
        self.emit: Emit = _no_events
        self.organisation = refdata.organisation(tenant_id, name, short_code)
        self.organisation["CreatedDateUTC"] = now()
        self.base_currency = "GBP"
        self.tax_rates = {t["TaxType"]: t for t in refdata.tax_rates()}
        self.accounts = {a["Code"]: a for a in refdata.accounts()}
        now_ = now()
        for account in self.accounts.values():
            account["UpdatedDateUTC"] = now_
        self.branding_themes = refdata.branding_themes(seeded=False)
        for theme in self.branding_themes:
            theme["CreatedDateUTC"] = now_
        self.currencies = refdata.currencies(seeded=False)
        self.tracking_categories = refdata.tracking_categories()
        self.contacts = ContactBook()
        self.items = ItemBook(
            account_ok=lambda code: self.account(code) is not None,
            tax_ok=lambda code: self.tax_rate(code) is not None,
        )
        self.invoices = InvoiceBook(self, INVOICE)
        self.credit_notes = InvoiceBook(self, CREDIT_NOTE)
        self.payments = PaymentBook(self)
        self.bank_transactions = BankTransactionBook(self)

    def store(self, kind: Kind) -> dict[str, dict[str, Any]]:
        """The documents of one kind, by id."""
        if kind is INVOICE:
            return self.invoices.invoices
        if kind is CREDIT_NOTE:
            return self.credit_notes.invoices
        return self.bank_transactions.credits(kind)

    # --- reference data --------------------------------------------------------------------

    def account(self, code: str) -> dict[str, Any] | None:
        account = self.accounts.get(code)
        return account if account and account["Status"] == "ACTIVE" else None

    def tax_rate(self, code: str) -> dict[str, Any] | None:
        rate = self.tax_rates.get(code.upper())
        return rate if rate and rate["Status"] == "ACTIVE" else None

    def branding_theme(self, theme_id: str) -> dict[str, Any] | None:
        for theme in self.branding_themes:
            if isinstance(theme_id, str) and theme["BrandingThemeID"] == theme_id.lower():
                return theme
        return None

    def tracking(self, raw: Any) -> dict[str, str]:
        """One line's tracking {Name|TrackingCategoryID, Option|TrackingOptionID}, resolved to
        an active category and option; raises ElementInvalid."""
        if not isinstance(raw, dict):
            raise ElementInvalid("Tracking must be a list of objects.")
        wanted = str(raw.get("TrackingCategoryID") or raw.get("Name") or "").lower()
        for category in self.tracking_categories:
            if category["Status"] != "ACTIVE" or wanted not in (
                category["TrackingCategoryID"],
                category["Name"].lower(),
            ):
                continue
            option_wanted = str(raw.get("TrackingOptionID") or raw.get("Option") or "").lower()
            for option in category["Options"]:
                if option["Status"] == "ACTIVE" and option_wanted in (
                    option["TrackingOptionID"],
                    option["Name"].lower(),
                ):
                    return {
                        "TrackingCategoryID": category["TrackingCategoryID"],
                        "TrackingOptionID": option["TrackingOptionID"],
                        "Name": category["Name"],
                        "Option": option["Name"],
                    }
            raise ElementInvalid(
                f"The tracking option '{raw.get('Option') or raw.get('TrackingOptionID')}' "
                f"is not valid for the tracking category '{category['Name']}'."
            )
        name = raw.get("Name") or raw.get("TrackingCategoryID")
        raise ElementInvalid(f"The tracking category '{name}' is not valid.")

    def currency_known(self, code: Any) -> bool:
        return any(c["Code"] == code for c in self.currencies)

    def currency_rate(self, code: str) -> Decimal:
        return refdata.CURRENCY_RATES.get(code, Decimal(1))

    def due_date_by_terms(self, invoice_date: date) -> date:
        terms = self.organisation["PaymentTerms"]["Sales"]
        return due_by_terms(int(terms["Day"]), invoice_date)

    def today(self) -> date:
        return self.now().date()

    # --- seed ------------------------------------------------------------------------------

    def seed(self) -> dict[str, int]:
        now = self.now()
        self.branding_themes = refdata.branding_themes(seeded=True)
        for theme in self.branding_themes:
            theme["CreatedDateUTC"] = now
        self.currencies = refdata.currencies(seeded=True)
        counts = {"items": 0, "contacts": 0, "invoices": 0}
        for item in refdata.SEED_ITEMS:
            if self.items.by_code(item["Code"]) is None:
                self.items.create(item, now)
                counts["items"] += 1
        for contact in refdata.SEED_CONTACTS:
            if self.contacts.by_name(contact["Name"]) is None:
                self.contacts.create(contact, now)
                counts["contacts"] += 1
        if not self.invoices.invoices:
            for name, type_, status, lines in refdata.SEED_INVOICES:
                element = {
                    "Type": type_,
                    "Status": status,
                    "Contact": {"Name": name},
                    "DueDate": self.today().isoformat(),
                    "LineItems": [
                        {
                            "Description": d,
                            "Quantity": q,
                            "UnitAmount": u,
                            "AccountCode": a,
                            "TaxType": t,
                        }
                        for d, q, u, a, t in lines
                    ],
                }
                if type_ == "ACCPAY":
                    element["InvoiceNumber"] = "PD-1021"
                outcome = self.save_invoices([element], create_only=True)[0]
                assert outcome.ok and outcome.resource is not None, outcome.errors
                counts["invoices"] += 1
                if type_ == "ACCREC" and status == "AUTHORISED":  # a part-paid sales invoice
                    payment = {
                        "Invoice": {"InvoiceID": outcome.resource["InvoiceID"]},
                        "Account": {"Code": "090"},
                        "Amount": "200.00",
                        "Reference": "Part payment",
                    }
                    self.payments.create(payment, now)
                    counts["payments"] = counts.get("payments", 0) + 1
        counts["branding_themes"] = len(self.branding_themes)
        counts["currencies"] = len(self.currencies)
        return counts

    # --- batch writes ------------------------------------------------------------------------

    def save_contacts(self, elements: list[Any], *, create_only: bool) -> list[Outcome]:
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, ["A contact must be an object."]))
                continue
            echo = _echo(data, ("Name", "ContactNumber", "EmailAddress"))
            echo["ContactID"] = ZERO_ID
            try:
                now = self.now()
                existing = None if create_only else self.contacts.find_for_update(data)
                if existing is None:
                    contact = self.contacts.create(data, now)
                else:
                    self.contacts.update(existing, data, now)
                    contact = existing
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, echo, exc.messages))
                continue
            event = "CREATE" if existing is None else "UPDATE"
            self.emit("CONTACT", event, "Contacts", contact["ContactID"], None)
            outcomes.append(Outcome(contact, echo))
        return outcomes

    def save_items(self, elements: list[Any], *, create_only: bool, unitdp: int) -> list[Outcome]:
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, ["An item must be an object."]))
                continue
            echo = _echo(data, ("Code", "Name", "Description"))
            try:
                now = self.now()
                existing = None if create_only else self.items.find_for_update(data)
                if existing is None:
                    item = self.items.create(data, now, unitdp)
                else:
                    self.items.update(existing, data, now, unitdp)
                    item = existing
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, echo, exc.messages))
                continue
            outcomes.append(Outcome(item, echo))
        return outcomes

    def save_invoices(
        self, elements: list[Any], *, create_only: bool, unitdp: int = 2
    ) -> list[Outcome]:
        return self._save_documents(self.invoices, elements, create_only, unitdp)

    def save_credit_notes(
        self, elements: list[Any], *, create_only: bool, unitdp: int = 2
    ) -> list[Outcome]:
        return self._save_documents(self.credit_notes, elements, create_only, unitdp)

    def _save_documents(
        self, book: InvoiceBook, elements: list[Any], create_only: bool, unitdp: int
    ) -> list[Outcome]:
        """Each element is validated and committed on its own: a bad one never stops the rest
        (Xero's batches are not transactional, reference/xero.md §3.5)."""
        kind = book.kind
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, [f"A {kind.label} must be an object."]))
                continue
            echo = _echo(data, ("Type", kind.number_field, "Reference", "Status"))
            echo[kind.id_field] = ZERO_ID
            try:
                existing = None if create_only else book.find_for_update(data)
                resolved = book.resolve(data, existing, unitdp, self.today())
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, echo, exc.messages))
                continue
            if resolved.errors:
                outcomes.append(Outcome(None, echo, resolved.errors))
                continue
            document = book.commit(resolved, existing, data, self.now())
            if resolved.new_contact_name:  # Xero made the contact on the way
                self.emit("CONTACT", "CREATE", "Contacts", document["_contact_id"], None)
            self._document_event(document, kind, "CREATE" if existing is None else "UPDATE")
            outcomes.append(Outcome(document, echo))
        return outcomes

    def save_payments(self, elements: list[Any]) -> list[Outcome]:
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, ["A payment must be an object."]))
                continue
            echo = _echo(data, ("Reference",))
            echo["PaymentID"] = ZERO_ID
            try:
                payment = self.payments.create(data, self.now())
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, echo, exc.messages))
                continue
            self._document_event(*self.payments.document_of(payment))
            outcomes.append(Outcome(payment, echo))
        return outcomes

    def delete_payment(self, payment: dict[str, Any]) -> None:
        self.payments.delete(payment, self.now())
        self._document_event(*self.payments.document_of(payment))

    def save_bank_transactions(self, elements: list[Any], *, unitdp: int = 2) -> list[Outcome]:
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, ["A bank transaction must be an object."]))
                continue
            echo = _echo(data, ("Type", "Reference", "Status"))
            echo["BankTransactionID"] = ZERO_ID
            known = set(self.contacts.contacts)
            try:
                transaction = self.bank_transactions.create(data, unitdp, self.now())
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, echo, exc.messages))
                continue
            if transaction["_contact_id"] not in known:  # Xero made the contact on the way
                self.emit("CONTACT", "CREATE", "Contacts", transaction["_contact_id"], None)
            outcomes.append(Outcome(transaction, echo))
        return outcomes

    def allocate(self, document: dict[str, Any], kind: Kind, elements: list[Any]) -> list[Outcome]:
        outcomes = []
        for data in elements:
            if not isinstance(data, dict):
                outcomes.append(Outcome(None, {}, ["An allocation must be an object."]))
                continue
            try:
                allocation = self.payments.allocate(document, kind, data, self.now())
            except ElementInvalid as exc:
                outcomes.append(Outcome(None, {}, exc.messages))
                continue
            self._document_event(document, kind)
            self._document_event(
                self.invoices.invoices[allocation["Invoice"]["InvoiceID"]], INVOICE
            )
            # The answer names the credit allocated too (spec examples of the Allocations PUTs).
            made = dict(allocation, **{kind.ref: {kind.id_field: document[kind.id_field]}})
            outcomes.append(Outcome(made, {}))
        return outcomes

    def deallocate(
        self, document: dict[str, Any], kind: Kind, allocation_id: str
    ) -> dict[str, Any] | None:
        allocation = self.payments.deallocate(document, kind, allocation_id, self.now())
        if allocation is not None:
            self._document_event(document, kind)
            self._document_event(
                self.invoices.invoices[allocation["Invoice"]["InvoiceID"]], INVOICE
            )
        return allocation

    def _document_event(
        self, document: dict[str, Any], kind: Kind = INVOICE, event: str = "UPDATE"
    ) -> None:
        """Webhook events exist for invoices and credit notes only (reference/xero.md §6)."""
        if kind is CREDIT_NOTE:
            data = {"Type": document["Type"], "Status": document["Status"]}
            self.emit("CREDITNOTE", event, "CreditNotes", document["CreditNoteID"], data)
        elif kind is INVOICE:
            self.emit("INVOICE", event, "Invoices", document["InvoiceID"], None)

    # --- reads ------------------------------------------------------------------------------

    def render_contact(
        self,
        contact: dict[str, Any],
        balances: dict[str, Any] | None = None,
        *,
        with_balances: bool = False,
    ) -> dict[str, Any]:
        """Balances "are only retrieved on GET requests for a single contact or when pagination
        is used" (Xero, Contacts), so only those reads ask for them."""
        out = render_dict(contact)
        if with_balances:
            if balances is None:
                balances = self.all_balances().get(contact["ContactID"])
            out["Balances"] = render(balances or _zero_balances())
        return out

    def balances(self, contact_id: str) -> dict[str, Any]:
        return self.all_balances().get(contact_id) or _zero_balances()

    def all_balances(self) -> dict[str, dict[str, Any]]:
        """Per contact, in one pass: what approved invoices still owe (overdue once the DueDate
        is before the emulator's today), less credit not yet allocated (credit notes,
        overpayments, prepayments), "converted to base currency" (Xero, Contacts: Balances).
        Balances never bump UpdatedDateUTC ("changes to the Balances ... will not trigger a
        contact to be returned with the Modified-After filter", same page)."""
        today = self.today()
        result: dict[str, dict[str, Any]] = {}

        def side(document: dict[str, Any], sales: bool) -> dict[str, Decimal]:
            balances = result.setdefault(document["_contact_id"], _zero_balances())
            part: dict[str, Decimal] = balances[
                "AccountsReceivable" if sales else "AccountsPayable"
            ]
            return part

        for invoice in self.invoices.invoices.values():
            if invoice["Status"] != "AUTHORISED":
                continue
            part = side(invoice, invoice["Type"] == INVOICE.sales)
            owed = invoice["AmountDue"] / invoice["CurrencyRate"]
            part["Outstanding"] += owed
            due = invoice.get("DueDate")
            if due is not None and due < today:
                part["Overdue"] += owed
        for kind in (CREDIT_NOTE, OVERPAYMENT, PREPAYMENT):
            for credit in self.store(kind).values():
                if credit["Status"] == "AUTHORISED":
                    part = side(credit, credit["Type"] == kind.sales)
                    part["Outstanding"] -= credit["RemainingCredit"] / credit["CurrencyRate"]
        for balances in result.values():
            for part in balances.values():
                for key in part:
                    part[key] = money(part[key])
        return result

    def contact_summary(self, contact_id: str | None) -> dict[str, Any]:
        contact = self.contacts.get(contact_id or "")
        if contact is None:
            return {"ContactID": contact_id or ZERO_ID}
        keys = ("ContactID", "ContactNumber", "ContactStatus", "Name", "EmailAddress")
        summary = {k: contact[k] for k in keys if k in contact}
        summary.update(
            {"Addresses": [], "Phones": [], "ContactGroups": [], "HasValidationErrors": False}
        )
        return summary

    def render_payment(self, payment: dict[str, Any]) -> dict[str, Any]:
        out = render_dict(payment)
        document, kind = self.payments.document_of(payment)
        summary = {
            kind.id_field: document[kind.id_field],
            "Type": document["Type"],
            "Contact": self.contact_summary(document["_contact_id"]),
        }
        if kind.number_field and document.get(kind.number_field):
            summary[kind.number_field] = document[kind.number_field]
            out[kind.number_field] = document[kind.number_field]
        out[kind.ref] = render(summary)
        return out

    def render_document(
        self, document: dict[str, Any], *, unitdp: int = 2, with_lines: bool = True
    ) -> dict[str, Any]:
        """An invoice, credit note, overpayment, prepayment or bank transaction, with its
        contact's summary; lists leave the lines out unless paged (Xero's Invoices, Credit Notes,
        Overpayments and BankTransactions pages: "with line items shown ... when the page
        parameter is used")."""
        out = render_dict(document)
        out["Contact"] = render(self.contact_summary(document["_contact_id"]))
        if with_lines:
            for line in out["LineItems"]:
                line["UnitAmount"] = float(to_dp(Decimal(str(line["UnitAmount"])), unitdp))
        else:
            out["LineItems"] = []
        return out

    def render_item(self, item: dict[str, Any], unitdp: int = 2) -> dict[str, Any]:
        return render_dict(ItemBook.render(item, unitdp))
