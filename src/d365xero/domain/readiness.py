"""Which invoices a pass should push, which must wait, and which cannot sync and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from d365xero.domain.records import ExportStatus, Invoice


class Verdict(StrEnum):
    READY = "ready"
    WAIT = "wait"  # Date Delivered is in the future: leave it untouched
    DONE = "done"  # already exported, or failed and not yet reset to No
    FAILED = "failed"


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    problems: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return " ".join(self.problems)


def needs_export(invoice: Invoice) -> bool:
    """No Xero details yet, or export status set (back) to No."""
    return invoice.xero is None or invoice.xero.export_status is ExportStatus.NO


def assess(invoice: Invoice, today: date) -> Assessment:
    """`today` is the date in the connection's time zone."""
    if not needs_export(invoice):
        return Assessment(Verdict.DONE)
    problems = []
    if invoice.customer is None:
        problems.append(
            "The invoice has no Customer: set Customer to an account or a contact, then set "
            "Export status to No to retry."
        )
    if not invoice.has_price_list:
        problems.append(
            "The invoice has no Price List: set Price List, then set Export status to No to retry."
        )
    if not invoice.lines:
        problems.append(
            "The invoice has no product lines: add at least one line, then set Export status to "
            "No to retry."
        )
    if invoice.date_delivered is None:
        problems.append(
            "The invoice has no Date Delivered: set it to the invoice date for Xero, then set "
            "Export status to No to retry."
        )
    if problems:
        return Assessment(Verdict.FAILED, tuple(problems))
    assert invoice.date_delivered is not None
    if invoice.date_delivered > today:
        return Assessment(Verdict.WAIT)
    return Assessment(Verdict.READY)
