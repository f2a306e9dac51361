"""A dry run: the real pass over ports that read for real and write nothing.

Xero and Dynamics are read exactly as a real pass reads them, so every validation result is
real; every write is recorded instead of sent, and shown to the user invoice by invoice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from d365xero.domain.fieldmap import NO_EXTRA, ExtraColumns
from d365xero.domain.history import WriteBack
from d365xero.domain.mapping import ContactDraft, InvoiceDraft, ItemDraft
from d365xero.domain.records import ConnectorSettings, Invoice
from d365xero.sync.ports import (
    AppliedWrite,
    ContactLookup,
    DynamicsPort,
    Organisation,
    PendingWrite,
    ReferenceData,
    WriteLedger,
    XeroInvoiceResult,
    XeroPort,
)

NEW = "(new)"


@dataclass
class Intentions:
    """What the pass would have done."""

    contacts: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # invoice id -> JSON
    write_backs: list[WriteBack] = field(default_factory=list)


class DryRunXero:
    def __init__(self, xero: XeroPort, intentions: Intentions) -> None:
        self._xero = xero
        self._intentions = intentions

    def organisation(self) -> Organisation:
        return self._xero.organisation()

    def reference_data(self, with_themes: bool = True) -> ReferenceData:
        return self._xero.reference_data(with_themes)

    def forget_cached(self) -> None:
        self._xero.forget_cached()

    def contacts_by_name(self, names: Sequence[str]) -> ContactLookup:
        return self._xero.contacts_by_name(names)

    def used_invoice_numbers(self, numbers: Sequence[str]) -> frozenset[str]:
        return self._xero.used_invoice_numbers(numbers)

    def create_contacts(self, drafts: Sequence[ContactDraft], key: str) -> dict[str, str]:
        self._intentions.contacts += [d.name for d in drafts]
        return {d.name: f"{NEW} {d.name}" for d in drafts}

    def item_codes(self) -> frozenset[str]:
        return self._xero.item_codes()

    def create_items(self, drafts: Sequence[ItemDraft], key: str) -> frozenset[str]:
        self._intentions.items += [d.code for d in drafts]
        return frozenset(d.code for d in drafts)

    def create_invoices(self, drafts: Sequence[InvoiceDraft], key: str) -> list[XeroInvoiceResult]:
        for draft in drafts:
            self._intentions.invoices[draft.source_id] = self.invoice_payload(draft)
        return [
            XeroInvoiceResult(ok=True, xero_invoice_id=NEW, number=d.invoice_number) for d in drafts
        ]

    def update_invoices(
        self, updates: Sequence[tuple[str, InvoiceDraft]], key: str
    ) -> list[XeroInvoiceResult]:
        for xero_id, draft in updates:
            self._intentions.invoices[draft.source_id] = {
                "InvoiceID": xero_id,
                **self.invoice_payload(draft),
            }
        return [
            XeroInvoiceResult(ok=True, xero_invoice_id=xero_id, number=d.invoice_number)
            for xero_id, d in updates
        ]

    def invoices_by_id(self, ids: Sequence[str]) -> dict[str, XeroInvoiceResult]:
        return self._xero.invoices_by_id(ids)

    def find_invoice_by_source(self, draft: InvoiceDraft, since_epoch: float) -> str | None:
        return self._xero.find_invoice_by_source(draft, since_epoch)

    def invoice_payload(self, draft: InvoiceDraft) -> dict[str, Any]:
        if draft.contact_id and draft.contact_id.startswith(NEW):
            # The contact would be created first; until then only its name is known.
            draft = InvoiceDraft(**{**vars(draft), "contact_id": None})
        return self._xero.invoice_payload(draft)


class DryRunDynamics:
    def __init__(self, dynamics: DynamicsPort, intentions: Intentions) -> None:
        self._dynamics = dynamics
        self._intentions = intentions

    def settings(self) -> ConnectorSettings:
        return self._dynamics.settings()

    def ready_invoices(self, limit: int, extra: ExtraColumns, delivered_by: date) -> list[Invoice]:
        return self._dynamics.ready_invoices(limit, extra, delivered_by)

    def edited_invoice_pages(
        self, since: datetime, page_size: int, extra: ExtraColumns = NO_EXTRA
    ) -> Iterator[list[Invoice]]:
        return self._dynamics.edited_invoice_pages(since, page_size, extra)

    def column_types(self, table: str) -> dict[str, str]:
        return self._dynamics.column_types(table)

    def write_back(self, changes: Sequence[WriteBack]) -> list[str]:
        self._intentions.write_backs += changes
        return []

    def has_reference_rows(self, kind: str) -> bool:
        return self._dynamics.has_reference_rows(kind)

    def write_reference_data(
        self, tenant_id: str, data: ReferenceData, kinds: Sequence[str] = ()
    ) -> dict[str, int]:
        return {}


class DryRunLedger:
    """Reads what earlier passes recorded; records nothing itself."""

    def __init__(self, ledger: WriteLedger) -> None:
        self._ledger = ledger

    def begin(self, kind: str, parts: Mapping[str, bytes]) -> str:
        return "dry-run"

    def applied(self, key: str, xero_ids: dict[str, str | None]) -> None:
        return None

    def failed(self, key: str, source_ids: Sequence[str], detail: str) -> None:
        return None

    def last_applied(self, kind: str, source_ids: Sequence[str]) -> dict[str, AppliedWrite]:
        return self._ledger.last_applied(kind, source_ids)

    def pending(self, kind: str) -> list[PendingWrite]:
        return self._ledger.pending(kind)

    def applied_sources(self, kind: str) -> dict[str, str]:
        return self._ledger.applied_sources(kind)

    def edits_checked_until(self) -> datetime | None:
        return self._ledger.edits_checked_until()

    def mark_edits_checked(self, until: datetime) -> None:
        return None
