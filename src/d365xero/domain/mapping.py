"""Dynamics invoice -> what Xero should hold: contacts, items and invoices, as plain drafts.

The rules are DESIGN.md's "Mapping rules", made from the seed's user guide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from d365xero.domain.fieldmap import NO_MAPPING, FieldMapping, FieldRule
from d365xero.domain.money import unit_amount
from d365xero.domain.records import (
    Address,
    ConnectorSettings,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceType,
    LineAmountTypes,
    XeroStatus,
)

ACCREC = "ACCREC"
ACCPAY = "ACCPAY"


@dataclass(frozen=True)
class ContactDraft:
    name: str
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    first_name: str | None = None
    last_name: str | None = None
    account_number: str | None = None
    tax_number: str | None = None


@dataclass(frozen=True)
class ItemDraft:
    code: str
    name: str
    description: str | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class LineDraft:
    description: str
    quantity: Decimal | None = None
    unit_amount: Decimal | None = None
    item_code: str | None = None
    account_code: str | None = None
    tax_type: str | None = None
    discount_amount: Decimal | None = None
    tracking: tuple[tuple[str, str], ...] = ()  # (category name, option name)

    @property
    def is_note(self) -> bool:
        return self.quantity is None and self.unit_amount is None


@dataclass(frozen=True)
class InvoiceDraft:
    """One Xero invoice to create, keyed back to its Dynamics invoice by `source_id`."""

    source_id: str
    type: str
    contact_id: str | None
    contact_name: str
    lines: tuple[LineDraft, ...]
    date: dt.date | None
    due_date: dt.date | None
    line_amount_types: LineAmountTypes
    status: XeroStatus
    invoice_number: str | None = None
    reference: str | None = None
    currency: str | None = None
    branding_theme_id: str | None = None
    url: str | None = None  # the Dynamics invoice's link: Xero shows it and keeps it


def xero_type(invoice: Invoice) -> str:
    return ACCPAY if invoice.invoice_type is InvoiceType.PURCHASE else ACCREC


def contact_draft(customer: Customer, fields: FieldMapping = NO_MAPPING) -> ContactDraft:
    mapped = _mapped(fields.rules_for(customer.kind), customer.extra)
    return ContactDraft(
        name=customer.name.strip(),
        email=mapped.get("Contact.EmailAddress", customer.email),
        phone=customer.phone,
        address=customer.address,
        first_name=mapped.get("Contact.FirstName", customer.first_name),
        last_name=mapped.get("Contact.LastName", customer.last_name),
        account_number=mapped.get("Contact.AccountNumber"),
        tax_number=mapped.get("Contact.TaxNumber"),
    )


def _mapped(rules: tuple[FieldRule, ...], values: Mapping[str, str]) -> dict[str, str]:
    """Xero field -> the mapped column's value, for the columns that have one."""
    return {r.target: values[r.column] for r in rules if values.get(r.column)}


def item_draft(line: InvoiceLine) -> ItemDraft | None:
    """The Xero item an existing Dynamics product stands for; None for a write-in line."""
    if line.is_write_in or not line.product_number:
        return None
    return ItemDraft(
        code=line.product_number,
        name=(line.product_name or line.product_number)[:50],
        description=line.description or line.product_name,
        unit_price=line.unit_price,
    )


def is_note_line(line: InvoiceLine) -> bool:
    """A write-in line with quantity 0 and amount 0 is a description-only note."""
    return line.is_write_in and line.quantity == 0 and line.unit_price == 0


def parse_tracking(value: str) -> tuple[str, str] | None:
    """'Region: North' -> ('Region', 'North'); anything without a colon is not a tracking pair."""
    category, sep, option = value.partition(":")
    if not sep or not category.strip() or not option.strip():
        return None
    return category.strip(), option.strip()


def line_draft(
    line: InvoiceLine,
    invoice: Invoice,
    settings: ConnectorSettings,
    known_item_codes: frozenset[str],
    fields: FieldMapping = NO_MAPPING,
) -> LineDraft:
    mapped = _mapped(fields.rules_for("line"), line.extra)
    description = mapped.get("LineItem.Description") or line.description or line.product_name
    description = description or ""
    if is_note_line(line):
        return LineDraft(description=description)
    default_account = (
        settings.default_purchase_account
        if invoice.invoice_type is InvoiceType.PURCHASE
        else settings.default_sales_account
    )
    item = item_draft(line)
    item_code = item.code if item and item.code in known_item_codes else None
    tracking = tuple(t for t in (parse_tracking(v) for v in line.tracking[:2]) if t)
    tracking += tuple(
        (rule.tracking_category, line.extra[rule.column])
        for rule in fields.rules_for("line")
        if rule.tracking_category and line.extra.get(rule.column)
    )
    discount = line.discount_amount if line.discount_amount else None
    return LineDraft(
        description=description,
        quantity=line.quantity,
        unit_amount=unit_amount(line.unit_price),
        item_code=item_code,
        account_code=line.account_code or default_account,
        tax_type=line.tax_type,
        discount_amount=discount,
        tracking=tracking,
    )


def invoice_draft(
    invoice: Invoice,
    settings: ConnectorSettings,
    contact_id: str | None,
    known_item_codes: frozenset[str] = frozenset(),
    fields: FieldMapping = NO_MAPPING,
) -> InvoiceDraft:
    assert invoice.customer is not None, "assess() fails invoices without a customer"
    kind = xero_type(invoice)
    lines = tuple(
        line_draft(line, invoice, settings, known_item_codes, fields)
        for line in sorted(invoice.lines, key=lambda ln: ln.sequence)
    )
    reference = _mapped(fields.rules_for("invoice"), invoice.extra).get("Reference")
    number = None if settings.use_xero_invoice_number else invoice.number
    return InvoiceDraft(
        source_id=invoice.id,
        type=kind,
        contact_id=contact_id,
        contact_name=invoice.customer.name.strip(),
        lines=lines,
        date=invoice.date_delivered,
        due_date=invoice.due_date,
        line_amount_types=invoice.line_amount_types,
        status=settings.default_status,
        invoice_number=number,
        reference=(reference or invoice.description or None) if kind == ACCREC else None,
        currency=invoice.currency,
        branding_theme_id=invoice.branding_theme_id,
        url=invoice.url,
    )


def fingerprint(
    invoice: Invoice,
    settings: ConnectorSettings,
    contact_id: str | None,
    fields: FieldMapping = NO_MAPPING,
) -> bytes:
    """What Xero holds of an invoice once sent, as bytes to hash: an edit in Dynamics that
    changes it is worth sending again; one that does not (a field we do not map) is not. Made
    from the Dynamics invoice alone (every product as its item code, whatever Xero's items are
    today), and without the status, which is Xero's to move once the invoice is there."""
    codes = frozenset(line.product_number for line in invoice.lines if line.product_number)
    draft = invoice_draft(invoice, settings, contact_id, codes, fields)
    sent = {k: v for k, v in vars(draft).items() if k not in ("status", "source_id")}
    return repr(sorted(sent.items())).encode()
