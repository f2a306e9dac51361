"""What Xero lets happen to an invoice in each status."""

from __future__ import annotations

from decimal import Decimal

EDITABLE = ("DRAFT", "SUBMITTED")


def edit_refusal(status: str, amount_paid: Decimal, amount_credited: Decimal) -> str:
    """Why Xero will not take a change to an invoice in this state now; empty when it will."""
    if status in EDITABLE:
        return ""
    if status == "AUTHORISED" and not (amount_paid or amount_credited):
        return ""  # Xero allows editing an approved invoice until money is applied to it
    if status == "AUTHORISED":
        # Xero: "This document cannot be edited as it has a payment or credit note allocated to
        # it." (reference/xero.md 3.3)
        return (
            "it has a payment or credit note allocated in Xero, which then allows no edits. "
            "Make the change in Xero, or remove the payment there first."
        )
    return (
        f"it is {status.title()} in Xero, which allows no edits. Make the change in Xero if it "
        "still matters (for example with a credit note)."
    )
