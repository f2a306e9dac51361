"""Reference data from Xero into Dynamics, in the seed's order: tax rates, then account codes
(which point at tax rates), then branding themes. Safe to run again: rows are upserted.

As a step of every pass it runs at most once an `every` (Xero's tax rates and branding themes
have no If-Modified-Since), or at the next pass when someone asked for it (`REFRESH_ASKED`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from d365xero.sync.ports import DynamicsPort, Marks, ReferenceData, XeroPort
from d365xero.sync.report import Outcome, StepReport

LAST_IMPORT = "reference-imported"  # when Xero's reference data last reached Dynamics
REFRESH_EVERY = timedelta(hours=1)


def sync_reference_data(
    xero: XeroPort, dynamics: DynamicsPort, tenant_id: str
) -> tuple[ReferenceData, dict[str, int]]:
    data = xero.reference_data()
    return data, dynamics.write_reference_data(tenant_id, data)


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
            report.add(Outcome("", table, "imported", message=f"{count} rows"))
        return report
