"""What the connector writes back to Dynamics after a try: Xero details, Sync History rows,
per-line tax, customer links, and what comes back from Xero (status, amount due, payments,
invoice state, customer balances). Plain records; the Dataverse client turns them into requests,
one change set per invoice in the order given."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from d365xero.domain.records import ExportStatus


class SyncAction(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    VOID = "Void"
    CREDIT_NOTE = "CreditNote"
    PAYMENT = "Payment"


class SyncStatus(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


def history_name(when: datetime) -> str:
    return f"Sync - {when:%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True)
class XeroDetailChange:
    """Create or update the invoice's dxc_xerodetail row (`detail_id` None: create)."""

    invoice_id: str
    invoice_name: str
    detail_id: str | None
    export_status: ExportStatus
    export_date: datetime
    xero_invoice_id: str | None = None
    xero_invoice_number: str | None = None
    xero_status: str | None = None
    xero_url: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    invoice_id: str
    when: datetime
    action: SyncAction
    status: SyncStatus
    details: str

    @property
    def name(self) -> str:
        return history_name(self.when)


@dataclass(frozen=True)
class LineTax:
    invoice_id: str
    line_id: str
    tax: Decimal


@dataclass(frozen=True)
class CustomerLink:
    """Store the Xero ContactID on the Dynamics account or contact."""

    kind: str
    customer_id: str
    xero_contact_id: str


@dataclass(frozen=True)
class DetailHistory(HistoryEntry):
    """A Sync History row on the invoice's Xero details (which outlive the invoice), and on the
    invoice too while it exists: a cancellation's record."""

    invoice_exists: bool = True


@dataclass(frozen=True)
class DetailStatus:
    """The Xero status shown on the invoice's existing Xero details."""

    invoice_id: str
    xero_status: str


@dataclass(frozen=True)
class XeroStatusChange:
    """Xero's status and amount due on an existing dxc_xerodetail row."""

    invoice_id: str
    detail_id: str
    xero_status: str
    amount_due: Decimal


@dataclass(frozen=True)
class InvoiceAmountDue:
    invoice_id: str
    amount_due: Decimal


@dataclass(frozen=True)
class InvoiceState:
    """statecode and statuscode PATCHed together (Dynamics' state model for invoices)."""

    invoice_id: str
    state: int
    status: int


class PaymentKind(StrEnum):
    PAYMENT = "Payment"
    CREDIT_NOTE = "CreditNote"
    OVERPAYMENT = "Overpayment"
    PREPAYMENT = "Prepayment"


def payment_row_id(invoice_id: str, kind: PaymentKind, xero_id: str) -> str:
    """The dxc_payment row of one Xero payment or credit on one invoice, always the same: an
    upsert to it twice changes nothing."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dxc_payment:{invoice_id}:{kind}:{xero_id}"))


@dataclass(frozen=True)
class PaymentRecord:
    """A payment or credit applied to the invoice in Xero, in the invoice's currency."""

    invoice_id: str
    kind: PaymentKind
    xero_id: str
    amount: Decimal
    on: date | None
    reference: str | None
    currency: str

    @property
    def row_id(self) -> str:
        return payment_row_id(self.invoice_id, self.kind, self.xero_id)

    @property
    def name(self) -> str:
        label = {PaymentKind.CREDIT_NOTE: "Credit note"}.get(self.kind, self.kind.value)
        return f"{label} {self.amount:.2f} {self.currency}" + (f" {self.on}" if self.on else "")


@dataclass(frozen=True)
class PaymentRemoved:
    invoice_id: str
    row_id: str


@dataclass(frozen=True)
class CustomerBalance:
    """Xero's receivables for the contact, on the Dynamics account or contact linked to it."""

    kind: str
    customer_id: str
    owed: Decimal
    overdue: Decimal


WriteBack = (
    XeroDetailChange
    | HistoryEntry
    | LineTax
    | CustomerLink
    | DetailHistory
    | DetailStatus
    | XeroStatusChange
    | InvoiceAmountDue
    | InvoiceState
    | PaymentRecord
    | PaymentRemoved
    | CustomerBalance
)


def created_message(xero_invoice_id: str) -> str:
    return f"Invoice has been created in Xero - {xero_invoice_id}"


def updated_message(xero_invoice_id: str) -> str:
    return f"Invoice has been updated in Xero - {xero_invoice_id}"


def tax_not_written(reason: str) -> str:
    """For an invoice that became read-only in Dynamics before Xero's tax came back."""
    return (
        "The invoice is in Xero, but Xero's tax on its lines could not be written to Dynamics, "
        f"which refused it ({reason}): a paid or canceled invoice is read-only. Reactivate the "
        "invoice and set Export status to No if the line tax matters."
    )


def invoice_url(short_code: str | None, xero_invoice_id: str, invoice_type: str) -> str:
    """Xero's deep link, which logs the user into the right organisation first."""
    page = "AccountsPayable" if invoice_type == "ACCPAY" else "AccountsReceivable"
    redirect = f"/{page}/View.aspx?InvoiceID={xero_invoice_id}"
    if not short_code:
        return f"https://go.xero.com{redirect}"
    return (
        "https://go.xero.com/organisationlogin/default.aspx"
        f"?shortcode={short_code}&redirecturl={redirect}"
    )
