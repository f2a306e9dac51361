"""The invoice push: ready Dynamics invoices become Xero invoices, and what happened goes back to
Dynamics as Xero details and Sync History.

Per page of invoices: assess (pure), recover unconfirmed writes, resolve contacts and items in
bulk, create the invoices in one Xero request, write everything back in one Dataverse batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from d365xero.domain import fieldmap, mapping
from d365xero.domain.fieldmap import ExtraColumns
from d365xero.domain.history import (
    CustomerLink,
    HistoryEntry,
    LineTax,
    SyncAction,
    SyncStatus,
    WriteBack,
    XeroDetailChange,
    created_message,
    invoice_url,
    updated_message,
)
from d365xero.domain.mapping import ACCREC, ContactDraft, InvoiceDraft, ItemDraft
from d365xero.domain.readiness import Verdict, assess
from d365xero.domain.records import ConnectorSettings, Customer, ExportStatus, Invoice
from d365xero.domain.retry import exhausted, gave_up_message
from d365xero.domain.status import edit_refusal
from d365xero.domain.validation import (
    XeroCatalog,
    build_catalog,
    contact_problems,
    item_problems,
    missing_contact_problem,
    preflight,
)
from d365xero.errors import ConfigurationError, RemoteRejected, TransientError
from d365xero.sync.ports import (
    AppliedWrite,
    DynamicsPort,
    Marks,
    NoRetries,
    Organisation,
    PendingWrite,
    RetryBook,
    WriteLedger,
    XeroInvoiceResult,
    XeroPort,
)
from d365xero.sync.reference import ask_refresh
from d365xero.sync.report import Outcome, StepReport

T = TypeVar("T")
PAGE_SIZE = 200  # invoices read from Dynamics at a time (and written back in one $batch)
XERO_BATCH = 50  # records in one Xero request: Xero's advice for batches


def _in_batches(items: list[T]) -> Iterator[list[T]]:
    """Xero-sized slices of a request's records."""
    for start in range(0, len(items), XERO_BATCH):
        yield items[start : start + XERO_BATCH]


def _dealt_with(seen: list[dict[str, AppliedWrite]], invoice_id: str, digest: bytes) -> bool:
    """This content was sent to Xero, or its refusal said, already."""
    fingerprint = hashlib.sha256(digest).hexdigest()
    return any(w[invoice_id].fingerprint == fingerprint for w in seen if invoice_id in w)


def _edit_refusal(current: XeroInvoiceResult | None) -> str:
    """Why Xero will not take a change to this invoice now; empty when it will."""
    if current is None:
        return "the invoice is no longer in Xero (deleted there?)."
    return edit_refusal(current.status or "", current.amount_paid, current.amount_credited)


@dataclass
class _PassState:
    """What one pass learns from Xero once and reuses for every page."""

    organisation: Organisation
    settings: ConnectorSettings
    catalog: XeroCatalog
    contacts: dict[str, str] = field(default_factory=dict)  # name -> ContactID
    archived: set[str] = field(default_factory=set)  # lower-case names of archived contacts
    pending: dict[str, PendingWrite] = field(default_factory=dict)  # invoice id -> write
    refreshed: bool = False  # the cached reference data was dropped and read again

    @property
    def item_codes(self) -> frozenset[str]:
        return self.catalog.item_codes


