"""The cancellation rule (DESIGN.md "Cancellation"), case by case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from d365xero.domain.cancellation import Cancel, XeroInvoice, plan
from d365xero.domain.history import SyncStatus
from d365xero.domain.records import LineAmountTypes


def _invoice(status: str, paid: str = "0", credited: str = "0") -> XeroInvoice:
    total = Decimal("120.00")
    return XeroInvoice(
        xero_id="x",
        number="INV-0001",
        type="ACCREC",
        status=status,
        contact_id="c",
        currency="GBP",
        line_amount_types=LineAmountTypes.EXCLUSIVE,
        total=total,
        amount_due=total - Decimal(paid) - Decimal(credited),
        amount_paid=Decimal(paid),
        amount_credited=Decimal(credited),
    )


@pytest.mark.parametrize("credit_notes", [True, False])
@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_drafts_are_deleted_whatever_the_setting(status: str, credit_notes: bool) -> None:
    assert plan(_invoice(status), credit_notes, deleted=False).action is Cancel.DELETE


def test_an_approved_unpaid_invoice_is_credited_and_allocated() -> None:
    decided = plan(_invoice("AUTHORISED"), True, deleted=True)
    assert decided.action is Cancel.CREDIT_ALLOCATED
    assert "deleted in Dynamics" in decided.message and "{note}" in decided.message


def test_a_part_paid_invoice_is_credited_but_not_allocated() -> None:
    decided = plan(_invoice("AUTHORISED", paid="20"), True, deleted=False)
    assert decided.action is Cancel.CREDIT_UNALLOCATED
    assert "must be allocated" in decided.message


def test_a_paid_invoice_is_left_alone_with_the_seeds_words() -> None:
    decided = plan(_invoice("PAID", paid="120"), True, deleted=False)
    assert decided.action is Cancel.NOTHING
    assert decided.message.startswith("The invoice is fully paid in Xero")


def test_without_the_setting_a_manual_credit_note_is_asked_for() -> None:
    decided = plan(_invoice("AUTHORISED"), False, deleted=False)
    assert decided.action is Cancel.NOTHING and decided.status is SyncStatus.FAILED
    assert "a manual credit note is needed" in decided.message


@pytest.mark.parametrize("status", ["VOIDED", "DELETED"])
def test_already_gone_in_xero_is_only_said(status: str) -> None:
    decided = plan(_invoice(status), True, deleted=False)
    assert decided.action is Cancel.NOTHING
    assert f"already {status.lower()} in Xero" in decided.message


def test_what_an_interrupted_pass_did_decides_not_the_state_it_left() -> None:
    # Our own allocation made the invoice PAID: it must not read as "fully paid" afterwards.
    credited = _invoice("PAID", credited="120")
    assert plan(credited, True, deleted=False, done=Cancel.CREDIT_ALLOCATED).action is (
        Cancel.CREDIT_ALLOCATED
    )
    deleted = _invoice("DELETED")
    assert plan(deleted, True, deleted=False, done=Cancel.DELETE).action is Cancel.DELETE


def test_an_invoice_no_longer_in_xero_is_only_said() -> None:
    assert plan(None, True, deleted=True).action is Cancel.NOTHING
