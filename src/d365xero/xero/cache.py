"""Xero's slow-changing data (organisation, tax rates, accounts, tracking categories, item
codes) per tenant, so that a steady stream of invoices costs Xero calls for the invoices alone.
Kept in the process and, through a backing, in the connector's store, so a `sync --once` run
from cron benefits too. Entries expire, and the engine drops them when a check fails on data
that may have changed in Xero."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from d365xero.xero import refcodec

T = TypeVar("T")
DEFAULT_TTL = 600.0  # seconds


class CacheBacking(Protocol):
    """Where entries outlive the process: text and its expiry (epoch seconds)."""

    def load(self, tenant: str, kind: str) -> tuple[float, str] | None: ...

    def save(self, tenant: str, kind: str, expires: float, payload: str) -> None: ...

    def forget(self, tenant: str) -> None: ...


class ReferenceCache:
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        backing: CacheBacking | None = None,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._backing = backing
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, kind: str, load: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            entry = self._entries.get((tenant, kind))
        if entry is None and self._backing is not None:
            saved = self._backing.load(tenant, kind)
            if saved is not None:
                entry = (saved[0], refcodec.decode(saved[1]))
                with self._lock:
                    self._entries[(tenant, kind)] = entry
        if entry and entry[0] > now:
            value: T = entry[1]
            return value
        value = load()
        self.put(tenant, kind, value)
        return value

    def put(self, tenant: str, kind: str, value: Any) -> None:
        expires = self._clock() + self._ttl
        with self._lock:
            self._entries[(tenant, kind)] = (expires, value)
        if self._backing is not None and self._ttl > 0:
            self._backing.save(tenant, kind, expires, refcodec.encode(value))

    def forget(self, tenant: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant]:
                del self._entries[key]
        if self._backing is not None:
            self._backing.forget(tenant)