def local_now(settings: ConnectorSettings, now: datetime) -> datetime:
    """Now in the connection's time zone, which decides whether Date Delivered has come."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f'The time zone "{settings.timezone}" in the connector settings is not a time zone '
            "name: use one such as Europe/London or Australia/Sydney."
        ) from exc
    return now.astimezone(zone)


class InvoicePush:
    def __init__(
        self,
        dynamics: DynamicsPort,
        xero: XeroPort,
        ledger: WriteLedger,
        now: Callable[[], datetime],
        page_size: int = PAGE_SIZE,
        checkpoint: Callable[[str], None] = lambda step: None,
        retries: RetryBook | None = None,
        marks: Marks | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.dynamics = dynamics
        self.marks = marks  # where to ask the reference step for a fresh import
        # True once the process is stopping: the push ends after the page it is on is written
        # back, keeping its report (what is left stays ready for the next pass).
        self.stopping = stopping
        self.retries: RetryBook = retries or NoRetries()
        self.xero = xero
        self.ledger = ledger
        self.now = now
        self.page_size = page_size
        # Called between the steps whose order makes exactly-once: the pass checks there that
        # it still holds its connection's lock (jobs.passes), and the crash tests kill the
        # process at each one.
        self.checkpoint = checkpoint
        self._cached_settings: ConnectorSettings | None = None
        self._state: _PassState | None = None  # Xero is asked only once something is to go
        self._fields = fieldmap.NO_MAPPING

    def run(self) -> StepReport:
        report = StepReport()
        self._state = None
        started = self.now()
        extra = self._extra()
        today = local_now(self._settings(), started).date()
        handled: set[str] = set()
        while True:
            page = self.dynamics.ready_invoices(self.page_size, extra, today)
            fresh = [invoice for invoice in page if invoice.id not in handled]
            if not fresh:
                break  # nothing new: what is left stays ready for the next pass
            handled.update(invoice.id for invoice in fresh)
            self._write_back(self._push_page(fresh, report), report)
            if report.count("deferred"):
                break  # Xero is not answering: the next pass tries again
            if len(page) < self.page_size:
                break  # that was all of it
            if self.stopping():
                report.stopped = True
                return report
        since = self.ledger.edits_checked_until()
        if since is None:
            self.ledger.mark_edits_checked(started)
            return report
        # The watermark is Dynamics' own modifiedon, so no clock skew between us and Dynamics
        # can hide an edit; `ge` re-reads the few rows at the mark, and their fingerprints tell
        # that nothing changed. Our own write-backs move modifiedon too: each exported invoice
        # is read once more, the pass after it was exported.
        latest = since
        for page in self.dynamics.edited_invoice_pages(since, self.page_size, extra):
            latest = max([latest, *(i.modified_on for i in page if i.modified_on)])
            self._write_back(self._edit_page(page, report), report)
        self.ledger.mark_edits_checked(latest)
        return report

    def _write_back(self, changes: list[WriteBack], report: StepReport) -> None:
        if changes:
            for refusal in self.dynamics.write_back(changes):
                # The invoice stays ready; the next pass writes it back (Xero is not asked twice).
                report.add(Outcome("", "", "unrecorded", message=refusal))
            self.checkpoint("written-back")

    def _extra(self) -> ExtraColumns:
        """The customer's field mappings, checked against Dynamics before anything is read."""
        try:
            fields = fieldmap.parse(self._settings().field_mappings)
            types = {table: self.dynamics.column_types(table) for table in fieldmap.tables(fields)}
            fieldmap.check_columns(fields, types)
        except fieldmap.MappingRefused as exc:
            raise ConfigurationError(str(exc)) from exc
        self._fields = fields
        return ExtraColumns(fields, types)

    def _settings(self) -> ConnectorSettings:
        if self._cached_settings is None:
            self._cached_settings = self.dynamics.settings()
        return self._cached_settings

    def _pass_state(self) -> _PassState:
        """What the pass learns from Xero and the ledger, once, when it first needs it."""
        if self._state is None:
            pending = {
                source_id: write
                for write in self.ledger.pending("invoice")
                for source_id in write.source_ids
            }
            organisation, catalog = self._catalog()
            self._state = _PassState(organisation, self._settings(), catalog, pending=pending)
        return self._state

    def _catalog(self) -> tuple[Organisation, XeroCatalog]:
        organisation = self.xero.organisation()
        reference = self.xero.reference_data(with_themes=False)
        return organisation, build_catalog(
            organisation, reference, item_codes=self.xero.item_codes()
        )

    def _push_page(self, page: Sequence[Invoice], report: StepReport) -> list[WriteBack]:
        now = self.now()
        today = local_now(self._settings(), now).date()
        changes: list[WriteBack] = []
        ready: list[Invoice] = []
        backoff = self.retries.states([invoice.id for invoice in page])
        for invoice in page:
            verdict = assess(invoice, today)
            waiting = backoff.get(invoice.id)
            if verdict.verdict is Verdict.READY and waiting and not waiting.due(now):
                message = (
                    f"Waiting to try again from {waiting.next_attempt:%Y-%m-%d %H:%M} UTC "
                    f"(attempt {waiting.attempts + 1}): {waiting.last_reason}"
                )
                report.add(Outcome(invoice.id, invoice.name, "retry-waiting", message=message))
            elif verdict.verdict is Verdict.FAILED:
                changes += self._failure(invoice, verdict.message, now, report)
            elif verdict.verdict is Verdict.WAIT:
                report.add(Outcome(invoice.id, invoice.name, "waiting"))
            elif verdict.verdict is Verdict.READY:
                ready.append(invoice)
        if not ready:
            return changes
        state = self._pass_state()
        contact_ids, contact_failures = self._resolve_contacts(ready, state)
        applied = self.ledger.last_applied("invoice", [invoice.id for invoice in ready])
        self._ensure_items(ready, state)
        candidates: list[tuple[Invoice, InvoiceDraft]] = []
        known: dict[str, str] = {}
        for invoice in ready:
            assert invoice.customer is not None
            contact_id = contact_ids.get(invoice.customer.id)
            if contact_id is None:
                message = contact_failures.get(invoice.customer.id, "")
                changes += self._failure(invoice, message, now, report)
                continue
            draft = mapping.invoice_draft(
                invoice, state.settings, contact_id, state.item_codes, self._fields
            )
            existing = self._already_in_xero(invoice, draft, state, applied)
            if existing:
                known[invoice.id] = existing
            else:
                candidates.append((invoice, draft))
            if invoice.customer.xero_contact_id != contact_id:
                changes.append(CustomerLink(invoice.customer.kind, invoice.customer.id, contact_id))
        drafts = self._preflight(candidates, state, now, report, changes)
        results = self._create(drafts, now, report, changes)
        if known:
            found = self.xero.invoices_by_id(list(known.values()))
            for invoice in ready:
                if invoice.id in known and known[invoice.id] in found:
                    results[invoice.id] = found[known[invoice.id]]
        for invoice in ready:
            if invoice.id in results:
                changes += self._written_back(invoice, results[invoice.id], state, now, report)
        return changes

    def _edit_page(self, page: Sequence[Invoice], report: StepReport) -> list[WriteBack]:
        """Exported invoices edited in Dynamics: sent again where Xero allows the change."""
        now = self.now()
        drafts = self._edit_drafts(page)
        ids = [invoice.id for invoice, _, _ in drafts]
        seen = [self.ledger.last_applied(kind, ids) for kind in ("invoice", "refused-edit")]
        changed = [
            (invoice, draft, digest)
            for invoice, draft, digest in drafts
            if not _dealt_with(seen, invoice.id, digest)
        ]
        if not changed:
            return []
        state = self._pass_state()
        current = self.xero.invoices_by_id(
            [i.xero.xero_invoice_id for i, _, _ in changed if i.xero and i.xero.xero_invoice_id]
        )
        changes: list[WriteBack] = []
        updates: list[tuple[Invoice, InvoiceDraft, bytes, str]] = []
        for invoice, stale, digest in changed:
            draft = mapping.invoice_draft(
                invoice, state.settings, stale.contact_id, state.item_codes, self._fields
            )
            xero_id = invoice.xero.xero_invoice_id if invoice.xero else None
            why_not = _edit_refusal(current.get(xero_id or ""))
            if not why_not:
                problems = preflight(invoice, draft, state.catalog)
                why_not = " ".join(problems)
            if why_not:
                changes += self._refused_edit(invoice, digest, xero_id or "", why_not, now, report)
            else:
                updates.append((invoice, draft, digest, xero_id or ""))
        for batch in _in_batches(updates):
            changes += self._update_batch(batch, state, now, report)
        return changes

    def _update_batch(
        self,
        updates: list[tuple[Invoice, InvoiceDraft, bytes, str]],
        state: _PassState,
        now: datetime,
        report: StepReport,
    ) -> list[WriteBack]:
        key = self.ledger.begin("invoice", {i.id: fp for i, _, fp, _ in updates})
        results = self.xero.update_invoices([(x, d) for _, d, _, x in updates], key)
        pairs = list(zip(updates, results, strict=True))
        self.ledger.applied(key, {i.id: r.xero_invoice_id for (i, *_), r in pairs})
        changes: list[WriteBack] = []
        for (invoice, *_), result in pairs:
            changes += self._written_back(invoice, result, state, now, report, SyncAction.UPDATE)
        return changes

    def _edit_drafts(self, page: Sequence[Invoice]) -> list[tuple[Invoice, InvoiceDraft, bytes]]:
        settings = self._settings()
        found = []
        for invoice in page:
            customer = invoice.customer
            if not (invoice.xero and invoice.xero.xero_invoice_id and customer):
                continue
            if not customer.xero_contact_id:
                continue  # linked when it was exported: a customer changed since goes with Xero's
            contact_id = customer.xero_contact_id
            draft = mapping.invoice_draft(invoice, settings, contact_id, fields=self._fields)
            digest = mapping.fingerprint(invoice, settings, contact_id, self._fields)
            found.append((invoice, draft, digest))
        return found

    def _refused_edit(
        self,
        invoice: Invoice,
        digest: bytes,
        xero_id: str,
        why_not: str,
        now: datetime,
        report: StepReport,
    ) -> list[WriteBack]:
        """Say once why this edit cannot reach Xero (the ledger remembers it was said)."""
        key = self.ledger.begin("refused-edit", {invoice.id: digest})
        self.ledger.applied(key, {invoice.id: xero_id or "none"})
        message = f"The invoice was changed in Dynamics but is not updated in Xero: {why_not}"
        report.add(Outcome(invoice.id, invoice.name, "refused", message=message))
        return [HistoryEntry(invoice.id, now, SyncAction.UPDATE, SyncStatus.FAILED, message)]

    def _preflight(
        self,
        candidates: list[tuple[Invoice, InvoiceDraft]],
        state: _PassState,
        now: datetime,
        report: StepReport,
        changes: list[WriteBack],
    ) -> list[tuple[Invoice, InvoiceDraft]]:
        """The drafts Xero will take; the rest fail here, each with every reason, unsent."""
        numbers = sorted(
            {d.invoice_number for _, d in candidates if d.invoice_number and d.type == ACCREC}
        )
        used = self.xero.used_invoice_numbers(numbers)
        catalog = state.catalog.with_invoice_numbers(used)
        doubtful = {i.id for i, d in candidates if preflight(i, d, catalog)}
        if doubtful and not state.refreshed:
            # The cached reference data may be older than a fix the user just made in Xero.
            self.xero.forget_cached()
            state.organisation, fresh = self._catalog()
            state.catalog = replace(
                fresh, archived_contact_names=state.catalog.archived_contact_names
            )
            state.refreshed = True
            if self.marks is not None:  # Dynamics' lists of codes may be as old as the cache
                ask_refresh(self.marks)
            catalog = state.catalog.with_invoice_numbers(used)
        passed = []
        for invoice, draft in candidates:
            problems = preflight(invoice, draft, catalog) if invoice.id in doubtful else ()
            if problems:
                changes += self._failure(invoice, " ".join(problems), now, report)
            else:
                passed.append((invoice, draft))
        return passed

    def _already_in_xero(
        self,
        invoice: Invoice,
        draft: InvoiceDraft,
        state: _PassState,
        applied: dict[str, AppliedWrite],
    ) -> str | None:
        """A Xero invoice an earlier pass created but could not write back or confirm."""
        if invoice.id in applied:
            return applied[invoice.id].xero_id
        write = state.pending.pop(invoice.id, None)
        if write is None:
            return None
        found = self.xero.find_invoice_by_source(draft, write.created_epoch)
        if found:
            self.ledger.applied(write.key, {invoice.id: found})
        else:
            self.ledger.failed(write.key, [invoice.id], "not found in Xero: sent again")
        return found

    def _resolve_contacts(
        self, ready: Sequence[Invoice], state: _PassState
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Dynamics customer id -> Xero ContactID for every customer Xero has or we create, and
        customer id -> why not, for the others."""
        result: dict[str, str] = {}
        failures: dict[str, str] = {}
        unlinked: dict[str, tuple[Customer, ContactDraft]] = {}
        for invoice in ready:
            customer = invoice.customer
            assert customer is not None
            if customer.xero_contact_id:
                result[customer.id] = customer.xero_contact_id
            else:
                unlinked[customer.id] = (customer, mapping.contact_draft(customer, self._fields))
        asked = {d.name for _, d in unlinked.values() if d.name}
        names = sorted(asked - state.contacts.keys() - state.archived)
        if names:
            found = self.xero.contacts_by_name(names)
            state.contacts.update(found.active)
            state.archived |= found.archived
        catalog = replace(state.catalog, archived_contact_names=frozenset(state.archived))
        missing: dict[str, tuple[str, ContactDraft]] = {}
        for customer_id, (customer, draft) in unlinked.items():
            problems = contact_problems(customer, catalog)
            if draft.name in state.contacts and not problems:
                result[customer_id] = state.contacts[draft.name]
            elif problems:
                failures[customer_id] = " ".join(problems)
            elif not state.settings.create_contacts:
                failures[customer_id] = missing_contact_problem(customer)
            else:
                missing.setdefault(draft.name, (customer_id, draft))
        for batch in _in_batches(list(missing)):
            self._create_contacts({name: missing[name] for name in batch}, state)
        for customer_id, (_, draft) in unlinked.items():
            if customer_id not in result and customer_id not in failures:
                if draft.name in state.contacts:
                    result[customer_id] = state.contacts[draft.name]
                else:
                    failures[customer_id] = (
                        f'Xero did not create the contact "{draft.name}"; '
                        "see the connector's log, then set Export status to No to retry."
                    )
        return result, failures

    def _create_contacts(
        self, missing: dict[str, tuple[str, ContactDraft]], state: _PassState
    ) -> None:
        drafts = [draft for _, draft in missing.values()]
        key = self.ledger.begin(
            "contact", {cid: repr(draft).encode() for cid, draft in missing.values()}
        )
        self.checkpoint("contacts-begun")
        created = self.xero.create_contacts(drafts, key)
        self.checkpoint("contacts-sent")
        self.ledger.applied(key, {cid: created.get(draft.name) for cid, draft in missing.values()})
        state.contacts.update(created)

    def _ensure_items(self, ready: Sequence[Invoice], state: _PassState) -> None:
        if not state.settings.create_products:
            return
        wanted: dict[str, ItemDraft] = {}
        for invoice in ready:
            for line in invoice.lines:
                item = mapping.item_draft(line)
                # An item Xero would refuse is not created: its line goes without an item code.
                if item and item.code not in state.item_codes and not item_problems(item):
                    wanted.setdefault(item.code, item)
        for batch in _in_batches(list(wanted)):
            self._create_items({code: wanted[code] for code in batch}, state)

    def _create_items(self, wanted: dict[str, ItemDraft], state: _PassState) -> None:
        drafts = list(wanted.values())
        key = self.ledger.begin("item", {code: repr(d).encode() for code, d in wanted.items()})
        self.checkpoint("items-begun")
        created = self.xero.create_items(drafts, key)
        self.checkpoint("items-sent")
        self.ledger.applied(key, {code: code for code in created})
        state.catalog = replace(state.catalog, item_codes=state.catalog.item_codes | created)

    def _create(
        self,
        drafts: list[tuple[Invoice, InvoiceDraft]],
        now: datetime,
        report: StepReport,
        changes: list[WriteBack],
    ) -> dict[str, XeroInvoiceResult]:
        results: dict[str, XeroInvoiceResult] = {}
        for batch in _in_batches(drafts):
            results.update(self._create_batch(batch, now, report, changes))
        return results

    def _create_batch(
        self,
        drafts: list[tuple[Invoice, InvoiceDraft]],
        now: datetime,
        report: StepReport,
        changes: list[WriteBack],
    ) -> dict[str, XeroInvoiceResult]:
        ids = [invoice.id for invoice, _ in drafts]
        key = self.ledger.begin(
            "invoice",
            {
                invoice.id: mapping.fingerprint(
                    invoice, self._settings(), draft.contact_id, self._fields
                )
                for invoice, draft in drafts
            },
        )
        self.checkpoint("invoices-begun")
        try:
            results = self.xero.create_invoices([d for _, d in drafts], key)
            self.checkpoint("invoices-sent")
        except TransientError as exc:
            # The outcome is unknown: the write stays pending and a later pass recovers it.
            self._transient(drafts, str(exc), now, report, changes)
            return {}
        except RemoteRejected as exc:
            self.ledger.failed(key, ids, str(exc))
            for invoice, _ in drafts:
                changes += self._failure(invoice, f"Xero refused the invoice: {exc}", now, report)
            return {}
        self.ledger.applied(
            key, {inv.id: r.xero_invoice_id for (inv, _), r in zip(drafts, results, strict=True)}
        )
        self.checkpoint("invoices-applied")
        self.retries.clear(ids)
        return {inv.id: r for (inv, _), r in zip(drafts, results, strict=True)}

    def _transient(
        self,
        drafts: list[tuple[Invoice, InvoiceDraft]],
        reason: str,
        now: datetime,
        report: StepReport,
        changes: list[WriteBack],
    ) -> None:
        """Xero did not answer, beyond the retries within the request: each invoice stays ready
        and is tried again after a backoff, until the policy's limit marks it Failed."""
        states = self.retries.failed([invoice.id for invoice, _ in drafts], reason, now)
        gave_up = []
        for invoice, _ in drafts:
            state = states.get(invoice.id)
            if state is not None and exhausted(state, now, self.retries.policy):
                changes += self._failure(invoice, gave_up_message(state), now, report)
                gave_up.append(invoice.id)
                continue
            message = reason
            if state is not None:
                message += f" Tried again from {state.next_attempt:%Y-%m-%d %H:%M} UTC."
            report.add(Outcome(invoice.id, invoice.name, "deferred", message=message))
        self.retries.clear(gave_up)  # set back to No, it starts afresh

    def _written_back(
        self,
        invoice: Invoice,
        result: XeroInvoiceResult,
        state: _PassState,
        now: datetime,
        report: StepReport,
        action: SyncAction = SyncAction.CREATE,
    ) -> list[WriteBack]:
        if not result.ok or not result.xero_invoice_id:
            message = "Xero refused the invoice: " + " ".join(result.errors or ("no reason given",))
            if action is SyncAction.UPDATE:
                history = HistoryEntry(invoice.id, now, action, SyncStatus.FAILED, message)
                report.add(Outcome(invoice.id, invoice.name, "refused", message=message))
                return [history]
            return self._failure(invoice, message, now, report)
        kind = mapping.xero_type(invoice)
        url = invoice_url(state.organisation.short_code, result.xero_invoice_id, kind)
        done = "created" if action is SyncAction.CREATE else "updated"
        report.add(Outcome(invoice.id, invoice.name, done, result.number))
        changes: list[WriteBack] = [
            XeroDetailChange(
                invoice_id=invoice.id,
                invoice_name=invoice.name,
                detail_id=invoice.xero.detail_id if invoice.xero else None,
                export_status=ExportStatus.YES,
                export_date=now,
                xero_invoice_id=result.xero_invoice_id,
                xero_invoice_number=result.number,
                xero_status=(result.status or "").title() or None,
                xero_url=url,
            ),
            HistoryEntry(
                invoice.id,
                now,
                action,
                SyncStatus.SUCCESSFUL,
                created_message(result.xero_invoice_id)
                if action is SyncAction.CREATE
                else updated_message(result.xero_invoice_id),
            ),
        ]
        lines = sorted(invoice.lines, key=lambda ln: ln.sequence)
        for line, tax in zip(lines, result.line_taxes, strict=False):
            changes.append(LineTax(invoice.id, line.id, tax))
        return changes

    def _failure(
        self, invoice: Invoice, message: str, now: datetime, report: StepReport
    ) -> list[WriteBack]:
        report.add(Outcome(invoice.id, invoice.name, "failed", message=message))
        return [
            XeroDetailChange(
                invoice_id=invoice.id,
                invoice_name=invoice.name,
                detail_id=invoice.xero.detail_id if invoice.xero else None,
                export_status=ExportStatus.FAILED,
                export_date=now,
                xero_invoice_id=invoice.xero.xero_invoice_id if invoice.xero else None,
                xero_invoice_number=invoice.xero.xero_invoice_number if invoice.xero else None,
                xero_status=invoice.xero.xero_status if invoice.xero else None,
            ),
            HistoryEntry(invoice.id, now, SyncAction.CREATE, SyncStatus.FAILED, message),
        ]
