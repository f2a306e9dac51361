"""What comes back from Xero for one exported invoice: its status, amount due, the payments and
credits applied to it, and whether Dynamics shows it Paid. Planned as write-backs against what
Dynamics holds, so what is already so is never written again (a re-read changes nothing).

Dynamics makes a Paid invoice read-only, so the plan's order matters and the gateway keeps it:
a reactivation comes first, then the invoice's own columns, then the other tables, and the
change to Paid comes last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from d365xero.domain.history import (
    HistoryEntry,
    InvoiceAmountDue,
    InvoiceState,
    PaymentKind,
    PaymentRecord,
    PaymentRemoved,
    SyncAction,
    SyncStatus,
    WriteBack,
    XeroStatusChange,
)

# Dynamics invoice states (statecode) and the status reasons (statuscode) the connector sets.
ACTIVE, CLOSED, PAID, CANCELED = 0, 1, 2, 3
ACTIVE_NEW = 1  # what Dynamics itself gives an invoice made active again (SetState's default)
PAID_COMPLETE = 100001

PAID_MESSAGE = "Invoice has been paid in Xero"


@dataclass(frozen=True)
class Applied:
    """A payment, credit note, overpayment or prepayment applied to the invoice, as Xero lists
    it on the invoice (amounts in the invoice's currency)."""

    kind: PaymentKind
    xero_id: str
    amount: Decimal
    on: date | None = None
    reference: str | None = None


@dataclass(frozen=True)
class XeroSettlement:
    xero_id: str
    status: str  # DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED
    currency: str
    amount_due: Decimal
    amount_paid: Decimal = Decimal(0)
    amount_credited: Decimal = Decimal(0)
    contact_id: str | None = None
    updated: datetime | None = None
    applied: tuple[Applied, ...] = ()


@dataclass(frozen=True)
class HeldPayment:
    """A dxc_payment row Dynamics holds for the invoice."""

    row_id: str
    kind: str | None
    xero_id: str | None
    amount: Decimal | None
    on: date | None
    reference: str | None
    currency: str | None


@dataclass(frozen=True)
class HeldCustomer:
    """A Dynamics account or contact linked to a Xero contact, with the balances it shows."""

    kind: str  # account | contact
    customer_id: str
    xero_contact_id: str
    owed: Decimal | None
    overdue: Decimal | None


@dataclass(frozen=True)
class HeldInvoice:
    """What Dynamics holds of an exported invoice and its Xero details."""

    invoice_id: str
    name: str
    state: int
    detail_id: str
    xero_status: str | None
    detail_amount_due: Decimal | None
    amount_due: Decimal | None
    payments: tuple[HeldPayment, ...] = ()
    customer: HeldCustomer | None = None


@dataclass(frozen=True)
class Settlement:
    changes: tuple[WriteBack, ...]
    result: str  # empty when nothing changed; else paid, reactivated, voided, deleted, ...
    message: str = ""


def records(xero: XeroSettlement, invoice_id: str) -> dict[str, PaymentRecord]:
    """One dxc_payment row per Xero payment, and per credit note, overpayment or prepayment
    (two allocations of one credit note to the invoice make one row with their sum)."""
    found: dict[str, PaymentRecord] = {}
    for applied in xero.applied:
        record = PaymentRecord(
            invoice_id,
            applied.kind,
            applied.xero_id,
            applied.amount,
            applied.on,
            applied.reference,
            xero.currency,
        )
        earlier = found.get(record.row_id)
        if earlier is not None:
            on = max((d for d in (earlier.on, record.on) if d), default=None)
            amount = earlier.amount + record.amount
            record = PaymentRecord(
                invoice_id,
                record.kind,
                record.xero_id,
                amount,
                on,
                earlier.reference,
                xero.currency,
            )
        found[record.row_id] = record
    return found


def _same(held: HeldPayment | None, record: PaymentRecord) -> bool:
    return held is not None and (
        held.kind,
        held.xero_id,
        held.amount,
        held.on,
        held.reference or None,
        held.currency,
    ) == (
        record.kind.value,
        record.xero_id,
        record.amount,
        record.on,
        record.reference or None,
        record.currency,
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def _paid_so_far(xero: XeroSettlement) -> str:
    paid = _money(xero.amount_paid, xero.currency)
    if xero.amount_credited:
        return f"{paid} paid and {_money(xero.amount_credited, xero.currency)} credited"
    return f"{paid} paid"


def settle(xero: XeroSettlement, held: HeldInvoice, now: datetime) -> Settlement:
    """The write-backs that make Dynamics show what Xero holds of this invoice, in order."""
    wanted = records(xero, held.invoice_id)
    rows = {p.row_id: p for p in held.payments}
    upserts = [r for row_id, r in wanted.items() if not _same(rows.get(row_id), r)]
    removed = [PaymentRemoved(held.invoice_id, row_id) for row_id in rows if row_id not in wanted]
    paid = xero.status == "PAID"
    # A Canceled (or the deprecated Closed) invoice is read-only and stays as the user left it.
    editable = held.state in (ACTIVE, PAID)
    to_paid = editable and paid and held.state == ACTIVE
    # Only what the connector set Paid (Xero said PAID) is made active again when Xero stops
    # saying so; an invoice a user marked Paid in Dynamics by hand stays as they left it.
    was_paid_in_xero = (held.xero_status or "").upper() == "PAID"
    reactivate = editable and not paid and held.state == PAID and was_paid_in_xero
    status_changed = (held.xero_status or "").upper() != xero.status

    changes: list[WriteBack] = []
    if reactivate:
        changes.append(InvoiceState(held.invoice_id, ACTIVE, ACTIVE_NEW))
    writable = held.state == ACTIVE or reactivate  # a Paid invoice takes no other change
    if writable and held.amount_due != xero.amount_due:
        changes.append(InvoiceAmountDue(held.invoice_id, xero.amount_due))
    if status_changed or held.detail_amount_due != xero.amount_due:
        changes.append(
            XeroStatusChange(held.invoice_id, held.detail_id, xero.status.title(), xero.amount_due)
        )
    changes += upserts
    changes += removed
    history = _history(xero, status_changed, to_paid, reactivate, bool(upserts), bool(removed))
    changes += [HistoryEntry(held.invoice_id, now, a, SyncStatus.SUCCESSFUL, m) for a, m in history]
    if to_paid:
        changes.append(InvoiceState(held.invoice_id, PAID, PAID_COMPLETE))
    if not changes:
        return Settlement((), "")
    return Settlement(
        tuple(changes),
        _result(xero, status_changed, to_paid, reactivate, bool(upserts or removed)),
        " ".join(m for _, m in history),
    )


def _history(
    xero: XeroSettlement,
    status_changed: bool,
    to_paid: bool,
    reactivate: bool,
    recorded: bool,
    removed: bool,
) -> list[tuple[SyncAction, str]]:
    """One Sync History row per change a person should know of."""
    due = _money(xero.amount_due, xero.currency)
    rows: list[tuple[SyncAction, str]] = []
    if xero.status == "PAID":
        if status_changed or to_paid:
            rows.append((SyncAction.UPDATE, PAID_MESSAGE))
    elif status_changed and xero.status == "VOIDED":
        rows.append((SyncAction.VOID, "Invoice voided in Xero"))
    elif status_changed and xero.status == "DELETED":
        rows.append((SyncAction.DELETE, "Invoice deleted in Xero"))
    elif status_changed:
        rows.append((SyncAction.UPDATE, f"Invoice status updated: {xero.status}"))
    if xero.status == "PAID":
        return rows
    if reactivate:
        rows.append(
            (
                SyncAction.PAYMENT,
                "A payment was removed in Xero, so the invoice is no longer paid: it is active "
                f"again with {due} due.",
            )
        )
    elif removed:
        rows.append(
            (SyncAction.PAYMENT, f"A payment was removed in Xero: {_paid_so_far(xero)}, {due} due.")
        )
    elif recorded:
        rows.append(
            (SyncAction.PAYMENT, f"Invoice part paid in Xero: {_paid_so_far(xero)}, {due} due.")
        )
    return rows


def _result(
    xero: XeroSettlement, status_changed: bool, to_paid: bool, reactivate: bool, payments: bool
) -> str:
    if to_paid:
        return "paid"
    if reactivate:
        return "reactivated"
    if status_changed and xero.status in ("VOIDED", "DELETED"):
        return xero.status.lower()
    if payments:
        return "part-paid" if xero.status == "AUTHORISED" else "payments"
    if status_changed:
        return "status"
    return "amount-due"
