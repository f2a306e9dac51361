"""Plain records of what the connector reads from Dynamics and Xero, free of any wire format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class InvoiceType(StrEnum):
    SALES = "Sales"
    PURCHASE = "Purchase"


class LineAmountTypes(StrEnum):
    EXCLUSIVE = "Exclusive"
    INCLUSIVE = "Inclusive"
    NO_TAX = "NoTax"


class XeroStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"
    PAID = "PAID"
    VOIDED = "VOIDED"
    DELETED = "DELETED"


class ExportStatus(StrEnum):
    NO = "No"
    YES = "Yes"
    FAILED = "Failed"


@dataclass(frozen=True)
class Address:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Customer:
    """The invoice's customer in Dynamics: an account or a contact."""

    kind: str  # "account" | "contact"
    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    xero_contact_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # mapped columns, as text


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_amount: Decimal = Decimal(0)
    is_write_in: bool = True
    product_id: str | None = None
    product_number: str | None = None
    product_name: str | None = None
    tax_type: str | None = None  # a Xero TaxType code, from the line's dxc_taxtypeid
    account_code: str | None = None  # a Xero account code, from the line's dxc_accountcodeid
    tracking: tuple[str, ...] = ()  # "Category: Option", at most two
    sequence: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)  # mapped columns, as text
    # Dynamics' pricingerrorcode (0: priced) and its label, e.g. "Product Not In Price Level".
    pricing_error: int = 0
    pricing_error_label: str | None = None


@dataclass(frozen=True)
class XeroLink:
    """The invoice's dxc_xerodetail row, if it has one."""

    detail_id: str
    export_status: ExportStatus
    xero_invoice_id: str | None = None
    xero_invoice_number: str | None = None
    xero_status: str | None = None


@dataclass(frozen=True)
class Invoice:
    """A Dynamics invoice assigned to a connection, with what the sync needs of it."""

    id: str
    name: str
    number: str | None
    description: str | None
    customer: Customer | None
    has_price_list: bool
    currency: str | None
    date_delivered: date | None
    due_date: date | None
    invoice_type: InvoiceType = InvoiceType.SALES
    line_amount_types: LineAmountTypes = LineAmountTypes.EXCLUSIVE
    branding_theme_id: str | None = None  # the Xero BrandingThemeID
    lines: tuple[InvoiceLine, ...] = ()
    state: int = 0
    xero: XeroLink | None = None
    url: str | None = None  # the invoice's link in Dynamics
    modified_on: datetime | None = None  # by Dynamics' clock
    extra: Mapping[str, str] = field(default_factory=dict)  # mapped columns, as text
    price_list_name: str | None = None


@dataclass(frozen=True)
class ConnectorSettings:
    """The dxc_setting row of a connection, in the connector's terms."""

    use_xero_invoice_number: bool = True
    create_contacts: bool = True
    create_products: bool = True
    default_status: XeroStatus = XeroStatus.DRAFT
    default_sales_account: str | None = None  # account code
    default_purchase_account: str | None = None
    create_credit_note: bool = False
    timezone: str = "Europe/London"
    field_mappings: str = ""  # the customer's JSON (domain/fieldmap.py)
