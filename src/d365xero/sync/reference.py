"""Reference data from Xero into Dynamics, in the seed's order (the Synchronisation Center:
"Synchronisation MUST be done in the following order: Tax Rates, Account Codes, Branding
Themes"): accounts point at tax rates. Safe to run again: rows are upserted by Xero id; rows
archived or removed in Xero are deactivated in Dynamics, never deleted.

As a step of every pass it runs at most once an `every`, or at the next pass when the push met
a code it did not know (`ask_refresh`). Every kind is read whole, Accounts too: Xero gives
If-Modified-Since on Accounts, but a changes-only read cannot tell that an account was removed
(Xero then no longer lists it), and the whole chart is one call an hour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from d365xero.errors import ConfigurationError
from d365xero.sync.ports import DynamicsPort, Marks, ReferenceData, XeroPort
from d365xero.sync.report import Outcome, StepReport

LAST_IMPORT = "reference-imported"  # when Xero's reference data last reached Dynamics
REFRESH_EVERY = timedelta(hours=1)
KINDS = ("taxrates", "accounts", "brandingthemes")  # the order they must come in
CREATED = " created"  # a count's key: its table's rows that Dynamics did not have before
LABELS = {"taxrates": "tax rates", "accounts": "accounts", "brandingthemes": "branding themes"}


class OrderRefused(ConfigurationError):
    """A kind asked for before the kinds it needs are in Dynamics."""


def ask_refresh(marks: Marks) -> None:
    """The next pass's reference step imports again, whenever it last did."""
    marks.clear(LAST_IMPORT)


def check_order(dynamics: DynamicsPort, kinds: Sequence[str]) -> None:
    """Refuse a kind whose predecessors are neither asked for nor already in Dynamics."""
    for kind in kinds:
        for before in KINDS[: KINDS.index(kind)]:
            if before not in kinds and not dynamics.has_reference_rows(before):
                raise OrderRefused(
                    f"import {LABELS[before]} before {LABELS[kind]} (the order is tax rates, "
                    f"accounts, branding themes): Dynamics has no {LABELS[before]} yet; run "
                    f"reference-data with --only {before} first"
                )


def sync_reference_data(
    xero: XeroPort,
    dynamics: DynamicsPort,
    tenant_id: str,
    kinds: Sequence[str] = KINDS,
    done: Callable[[str, dict[str, int]], None] = lambda kind, counts: None,
    reached: Callable[[str], None] = lambda stage: None,
) -> tuple[ReferenceData, dict[str, int]]:
    """Xero's reference data (one read), then each kind asked for written in order; `done` is
    told after each kind, `reached` when the order was checked ("checked") and Xero read
    ("read")."""
    kinds = [k for k in KINDS if k in kinds]
    check_order(dynamics, kinds)
    reached("checked")
    data = xero.reference_data()
    reached("read")
    counts: dict[str, int] = {}
    for kind in kinds:
        written = dynamics.write_reference_data(tenant_id, data, (kind,))
        counts.update(written)
        done(kind, written)
    return data, counts


class ReferenceRefresh:
    """The pass's reference-data step: keeps dxc_taxtype, dxc_chartofaccount and
    dxc_brandingtheme fresh without anyone pressing a button."""

    def __init__(
        self,
        xero: XeroPort,
        dynamics: DynamicsPort,
        marks: Marks,
        tenant_id: str,
        now: Callable[[], datetime],
        every: timedelta = REFRESH_EVERY,
    ) -> None:
        self.xero, self.dynamics, self.marks = xero, dynamics, marks
        self.tenant_id, self.now, self.every = tenant_id, now, every

    def run(self) -> StepReport:
        report = StepReport()
        now = self.now()
        last = self.marks.get(LAST_IMPORT)
        if last is not None and now - last < self.every:
            return report
        _, counts = sync_reference_data(self.xero, self.dynamics, self.tenant_id)
        self.marks.set(LAST_IMPORT, now)
        for table, count in counts.items():
            if not table.endswith(CREATED):  # a part of its table's rows, not a table
                report.add(Outcome("", table, "imported", message=f"{count} rows"))
        return report
