"""Backfill: which Dynamics invoices with no Xero link are the same invoice as one already in
Xero. By invoice number first; else by contact, date and total. Never a guess: a Dynamics
invoice with two candidates, or a Xero invoice two Dynamics invoices would take, is listed as
ambiguous and linked to nothing. Pure: both sides come in as plain data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from d365xero.domain.reconcile import GONE, XeroSide

BY_NUMBER = "invoice number"
BY_CONTACT = "contact, date and total"


@dataclass(frozen=True)
class UnlinkedInvoice:
    """A Dynamics invoice of the connection its Xero details do not link to Xero."""

    invoice_id: str
    name: str
    number: str | None
    customer_name: str
    customer_xero_id: str | None  # the customer's dxc_xerocontactid (lower case), if linked
    date: date | None  # date delivered: the Xero invoice's Date
    total: Decimal
    type: str = "ACCREC"  # the Xero type it would have: ACCPAY for a Purchase invoice


@dataclass(frozen=True)
class Link:
    invoice: UnlinkedInvoice
    xero: XeroSide
    by: str  # BY_NUMBER or BY_CONTACT


@dataclass(frozen=True)
class Ambiguous:
    invoice: UnlinkedInvoice
    candidates: tuple[XeroSide, ...]


@dataclass
class Matches:
    links: list[Link] = field(default_factory=list)
    ambiguous: list[Ambiguous] = field(default_factory=list)
    unmatched: int = 0


def _same_contact(invoice: UnlinkedInvoice, xero: XeroSide) -> bool:
    if invoice.customer_xero_id and xero.contact_id:
        return invoice.customer_xero_id == xero.contact_id
    return (
        bool(xero.contact_name)
        and invoice.customer_name.lower() == (xero.contact_name or "").lower()
    )


def candidates(invoice: UnlinkedInvoice, xero: Sequence[XeroSide]) -> tuple[list[XeroSide], str]:
    """The Xero invoices (of its type) this one may be, and by which rule."""
    xero = [x for x in xero if x.type == invoice.type]
    if invoice.number:
        numbered = [x for x in xero if (x.number or "").lower() == invoice.number.lower()]
        if numbered:
            return numbered, BY_NUMBER
    alike = [
        x
        for x in xero
        if x.date == invoice.date and x.total == invoice.total and _same_contact(invoice, x)
    ]
    return alike, BY_CONTACT


def match(
    unlinked: Iterable[UnlinkedInvoice], xero: Iterable[XeroSide], taken: frozenset[str]
) -> Matches:
    """Links for the invoices with exactly one candidate among the Xero invoices not `taken`
    (linked already) nor deleted or voided."""
    free = [x for x in xero if x.xero_id not in taken and x.status not in GONE]
    result = Matches()
    chosen: dict[str, list[Link]] = {}
    for invoice in unlinked:
        found, by = candidates(invoice, free)
        if len(found) == 1:
            chosen.setdefault(found[0].xero_id, []).append(Link(invoice, found[0], by))
        elif found:
            result.ambiguous.append(Ambiguous(invoice, tuple(found)))
        else:
            result.unmatched += 1
    for links in chosen.values():
        if len(links) == 1:
            result.links.append(links[0])
        else:  # two Dynamics invoices would take the same Xero invoice: neither does
            result.ambiguous += [Ambiguous(link.invoice, (link.xero,)) for link in links]
    return result
