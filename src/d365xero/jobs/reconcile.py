"""`d365xero reconcile`: every linked invoice of a connection read in bulk from both sides and
compared (domain.reconcile), with the calls it took."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from d365xero.domain.reconcile import Reconciliation, XeroSide, reconcile
from d365xero.jobs.clients import ConnectionClients
from d365xero.xero.client import XeroClient

PAGE_SIZE = 1000  # Xero's largest page, and a Dynamics page of the same size


def every_invoice(xero: XeroClient, since: date | None = None) -> list[XeroSide]:
    """Xero's invoices and bills (dated `since` or later), a page of PAGE_SIZE at a time until
    a short page."""
    found: list[XeroSide] = []
    page = 1
    while True:
        batch = xero.invoices_page(page, PAGE_SIZE, since)
        found += batch
        if len(batch) < PAGE_SIZE:
            return found
        page += 1


@dataclass(frozen=True)
class ReconcileResult:
    reconciliation: Reconciliation
    xero_calls: int
    dataverse_calls: int


def reconcile_connection(clients: ConnectionClients) -> ReconcileResult:
    """Dynamics' linked invoices a page at a time, Xero's invoices a page at a time (one
    sweep finds both the linked ones and those linking us that nothing links)."""
    calls = (clients.xero.calls, clients.dataverse.calls)
    held = [i for page in clients.dynamics.linked_invoice_pages(PAGE_SIZE) for i in page]
    xero = {x.xero_id: x for x in every_invoice(clients.xero)}
    result = reconcile(held, xero, clients.dataverse.org_url)
    return ReconcileResult(
        result, clients.xero.calls - calls[0], clients.dataverse.calls - calls[1]
    )


def report_lines(result: Reconciliation) -> list[str]:
    lines = [
        f"{d.invoice} ({d.xero_number or 'no Xero number'}): {d.field} is {d.dynamics} in "
        f"Dynamics, {d.xero} in Xero"
        for d in result.differences
    ]
    lines += [
        f"{h.name}: exported to Xero invoice {h.xero_id}, which Xero does not have"
        for h in result.missing_in_xero
    ]
    lines += [
        f"Xero invoice {x.number or x.xero_id} links Dynamics invoice {target}, which is not "
        "linked to it"
        for x, target in result.orphans_in_xero
    ]
    return lines


def write_csv(path: Path, result: Reconciliation) -> None:
    """One row per finding: kind, Dynamics invoice, Xero invoice, field, Dynamics, Xero."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["kind", "dynamics_invoice", "xero_invoice", "field", "dynamics", "xero"])
        for d in result.differences:
            writer.writerow(
                ["differs", d.invoice, d.xero_number or "", d.field, d.dynamics, d.xero]
            )
        for h in result.missing_in_xero:
            writer.writerow(["missing in Xero", h.name, h.xero_id, "", "", ""])
        for x, target in result.orphans_in_xero:
            writer.writerow(["orphan in Xero", target, x.number or x.xero_id, "", "", ""])
