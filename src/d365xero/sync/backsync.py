"""The back-sync: what happened in Xero to exported invoices comes back to Dynamics - status,
amount due, payments and credits (Paid / Complete once fully paid, active again when a payment
is removed), and the customers' outstanding and overdue balances.

Xero is read with If-Modified-Since from a watermark in the store, a page of 1,000 at a time
until a short page; the watermark moves only once Dynamics has what those pages said. It
overlaps by a few seconds, so a change Xero stamps within the same second as the last one read
is never missed; what was already dealt with at the mark is remembered (invoice and stamp) and
not looked up again, so a pass where nothing changed costs one Xero call and nothing else.
Once the mark is SETTLE_AFTER old, no late change can still appear behind it, and reads start
after it: a burst of changes in the mark's last seconds is not read again pass after pass.

While nothing changes, Xero is read every IDLE_EVERY rather than every pass: at 5-minute passes
one read a pass would cost 288 calls a day on its own, and with the reference data's ~96 an idle
connection would pass 300 (docs/BENCHMARKS.md). Once a read finds a change, every pass reads.

Balances: Xero does not stamp a contact when only its balances move, so they are read for every
contact whose invoices changed in the pass, and for every linked customer once a day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from d365xero.domain.history import CustomerBalance, WriteBack
from d365xero.domain.settlement import HeldCustomer, XeroSettlement, settle
from d365xero.sync.ports import BackSyncDynamics, BackSyncXero, Marks
from d365xero.sync.report import Outcome, StepReport

WATERMARK = "backsync-invoices"  # the newest Xero UpdatedDateUTC dealt with; token: what is seen
BALANCES_DUE = "backsync-balances-due"  # token: contacts whose balances are still to be read
BALANCES_READ = "backsync-balances"  # when every linked customer's balances were last read
OVERLAP = timedelta(seconds=5)
SETTLED = "backsync-settled"  # the watermark that is SETTLE_AFTER old: nothing comes behind it
SETTLE_AFTER = timedelta(minutes=2)  # the overlap, and any skew between our clock and Xero's
PAGE_SIZE = 1000  # Xero's largest page (reference/xero.md §3.6)
BALANCES_EVERY = timedelta(days=1)
LAST_READ = "backsync-read"  # when Xero's invoices were last read; token: busy or idle
IDLE_EVERY = timedelta(minutes=10)
IDLE, BUSY = "idle", "busy"
# What is remembered at the watermark is bounded: one forgotten is looked up again, no more.
SEEN_KEPT = 2000
IDS_PER_READ = 50  # InvoiceIDs in one IDs= query string (about 1,900 characters)


def _stamp(invoice: XeroSettlement) -> str | None:
    if invoice.updated is None:
        return None
    return f"{invoice.xero_id}@{_iso(invoice.updated)}"


def _since(mark: datetime | None, settled: bool) -> datetime | None:
    """Where the next read starts (If-Modified-Since is to the second, inclusive)."""
    if mark is None:
        return None
    if settled:
        return mark.replace(microsecond=0) + timedelta(seconds=1)
    return _overlap_start(mark)


def _overlap_start(mark: datetime) -> datetime:
    """The second a read after `mark` starts at: Xero keeps what changed at or after the
    second If-Modified-Since names, so a read returns the whole of that second."""
    return (mark - OVERLAP).replace(microsecond=0)


def _newest(stamps: Iterable[str]) -> list[str]:
    return sorted(stamps, key=lambda s: s.rsplit("@", 1)[1], reverse=True)[:SEEN_KEPT]


def _iso(moment: datetime) -> str:
    """Comparable as text: always UTC, always to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class BackSync:
    def __init__(
        self,
        xero: BackSyncXero,
        dynamics: BackSyncDynamics,
        marks: Marks,
        now: Callable[[], datetime],
        page_size: int = PAGE_SIZE,
        idle_every: timedelta = IDLE_EVERY,
    ) -> None:
        self.xero, self.dynamics, self.marks = xero, dynamics, marks
        self.now, self.page_size, self.idle_every = now, page_size, idle_every

    def run(self) -> StepReport:
        report = StepReport()
        started = self.now()
        if self._due(started):
            self._read(report)
            self.marks.set_token(LAST_READ, BUSY if report.counts else IDLE)
            self.marks.set(LAST_READ, started)
        else:
            self._balances({}, report)
        return report

    def settle(self, xero_ids: Sequence[str]) -> StepReport:
        """These invoices' status, amount due, payments and credits, and their customers'
        balances, brought back now whatever the watermark says (the backfill links invoices
        Xero changed long before it: no read from the watermark would see them)."""
        report = StepReport()
        contacts: dict[str, set[HeldCustomer]] = {}
        for start in range(0, len(xero_ids), IDS_PER_READ):
            invoices = self.xero.settlements_by_id(xero_ids[start : start + IDS_PER_READ])
            self._settle_page(invoices, contacts, report)
        if contacts:
            self._balances({c: set(v) for c, v in contacts.items()}, report)
        return report

    def _due(self, now: datetime) -> bool:
        """Xero is read every pass while things change, every `idle_every` while none do."""
        last = self.marks.get(LAST_READ)
        if last is None or self.marks.token(LAST_READ) != IDLE:
            return True
        return now - last >= self.idle_every

    def _read(self, report: StepReport) -> None:
        mark = self.marks.get(WATERMARK)
        settled = mark is not None and self.marks.get(SETTLED) == mark
        seen = set(json.loads(self.marks.token(WATERMARK) or "[]"))
        contacts: dict[str, set[HeldCustomer]] = {}
        newest, dealt_with = self._invoices(_since(mark, settled), seen, contacts, report)
        due = {c: set(v) for c, v in contacts.items()}
        for contact_id in json.loads(self.marks.token(BALANCES_DUE) or "[]"):
            due.setdefault(contact_id, set())
        if due:
            # Durable before the watermark moves: a failure reading balances is caught up later.
            self.marks.set_token(BALANCES_DUE, json.dumps(sorted(due)))
        if newest is not None and (mark is None or newest > mark):
            # Kept: all the next read returns again (a stamp forgotten in the overlap's first
            # second would be looked up in Dynamics again for nothing).
            floor = _iso(_overlap_start(newest))
            kept = [s for s in dealt_with | seen if s.rsplit("@", 1)[1] >= floor]
            self.marks.set_token(WATERMARK, json.dumps(_newest(kept)))
            self.marks.set(WATERMARK, newest)
        else:
            if dealt_with - seen:
                self.marks.set_token(WATERMARK, json.dumps(_newest(dealt_with | seen)))
            if mark is not None and not settled and self.now() - mark >= SETTLE_AFTER:
                self.marks.set(SETTLED, mark)
        self._balances(due, report)

    def _invoices(
        self,
        since: datetime | None,
        seen: set[str],
        contacts: dict[str, set[HeldCustomer]],
        report: StepReport,
    ) -> tuple[datetime | None, set[str]]:
        """Reads the changed invoices page by page and writes back what changed. Returns the
        newest stamp of the first page (later pages were read after it, so a change made
        meanwhile is stamped later than it: safe as the next watermark), and what was dealt
        with."""
        newest: datetime | None = None
        dealt_with: set[str] = set()
        page_number = 1
        while True:
            page = self.xero.changed_invoices(since, page_number, self.page_size)
            if page_number == 1:
                newest = max((i.updated for i in page if i.updated), default=None)
            fresh = [i for i in page if _stamp(i) not in seen]
            if self._settle_page(fresh, contacts, report):
                dealt_with |= {s for s in map(_stamp, fresh) if s}
            if len(page) < self.page_size:
                return newest, dealt_with
            page_number += 1

    def _settle_page(
        self,
        invoices: list[XeroSettlement],
        contacts: dict[str, set[HeldCustomer]],
        report: StepReport,
    ) -> bool:
        """One page: what Dynamics holds of it in bulk, then one $batch. False when Dynamics
        refused some of it (those invoices are looked at again while in the overlap)."""
        if not invoices:
            return True
        held = self.dynamics.linked_invoices([i.xero_id for i in invoices])
        now = self.now()
        changes: list[WriteBack] = []
        for invoice in invoices:
            ours = held.get(invoice.xero_id)
            if ours is None:
                continue  # not an invoice this connection exported
            settlement = settle(invoice, ours, now)
            if not settlement.changes:
                continue
            changes += settlement.changes
            report.add(
                Outcome(ours.invoice_id, ours.name, settlement.result, None, settlement.message)
            )
            customer = ours.customer
            if customer and invoice.contact_id and customer.xero_contact_id == invoice.contact_id:
                contacts.setdefault(invoice.contact_id, set()).add(customer)
        refusals = self.dynamics.write_back(changes) if changes else []
        for refusal in refusals:
            report.add(Outcome("", "", "failed", message=refusal))
        return not refusals

    def _balances(self, due: dict[str, set[HeldCustomer]], report: StepReport) -> None:
        now = self.now()
        last = self.marks.get(BALANCES_READ)
        daily = last is None or now - last >= BALANCES_EVERY
        if daily:
            for customer in self.dynamics.linked_customers():
                due.setdefault(customer.xero_contact_id, set()).add(customer)
        if not due:
            if daily:  # no customer is linked yet: that was the day's read, not one a pass
                self.marks.set(BALANCES_READ, now)
            return
        if not daily and any(not customers for customers in due.values()):
            # Contacts left over from a pass that failed: find their customers again.
            linked = self.dynamics.linked_customers()
            for customer in linked:
                if customer.xero_contact_id in due:
                    due[customer.xero_contact_id].add(customer)
        balances = self.xero.receivable_balances(sorted(due))
        changes = list(_balance_changes(due, balances))
        refusals = self.dynamics.write_back(changes) if changes else []
        for refusal in refusals:
            report.add(Outcome("", "", "failed", message=refusal))
        for change in changes:
            message = f"{change.owed:.2f} owed, {change.overdue:.2f} overdue"
            report.add(Outcome(change.customer_id, change.kind, "balance", None, message))
        self.marks.clear(BALANCES_DUE)
        if daily:
            self.marks.set(BALANCES_READ, now)


def _balance_changes(
    due: dict[str, set[HeldCustomer]], balances: dict[str, tuple[Decimal, Decimal]]
) -> Iterable[CustomerBalance]:
    for contact_id, customers in sorted(due.items()):
        if contact_id not in balances:
            continue  # not a contact of this Xero organisation
        owed, overdue = balances[contact_id]
        for customer in sorted(customers, key=lambda c: c.customer_id):
            if (customer.owed, customer.overdue) != (owed, overdue):
                yield CustomerBalance(customer.kind, customer.customer_id, owed, overdue)
