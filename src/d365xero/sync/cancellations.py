"""Cancellations: a synced invoice cancelled or deleted in Dynamics is deleted or credited in
Xero per the connection's settings (domain/cancellation.py), and Sync History on its Xero
details says what happened.

Dynamics' change feed of invoices finds them: its delta link is kept in the store between
passes (and saved only once the step is done, so a pass that stops early reads the same changes
again). Each Xero write goes through the write-ahead ledger with an Idempotency-Key, and the
ledger also records each invoice once handled: a crash at any point never makes a second credit
note or deletion, and the next pass finishes what was begun.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import structlog

from d365xero.domain.cancellation import (
    Cancel,
    Plan,
    XeroInvoice,
    credit_note,
    failed_message,
    plan,
)
from d365xero.domain.history import DetailHistory, DetailStatus, SyncStatus, WriteBack
from d365xero.domain.records import ConnectorSettings
from d365xero.errors import RemoteRejected
from d365xero.sync.invoices import XERO_BATCH, local_now
from d365xero.sync.ports import (
    CancellationDynamics,
    CancellationXero,
    Marks,
    WriteLedger,
    XeroChange,
)
from d365xero.sync.report import Outcome, StepReport

log = structlog.get_logger(__name__)

DELTA_LINK = "cancellations"  # the mark (a token) holding the change feed's delta link
# Ledger kinds: the three Xero writes, and the record that an invoice has been dealt with.
DELETE, CREDIT, ALLOCATE, HANDLED = "invoice-delete", "credit-note", "allocation", "cancel"
XERO_STATUS_AFTER = {Cancel.DELETE: "Deleted", Cancel.CREDIT_ALLOCATED: "Paid"}


@dataclass
class _Case:
    """One invoice to cancel in Xero, and how far earlier passes got with it."""

    invoice_id: str
    xero_id: str
    deleted: bool  # deleted in Dynamics (else cancelled there)
    invoice: XeroInvoice | None = None
    plan: Plan | None = None
    credit_note_id: str | None = None
    credit_note_number: str = ""
    allocated: bool = False
    deleted_in_xero: bool = False
    refusal: str = ""  # why Xero refused a write for it

    @property
    def number(self) -> str:
        return self.invoice.number if self.invoice else self.xero_id


class Cancellations:
    def __init__(
        self,
        dynamics: CancellationDynamics,
        xero: CancellationXero,
        ledger: WriteLedger,
        marks: Marks,
        now: Callable[[], datetime],
        checkpoint: Callable[[str], None] = lambda step: None,
    ) -> None:
        self.dynamics = dynamics
        self.xero = xero
        self.ledger = ledger
        self.marks = marks
        self.now = now
        self.checkpoint = checkpoint  # the crash tests kill the process at each one
        self._unrecorded = False

    def run(self) -> StepReport:
        report = StepReport()
        self._unrecorded = False  # Dynamics refused a record: read these changes again
        changes = self.dynamics.invoice_changes(self.marks.token(DELTA_LINK))
        if changes.expired:
            log.warning(
                "the change feed of Dynamics invoices had expired (not read for 7 days, or "
                "change tracking was reset): starting over from a full read; invoices deleted "
                "meanwhile are found among those the connector exported"
            )
        deleted = set(changes.deleted)
        if changes.present is None:  # a delta: only the invoices it names
            named = list(dict.fromkeys([*changes.cancelled, *deleted]))
            found = self.ledger.last_applied("invoice", named)
            exported = {i: w.xero_id for i, w in found.items()}
        else:  # a full read: an exported invoice it lacks was deleted meanwhile
            exported = self.ledger.applied_sources("invoice")  # Dynamics id -> InvoiceID
            deleted |= exported.keys() - changes.present
        wanted = [i for i in dict.fromkeys([*changes.cancelled, *deleted]) if i in exported]
        handled = self.ledger.last_applied(HANDLED, wanted)
        cases = [_Case(i, exported[i], i in deleted) for i in wanted if i not in handled]
        if cases:
            settings = self.dynamics.settings()
            for start in range(0, len(cases), XERO_BATCH):
                self._cancel(cases[start : start + XERO_BATCH], settings, report)
        if changes.delta_link and not self._unrecorded:
            self.marks.set_token(DELTA_LINK, changes.delta_link)
        return report

    def _cancel(self, cases: list[_Case], settings: ConnectorSettings, report: StepReport) -> None:
        """One batch: what Xero holds, what earlier passes did, then each write in turn."""
        found = self.xero.invoices_for_cancellation([c.xero_id for c in cases])
        for case in cases:
            case.invoice = found.get(case.xero_id)
        today = local_now(settings, self.now()).date()
        self._recall(cases, today)
        for case in cases:
            done = Cancel.DELETE if case.deleted_in_xero else None
            if case.credit_note_id:
                done = Cancel.CREDIT_ALLOCATED
            case.plan = plan(
                case.invoice, settings.create_credit_note, deleted=case.deleted, done=done
            )
        self._delete([c for c in cases if _needs(c, Cancel.DELETE) and not c.deleted_in_xero])
        credits = [
            c for c in cases if _needs(c, Cancel.CREDIT_ALLOCATED, Cancel.CREDIT_UNALLOCATED)
        ]
        self._credit([c for c in credits if not c.credit_note_id], today)
        self._numbers([c for c in credits if c.credit_note_id and not c.credit_note_number])
        for case in cases:
            if _needs(case, Cancel.CREDIT_ALLOCATED) and case.credit_note_id and not case.allocated:
                self._allocate(case, today)
        self._record(cases, report)

    def _recall(self, cases: list[_Case], today: date) -> None:
        """What earlier passes did for these invoices: applied writes from the ledger, and
        writes whose outcome was never known settled by asking Xero."""
        ids = [c.invoice_id for c in cases]
        by_id = {c.invoice_id: c for c in cases}
        for kind in (DELETE, CREDIT, ALLOCATE):
            for pending in self.ledger.pending(kind):
                for source_id in pending.source_ids:
                    if source_id in by_id:
                        self._settle(kind, pending.key, by_id[source_id], today)
        for source_id in self.ledger.last_applied(DELETE, ids):
            by_id[source_id].deleted_in_xero = True
        for source_id, made in self.ledger.last_applied(CREDIT, ids).items():
            by_id[source_id].credit_note_id = made.xero_id
        for source_id in self.ledger.last_applied(ALLOCATE, ids):
            by_id[source_id].allocated = True

    def _settle(self, kind: str, key: str, case: _Case, today: date) -> None:
        """A write begun by a pass that stopped before Xero's answer was recorded: Xero is
        asked whether it took it (a credit note by its Reference, which names the invoice)."""
        found: str | None = None
        if kind == DELETE:
            gone = case.invoice is None or case.invoice.status == "DELETED"
            found = case.xero_id if gone else None
        elif kind == CREDIT and case.invoice is not None:
            found = self.xero.find_credit_note(credit_note(case.invoice_id, case.invoice, today))
        elif kind == ALLOCATE:
            made = self.ledger.last_applied(CREDIT, [case.invoice_id]).get(case.invoice_id)
            notes = self.xero.credit_notes_by_id([made.xero_id]) if made else {}
            note = notes.get(made.xero_id) if made else None
            found = note.xero_id if note and case.xero_id in note.allocated_to else None
        if found:
            self.ledger.applied(key, {case.invoice_id: found})
        else:
            self.ledger.failed(key, [case.invoice_id], "not found in Xero: sent again")

    def _delete(self, cases: list[_Case]) -> None:
        if not cases:
            return
        key = self.ledger.begin(DELETE, {c.invoice_id: c.xero_id.encode() for c in cases})
        self.checkpoint("deletes-begun")
        results = self._send(
            key, cases, lambda: self.xero.delete_invoices([c.xero_id for c in cases], key)
        )
        self.checkpoint("deletes-sent")
        for case, result in zip(cases, results, strict=True):
            case.deleted_in_xero = result.ok
            case.refusal = "" if result.ok else " ".join(result.errors) or "no reason given"

    def _credit(self, cases: list[_Case], today: date) -> None:
        if not cases:
            return
        drafts = []
        for case in cases:
            assert case.invoice is not None  # the plan credits only an invoice Xero has
            drafts.append(credit_note(case.invoice_id, case.invoice, today))
        key = self.ledger.begin(CREDIT, {d.source_id: repr(d).encode() for d in drafts})
        self.checkpoint("credit-notes-begun")
        results = self._send(key, cases, lambda: self.xero.create_credit_notes(drafts, key))
        self.checkpoint("credit-notes-sent")
        for case, result in zip(cases, results, strict=True):
            if result.ok:
                case.credit_note_id, case.credit_note_number = result.xero_id, result.number or ""
            else:
                case.refusal = " ".join(result.errors) or "no reason given"

    def _allocate(self, case: _Case, today: date) -> None:
        assert case.invoice is not None and case.credit_note_id
        note_id, amount = case.credit_note_id, case.invoice.amount_due
        part = f"{note_id}:{case.xero_id}:{amount}".encode()
        key = self.ledger.begin(ALLOCATE, {case.invoice_id: part})
        self.checkpoint("allocation-begun")
        [result] = self._send(
            key,
            [case],
            lambda: [self.xero.allocate_credit_note(note_id, case.xero_id, amount, today, key)],
        )
        self.checkpoint("allocation-sent")
        case.allocated = result.ok
        if not result.ok:
            case.refusal = "the credit note was made but not allocated: " + (
                " ".join(result.errors) or "no reason given"
            )

    def _send(
        self, key: str, cases: Sequence[_Case], send: Callable[[], list[XeroChange]]
    ) -> list[XeroChange]:
        """One Xero write for `cases`; the ledger learns its outcome. A TransientError goes up
        with the write left pending: the next pass settles it by asking Xero."""
        try:
            results = send()
        except RemoteRejected as exc:
            self.ledger.failed(key, [c.invoice_id for c in cases], str(exc))
            return [XeroChange(False, errors=(str(exc),)) for _ in cases]
        self.ledger.applied(
            key,
            {
                c.invoice_id: r.xero_id if r.ok else None
                for c, r in zip(cases, results, strict=True)
            },
        )
        return results

    def _numbers(self, cases: list[_Case]) -> None:
        notes = self.xero.credit_notes_by_id([c.credit_note_id for c in cases if c.credit_note_id])
        for case in cases:
            note = notes.get(case.credit_note_id or "")
            case.credit_note_number = note.number if note else case.credit_note_id or ""

    def _record(self, cases: list[_Case], report: StepReport) -> None:
        now = self.now()
        changes: list[WriteBack] = []
        outcomes: dict[str, str] = {}
        for case in cases:
            assert case.plan is not None
            exists = not case.deleted
            if case.refusal:
                message, status, result = (
                    failed_message(case.deleted, case.number, case.refusal),
                    SyncStatus.FAILED,
                    "failed",
                )
            else:
                message = case.plan.message.replace("{note}", case.credit_note_number)
                status, result = case.plan.status, _result(case.plan)
                after = XERO_STATUS_AFTER.get(case.plan.action)
                if after:
                    changes.append(DetailStatus(case.invoice_id, after))
            changes.append(
                DetailHistory(
                    case.invoice_id, now, case.plan.history_action, status, message, exists
                )
            )
            report.add(Outcome(case.invoice_id, case.number, result, case.number, message))
            outcomes[case.invoice_id] = message
        refusals = self.dynamics.write_back(changes)
        for refusal in refusals:
            report.add(Outcome("", "", "unrecorded", message=refusal))
        self.checkpoint("cancellations-written-back")
        if refusals:
            # Not marked handled: the next pass reads the same changes (the delta link is not
            # moved on) and writes the record again; the ledger keeps Xero from a second write.
            self._unrecorded = True
            return
        key = self.ledger.begin(HANDLED, {i: m.encode() for i, m in outcomes.items()})
        self.ledger.applied(key, {c.invoice_id: c.xero_id for c in cases})


def _needs(case: _Case, *actions: Cancel) -> bool:
    return case.plan is not None and case.plan.action in actions and not case.refusal


def _result(decided: Plan) -> str:
    if decided.action is Cancel.DELETE:
        return "deleted"
    if decided.action in (Cancel.CREDIT_ALLOCATED, Cancel.CREDIT_UNALLOCATED):
        return "credited"
    return "unchanged" if decided.status is SyncStatus.SUCCESSFUL else "attention"
