"""Reconciliation: what Dynamics holds of each exported invoice against what Xero says of it,
and the invoices only one side knows. Pure: both sides come in as plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

GONE = frozenset({"DELETED", "VOIDED"})


@dataclass(frozen=True)
class LinkedInvoice:
    """A Dynamics invoice linked to a Xero invoice (its Xero details say Yes)."""

    invoice_id: str
    name: str
    xero_id: str  # lower case
    total: Decimal
    tax: Decimal
    xero_status: str | None  # the status Dynamics last recorded on the Xero details
    amount_due: Decimal | None = None  # the amount due Dynamics holds, where it holds one


@dataclass(frozen=True)
class XeroSide:
    xero_id: str  # lower case
    number: str | None
    status: str
    total: Decimal
    tax: Decimal
    amount_due: Decimal
    url: str | None
    contact_id: str | None = None  # lower case
    contact_name: str | None = None
    date: date | None = None
    type: str = "ACCREC"  # or ACCPAY (a bill)


@dataclass(frozen=True)
class Difference:
    invoice: str  # the Dynamics invoice's name
    xero_number: str | None
    field: str  # total, tax, status, amount due
    dynamics: str
    xero: str


@dataclass
class Reconciliation:
    linked: int = 0
    differences: list[Difference] = field(default_factory=list)
    missing_in_xero: list[LinkedInvoice] = field(default_factory=list)
    # Xero invoices whose Url names a Dynamics invoice of this organisation that is not linked
    # to them: (the Xero invoice, the Dynamics invoice id its Url names)
    orphans_in_xero: list[tuple[XeroSide, str]] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not (self.differences or self.missing_in_xero or self.orphans_in_xero)


def compare(held: LinkedInvoice, xero: XeroSide) -> list[Difference]:
    """The fields on which the two sides of one linked invoice disagree."""
    pairs: list[tuple[str, object, object]] = [
        ("total", held.total, xero.total),
        ("tax", held.tax, xero.tax),
        ("status", (held.xero_status or "").upper(), xero.status.upper()),
    ]
    if held.amount_due is not None:
        pairs.append(("amount due", held.amount_due, xero.amount_due))
    return [
        Difference(held.name, xero.number, name, str(mine), str(theirs))
        for name, mine, theirs in pairs
        if mine != theirs
    ]


def linked_dynamics_id(url: str | None, org_url: str) -> str | None:
    """The Dynamics invoice id a Xero invoice's Url names, when it is a link into `org_url`
    (the push writes org_url/main.aspx?etn=invoice&...&id=<invoiceid>)."""
    if not url or not url.lower().startswith(org_url.lower().rstrip("/") + "/main.aspx?"):
        return None
    query = url.split("?", 1)[1]
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    if params.get("etn") != "invoice" or not params.get("id"):
        return None
    return params["id"].lower()


def reconcile(
    held: Iterable[LinkedInvoice], xero: Mapping[str, XeroSide], org_url: str
) -> Reconciliation:
    """Each held invoice against its Xero invoice (missing when Xero has no such id), then the
    Xero invoices that link one of this organisation's invoices and are linked by none."""
    result = Reconciliation()
    linked_xero: set[str] = set()
    linked_dynamics: set[str] = set()
    for invoice in held:
        linked_dynamics.add(invoice.invoice_id.lower())
        theirs = xero.get(invoice.xero_id)
        if theirs is None:
            result.missing_in_xero.append(invoice)
            continue
        linked_xero.add(invoice.xero_id)
        result.linked += 1
        result.differences += compare(invoice, theirs)
    for xero_id, theirs in sorted(xero.items()):
        if theirs.status in GONE:
            continue  # deleted or voided, e.g. by the cancellations step: nothing to reconcile
        target = linked_dynamics_id(theirs.url, org_url)
        if target and xero_id not in linked_xero and target not in linked_dynamics:
            result.orphans_in_xero.append((theirs, target))
    return result
