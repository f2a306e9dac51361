"""What the connector writes back to Dynamics after a try: Xero details, Sync History rows,
per-line tax and customer links. Plain records; the Dataverse client turns them into requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


WriteBack = XeroDetailChange | HistoryEntry | LineTax | CustomerLink | DetailHistory | DetailStatus


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
