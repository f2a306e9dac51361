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

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.result] += 1
        self.latest.append(outcome)

    def count(self, result: str) -> int:
        return self.counts[result]

    @property
    def outcomes(self) -> list[Outcome]:
        return list(self.latest)


class Step(Protocol):
    """One step of a pass (reference data, push, back-sync, cancellations): it does its work
    and says what it did; a failure is raised, and the pass records it and goes on."""

    def run(self) -> StepReport: ...
