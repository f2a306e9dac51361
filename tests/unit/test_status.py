from decimal import Decimal

import pytest

from d365xero.domain.status import edit_refusal

ZERO = Decimal(0)


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_drafts_and_submitted_invoices_take_any_change(status: str) -> None:
    assert edit_refusal(status, ZERO, ZERO) == ""


def test_an_approved_invoice_takes_changes_until_money_is_applied() -> None:
    assert edit_refusal("AUTHORISED", ZERO, ZERO) == ""
    assert "payment or credit note" in edit_refusal("AUTHORISED", Decimal("10.00"), ZERO)
    assert "payment or credit note" in edit_refusal("AUTHORISED", ZERO, Decimal("5.00"))


@pytest.mark.parametrize("status", ["PAID", "VOIDED", "DELETED"])
def test_closed_invoices_take_none_and_say_their_state(status: str) -> None:
    assert f"it is {status.title()} in Xero" in edit_refusal(status, ZERO, ZERO)
