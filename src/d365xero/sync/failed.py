"""The failed count: how many of the connection's invoices Dynamics holds with export status
Failed once the other steps are done, the invoices waiting for a person to fix them (a pass
reads only ready invoices, so its own failures say nothing of the ones before). Recorded on the
run for the connections list; one Dataverse call, nothing asked of Xero."""

from __future__ import annotations

from d365xero.sync.ports import FailedCountDynamics
from d365xero.sync.report import StepReport

# The count's name in the step's report (not "failed": that is the push's, and trouble).
FAILED = "export-failed"


class FailedCount:
    def __init__(self, dynamics: FailedCountDynamics) -> None:
        self.dynamics = dynamics

    def run(self) -> StepReport:
        report = StepReport()
        report.counts[FAILED] = self.dynamics.failed_count()
        return report
