"""The backfill's matching rules: by number first, else contact, date and total; never a guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from d365xero.domain.backfill import BY_CONTACT, BY_NUMBER, UnlinkedInvoice, match
from d365xero.domain.reconcile import XeroSide

DAY = date(2026, 11, 30)


def _ours(
    name: str, number: str | None = None, total: str = "100", **more: object
) -> UnlinkedInvoice:
    fields: dict[str, object] = {
        "invoice_id": name,
        "name": name,
        "number": number,
        "customer_name": "Ridgeway",
        "customer_xero_id": None,
        "date": DAY,
        "total": Decimal(total),
        **more,
    }
    return UnlinkedInvoice(**fields)  # type: ignore[arg-type]


def _theirs(xero_id: str, number: str, total: str = "100.00", **more: object) -> XeroSide:
    fields: dict[str, object] = {
        "xero_id": xero_id,
        "number": number,
        "status": "AUTHORISED",
        "total": Decimal(total),
        "tax": Decimal(0),
        "amount_due": Decimal(total),
        "url": None,
        "contact_id": "c1",
        "contact_name": "ridgeway",
        "date": DAY,
        **more,
    }
    return XeroSide(**fields)  # type: ignore[arg-type]


def test_the_number_wins_over_contact_date_and_total() -> None:
    found = match(
        [_ours("a", "INV-7")], [_theirs("x1", "INV-7", "5"), _theirs("x2", "INV-8")], frozenset()
    )
    assert [(link.xero.xero_id, link.by) for link in found.links] == [("x1", BY_NUMBER)]


def test_contact_date_and_total_when_no_number_matches() -> None:
    found = match(
        [_ours("a", "D-1")], [_theirs("x1", "INV-1"), _theirs("x2", "INV-2", "99")], frozenset()
    )
    assert [(link.xero.xero_id, link.by) for link in found.links] == [("x1", BY_CONTACT)]


def test_two_candidates_are_listed_never_chosen() -> None:
    found = match([_ours("a")], [_theirs("x1", "INV-1"), _theirs("x2", "INV-2")], frozenset())
    assert not found.links
    assert [[x.xero_id for x in a.candidates] for a in found.ambiguous] == [["x1", "x2"]]


def test_one_xero_invoice_two_dynamics_invoices_would_take_links_neither() -> None:
    found = match([_ours("a"), _ours("b")], [_theirs("x1", "INV-1")], frozenset())
    assert not found.links and {a.invoice.name for a in found.ambiguous} == {"a", "b"}


def test_taken_voided_and_other_type_invoices_are_not_candidates() -> None:
    xero = [
        _theirs("x1", "INV-1"),
        _theirs("x2", "INV-2", status="VOIDED"),
        _theirs("x3", "INV-3", type="ACCPAY"),
    ]
    found = match([_ours("a")], xero, frozenset({"x1"}))
    assert not found.links and not found.ambiguous and found.unmatched == 1


def test_a_linked_customer_is_matched_by_its_contact_id_not_its_name() -> None:
    found = match([_ours("a", customer_xero_id="c2")], [_theirs("x1", "INV-1")], frozenset())
    assert found.unmatched == 1
