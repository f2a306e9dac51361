"""Which requests get an injected fault: the plan behind /_emulator/faults (see faults.py).
Pure state, seeded so a run is reproducible."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("429", "500", "503", "slow", "lost")


@dataclass
class Fault:
    route: str
    kind: str
    rate: float = 1.0
    times: int | None = None
    seconds: float = 2.0
    retry_after: int = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        want_method, _, want_path = self.route.rpartition(" ")
        if want_method and want_method.upper() not in (method, "*"):
            return False
        return path == want_path or path.startswith(want_path.rstrip("/") + "/")


def _fault(raw: Any) -> Fault:
    if not isinstance(raw, dict) or not isinstance(raw.get("route"), str):
        raise ValueError("each fault needs a route")
    kind = str(raw.get("kind"))
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    fault = Fault(route=raw["route"].strip(), kind=kind)
    fault.rate = float(raw.get("rate", 1.0))
    fault.times = None if raw.get("times") is None else int(raw["times"])
    fault.seconds = float(raw.get("seconds", 2.0))
    fault.retry_after = int(raw.get("retry_after", 1))
    if not 0 <= fault.rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    return fault


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.faults: list[Fault] = []
            self._random = random.Random(0)

    def load(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("faults"), list):
            raise ValueError('expected {"seed": <int>, "faults": [...]}')
        faults = [_fault(raw) for raw in body["faults"]]
        with self._lock:
            self.faults = faults
            self._random = random.Random(body.get("seed", 0))

    def pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if self._random.random() < fault.rate:
                    fault.hits += 1
                    return fault
            return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self.faults]
