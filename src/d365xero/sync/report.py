"""What a step of a pass did, record by record, for the run record and a person to read."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Outcome:
    invoice_id: str
    invoice_name: str
    # Push: created | updated | failed | refused (an edit Xero does not take) | waiting |
    # deferred (Xero did not answer) | unrecorded (Dynamics refused the write-back).
    # Other steps name their own results (e.g. imported, paid, credited).
    result: str
    xero_number: str | None = None
    message: str = ""


KEPT_OUTCOMES = 1000  # a backlog of any size must not grow the report


@dataclass
class StepReport:
    """Counts of every result, and the latest outcomes (bounded) for a person to read."""

    counts: Counter[str] = field(default_factory=Counter)
    latest: deque[Outcome] = field(default_factory=lambda: deque(maxlen=KEPT_OUTCOMES))
    stopped: bool = False  # the step ended early, between whole batches, as the process stops

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.result] += 1
        self.latest.append(outcome)

    def count(self, result: str) -> int:
        return self.counts[result]

    @property
    def outcomes(self) -> list[Outcome]:
        return list(self.latest)

    def trouble(self) -> str:
        """Why the step left work undone, for its run record: empty when it did not."""
        parts = []
        for result, what in TROUBLE.items():
            if count := self.count(result):
                reason = next((o.message for o in self.latest if o.result == result), "")
                shown = " ".join(reason.split())[:300]
                noun = "invoice" if count == 1 else "invoices"
                parts.append(f"{count} {noun} {what}" + (f" ({shown})" if shown else ""))
        if self.stopped:
            parts.append(STOPPED)
        return "; ".join(parts)


STOPPED = "stopped after a whole batch: the process is shutting down; the next pass goes on"

# What leaves work for the next pass, and how to say it.
TROUBLE = {
    "failed": "failed",
    "deferred": "deferred to the next pass",
    "unrecorded": "not recorded in Dynamics (it refused the write-back)",
}


class Step(Protocol):
    """One step of a pass (reference data, push, back-sync, cancellations): it does its work
    and says what it did; a failure is raised, and the pass records it and goes on."""

    def run(self) -> StepReport: ...
