"""Xero's slow-changing data (organisation, tax rates, accounts, tracking categories, item
codes) per tenant, shared by the passes of one process so that a steady stream of invoices costs
Xero calls for the invoices alone. Entries expire, and the engine drops them when a check fails
on data that may have changed in Xero."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_TTL = 600.0  # seconds


class ReferenceCache:
    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, kind: str, load: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get((tenant, kind))
            if entry and entry[0] > self._clock():
                value: T = entry[1]
                return value
        value = load()
        self.put(tenant, kind, value)
        return value

    def put(self, tenant: str, kind: str, value: Any) -> None:
        with self._lock:
            self._entries[(tenant, kind)] = (self._clock() + self._ttl, value)

    def forget(self, tenant: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant]:
                del self._entries[key]
