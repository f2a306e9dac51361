"""What cancelling (or deleting) an exported invoice in Dynamics does in Xero: DESIGN.md's
"Cancellation" rule, from the seed's "Create credit note automatically" setting, as pure
functions over what Xero holds of the invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from d365xero.domain.history import SyncAction, SyncStatus
from d365xero.domain.mapping import ACCPAY, LineDraft
from d365xero.domain.records import LineAmountTypes

ACCRECCREDIT = "ACCRECCREDIT"
ACCPAYCREDIT = "ACCPAYCREDIT"
DELETABLE = ("DRAFT", "SUBMITTED")  # Xero deletes these; an approved one can only be voided
GONE = ("VOIDED", "DELETED")


class Cancel(StrEnum):
    DELETE = "delete"  # a draft or submitted invoice: deleted in Xero
    CREDIT_ALLOCATED = "credit-allocated"  # approved, unpaid: credited in full and allocated
    CREDIT_UNALLOCATED = "credit-unallocated"  # part paid: credited in full, allocated by hand
    NOTHING = "nothing"  # Xero is left as it is; Sync History says why


@dataclass(frozen=True)
class XeroInvoice:
    """What Xero holds of an exported invoice, as much as a cancellation needs."""

    xero_id: str
    number: str
    type: str  # ACCREC | ACCPAY
    status: str
    contact_id: str
    currency: str | None
    line_amount_types: LineAmountTypes
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    lines: tuple[LineDraft, ...] = ()


@dataclass(frozen=True)
class CreditNoteDraft:
    """A credit note for the full amount of `invoice`: same contact, lines, currency and line
    amount types; its Reference ties it to the invoice, which is how a lost reply is found."""

    source_id: str  # the Dynamics invoice
    type: str
    contact_id: str
    lines: tuple[LineDraft, ...]
    line_amount_types: LineAmountTypes
    currency: str | None
    date: date
    reference: str
    status: str = "AUTHORISED"  # only an approved credit note can be allocated


@dataclass(frozen=True)
class Plan:
    action: Cancel
    history_action: SyncAction
    status: SyncStatus
    message: str  # for an action still to happen: what it will say once done ("{note}": number)


def _what(deleted: bool) -> str:
    return "deleted" if deleted else "cancelled"


def credit_reference(invoice_number: str) -> str:
    return f"Cancellation of {invoice_number}"


def plan(
    invoice: XeroInvoice | None,
    create_credit_note: bool,
    *,
    deleted: bool,
    done: Cancel | None = None,
) -> Plan:
    """What to do in Xero for an invoice cancelled (or `deleted`) in Dynamics. `done` is what an
    earlier, interrupted pass already did (the ledger says): it decides, not the invoice's state
    now, which that very change moved (a credited invoice is PAID in Xero)."""
    what = _what(deleted)
    if invoice is None:
        return Plan(
            Cancel.NOTHING,
            SyncAction.DELETE,
            SyncStatus.SUCCESSFUL,
            f"The invoice was {what} in Dynamics; its invoice is no longer in Xero, so nothing "
            "was changed there.",
        )
    number, status = invoice.number, invoice.status
    if done is Cancel.DELETE or (done is None and status in DELETABLE):
        return Plan(
            Cancel.DELETE,
            SyncAction.DELETE,
            SyncStatus.SUCCESSFUL,
            f"The invoice was {what} in Dynamics, so its Xero invoice {number} has been deleted "
            "in Xero.",
        )
    if done is None and status in GONE:
        return Plan(
            Cancel.NOTHING,
            SyncAction.VOID if status == "VOIDED" else SyncAction.DELETE,
            SyncStatus.SUCCESSFUL,
            f"The invoice was {what} in Dynamics; {number} is already {status.lower()} in Xero, "
            "so nothing was changed there.",
        )
    if done is None and (status == "PAID" or invoice.amount_due <= 0):
        return Plan(
            Cancel.NOTHING,
            SyncAction.CREDIT_NOTE,
            SyncStatus.SUCCESSFUL,
            f"The invoice is fully paid in Xero ({number}), so nothing was changed there after it "
            f"was {what} in Dynamics: refund or credit it in Xero if the money is to go back.",
        )
    if done is None and not create_credit_note:
        return Plan(
            Cancel.NOTHING,
            SyncAction.CREDIT_NOTE,
            SyncStatus.FAILED,
            f"The invoice was {what} in Dynamics, but {number} is approved in Xero and the "
            'connection does not create credit notes ("Create credit note automatically" is '
            f"No): a manual credit note is needed for {number} in Xero.",
        )
    if invoice.amount_paid or (done is None and invoice.amount_credited):
        return Plan(
            Cancel.CREDIT_UNALLOCATED,
            SyncAction.CREDIT_NOTE,
            SyncStatus.SUCCESSFUL,
            f"The invoice was {what} in Dynamics; {number} is part paid in Xero "
            f"({invoice.amount_paid + invoice.amount_credited} of {invoice.total}), so the credit "
            "note {note} for the full amount has been created but not allocated: it must be "
            "allocated (or refunded) by hand in Xero.",
        )
    return Plan(
        Cancel.CREDIT_ALLOCATED,
        SyncAction.CREDIT_NOTE,
        SyncStatus.SUCCESSFUL,
        f"The invoice was {what} in Dynamics, so the credit note {{note}} for the full amount "
        f"({invoice.total}) has been created in Xero and allocated to {number}.",
    )


def credit_note(source_id: str, invoice: XeroInvoice, today: date) -> CreditNoteDraft:
    return CreditNoteDraft(
        source_id=source_id,
        type=ACCPAYCREDIT if invoice.type == ACCPAY else ACCRECCREDIT,
        contact_id=invoice.contact_id,
        lines=invoice.lines,
        line_amount_types=invoice.line_amount_types,
        currency=invoice.currency,
        date=today,
        reference=credit_reference(invoice.number),
    )


def failed_message(deleted: bool, number: str, reason: str) -> str:
    return (
        f"The invoice was {_what(deleted)} in Dynamics, but Xero refused to change {number}: "
        f"{reason}. Make the change in Xero by hand."
    )
