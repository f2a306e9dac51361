"""The back-sync's plan for one invoice: what Xero holds against what Dynamics holds, in an order
Dynamics accepts (a Paid invoice is read-only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from d365xero.domain.history import (
    HistoryEntry,
    InvoiceAmountDue,
    InvoiceState,
    PaymentKind,
    PaymentRecord,
    PaymentRemoved,
    XeroStatusChange,
    payment_row_id,
)
from d365xero.domain.settlement import (
    ACTIVE,
    ACTIVE_NEW,
    CANCELED,
    PAID,
    PAID_COMPLETE,
    PAID_MESSAGE,
    Applied,
    HeldInvoice,
    HeldPayment,
    XeroSettlement,
    records,
    settle,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAY = Applied(PaymentKind.PAYMENT, "p1", Decimal("120.00"), date(2026, 12, 1), "BACS")


def _xero(status: str = "AUTHORISED", due: str = "120.00", *applied: Applied) -> XeroSettlement:
    paid = sum((a.amount for a in applied if a.kind is PaymentKind.PAYMENT), Decimal(0))
    return XeroSettlement("x1", status, "GBP", Decimal(due), amount_paid=paid, applied=applied)


def _held(**more: object) -> HeldInvoice:
    fields: dict[str, object] = {
        "invoice_id": "i1",
        "name": "Invoice 1",
        "state": ACTIVE,
        "detail_id": "d1",
        "xero_status": "Authorised",
        "detail_amount_due": Decimal("120.00"),
        "amount_due": Decimal("120.00"),
    }
    fields.update(more)
    return HeldInvoice(**fields)  # type: ignore[arg-type]


def _held_row(record: PaymentRecord) -> HeldPayment:
    return HeldPayment(
        record.row_id,
        record.kind.value,
        record.xero_id,
        record.amount,
        record.on,
        record.reference,
        record.currency,
    )


def test_nothing_changed_writes_nothing() -> None:
    assert settle(_xero(), _held(), NOW).changes == ()


def test_a_just_pushed_invoice_gets_its_amount_due_without_history() -> None:
    plan = settle(_xero("DRAFT"), _held(xero_status="Draft", amount_due=None), NOW)
    assert [type(c) for c in plan.changes] == [InvoiceAmountDue]
    assert plan.result == "amount-due"


def test_paid_writes_the_invoice_first_and_its_state_last() -> None:
    plan = settle(_xero("PAID", "0.00", PAY), _held(), NOW)
    kinds = [type(c) for c in plan.changes]
    assert kinds == [InvoiceAmountDue, XeroStatusChange, PaymentRecord, HistoryEntry, InvoiceState]
    assert plan.changes[-1] == InvoiceState("i1", PAID, PAID_COMPLETE)
    assert [c.details for c in plan.changes if isinstance(c, HistoryEntry)] == [PAID_MESSAGE]
    assert plan.result == "paid"


def _paid_in_dynamics(xero: XeroSettlement) -> HeldInvoice:
    """What Dynamics holds once the paid invoice's settlement was written."""
    rows = tuple(_held_row(r) for r in records(xero, "i1").values())
    zero = Decimal(0)
    return _held(
        state=PAID, xero_status="Paid", detail_amount_due=zero, amount_due=zero, payments=rows
    )


def test_settled_again_after_it_was_written_changes_nothing() -> None:
    xero = _xero("PAID", "0.00", PAY)
    assert settle(xero, _paid_in_dynamics(xero), NOW).changes == ()


def test_a_payment_removed_after_paid_reactivates_first() -> None:
    held = _paid_in_dynamics(_xero("PAID", "0.00", PAY))
    plan = settle(_xero(), held, NOW)
    assert plan.changes[0] == InvoiceState("i1", ACTIVE, ACTIVE_NEW)
    assert PaymentRemoved("i1", held.payments[0].row_id) in plan.changes
    assert not any(isinstance(c, InvoiceState) and c.state == PAID for c in plan.changes)
    assert plan.result == "reactivated"


def test_an_invoice_marked_paid_by_hand_in_dynamics_is_left_as_it_is() -> None:
    held = _held(state=PAID, xero_status="Authorised")  # Xero never said PAID
    plan = settle(_xero(), held, NOW)
    assert not any(isinstance(c, InvoiceState) for c in plan.changes)
    assert plan.result != "reactivated"


def test_a_cancelled_invoice_is_left_read_only() -> None:
    plan = settle(_xero("PAID", "0.00", PAY), _held(state=CANCELED), NOW)
    assert not any(isinstance(c, InvoiceState | InvoiceAmountDue) for c in plan.changes)
    assert any(isinstance(c, PaymentRecord) for c in plan.changes)


def test_two_allocations_of_one_credit_note_are_one_row() -> None:
    credit = Applied(PaymentKind.CREDIT_NOTE, "cn1", Decimal("20.00"), date(2026, 11, 1), "CN-1")
    later = replace(credit, amount=Decimal("30.00"), on=date(2026, 11, 5))
    [row] = records(_xero("AUTHORISED", "70.00", credit, later), "i1").values()
    assert (row.amount, row.on, row.reference) == (Decimal("50.00"), date(2026, 11, 5), "CN-1")
    assert row.row_id == payment_row_id("i1", PaymentKind.CREDIT_NOTE, "cn1")


def test_part_paid_says_what_was_paid_and_what_is_due() -> None:
    part = replace(PAY, amount=Decimal("20.00"))
    plan = settle(_xero("AUTHORISED", "100.00", part), _held(), NOW)
    [history] = [c for c in plan.changes if isinstance(c, HistoryEntry)]
    assert history.details == "Invoice part paid in Xero: 20.00 GBP paid, 100.00 GBP due."
    assert plan.result == "part-paid"


def test_status_voided_and_deleted_each_have_their_own_words() -> None:
    for status, words in (
        ("VOIDED", "Invoice voided in Xero"),
        ("DELETED", "Invoice deleted in Xero"),
        ("SUBMITTED", "Invoice status updated: SUBMITTED"),
    ):
        plan = settle(_xero(status), _held(xero_status="Draft"), NOW)
        assert [c.details for c in plan.changes if isinstance(c, HistoryEntry)] == [words]


def test_a_paid_invoice_is_not_written_while_it_stays_paid() -> None:
    held = _held(state=PAID, xero_status="Paid", detail_amount_due=Decimal(0), amount_due=None)
    plan = settle(_xero("PAID", "0.00"), held, NOW)
    assert plan.changes == ()  # Dynamics would refuse the amount due of a read-only invoice
