"""The reconciliation rules: amounts compared as amounts, orphans found by the Url's link."""

from __future__ import annotations

from decimal import Decimal

from d365xero.domain.reconcile import (
    LinkedInvoice,
    XeroSide,
    compare,
    linked_dynamics_id,
    reconcile,
)

ORG = "https://org.crm.dynamics.com"
URL = f"{ORG}/main.aspx?etn=invoice&pagetype=entityrecord&id=ABC"


def _xero(xero_id: str, url: str | None = None, status: str = "DRAFT") -> XeroSide:
    return XeroSide(xero_id, "INV-1", status, Decimal("10"), Decimal("2.00"), Decimal(10), url)


def test_equal_amounts_written_differently_agree() -> None:
    held = LinkedInvoice("i", "Inv", "x", Decimal("10.00"), Decimal("2.0"), "DRAFT")
    assert compare(held, _xero("x")) == []


def test_each_field_that_differs_is_named() -> None:
    held = LinkedInvoice("i", "Inv", "x", Decimal("11"), Decimal("2"), "draft", Decimal(3))
    found = {d.field: (d.dynamics, d.xero) for d in compare(held, _xero("x", status="PAID"))}
    assert found == {"total": ("11", "10"), "status": ("DRAFT", "PAID"), "amount due": ("3", "10")}


def test_the_url_names_an_invoice_of_this_organisation_only() -> None:
    assert linked_dynamics_id(URL, ORG + "/") == "abc"
    assert linked_dynamics_id(URL, "https://other.crm.dynamics.com") is None
    assert linked_dynamics_id(f"{ORG}/main.aspx?etn=account&id=ABC", ORG) is None
    assert linked_dynamics_id(None, ORG) is None


def test_orphans_and_missing_invoices() -> None:
    held = [LinkedInvoice("i1", "One", "x1", Decimal(10), Decimal(2), "DRAFT")]
    xero = {
        "x2": _xero("x2", URL),  # links abc, which links nothing: an orphan
        "x3": _xero("x3", URL, status="VOIDED"),  # voided: nothing to reconcile
        "x4": _xero("x4", None),  # not ours
    }
    result = reconcile(held, xero, ORG)
    assert [h.name for h in result.missing_in_xero] == ["One"]
    assert [(x.xero_id, target) for x, target in result.orphans_in_xero] == [("x2", "abc")]
    assert not result.agrees and result.linked == 0
