"""Xero's API limits (developer.xero.com/documentation/oauth2/limits; reference/xero.md §2):
per tenant 5 calls in progress, 60 a minute and 5,000 a day; per app 10,000 a minute.
Every accounting response carries X-DayLimit-Remaining, X-MinLimit-Remaining and
X-AppMinLimit-Remaining; a breach is 429 with X-Rate-Limit-Problem (minute, day, concurrent,
appminute) and, for the minute and day limits, Retry-After in seconds.

Time is the emulator's clock, so tests move through windows with POST /_emulator/clock. With
enforcement off the counters and headers still run; nothing is refused.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from d365xero.emulators.core.clock import Clock
from d365xero.emulators.xero.errors import RateLimited

MINUTE_LIMIT = 60
DAY_LIMIT = 5000
CONCURRENT_LIMIT = 5
APP_MINUTE_LIMIT = 10_000
MINUTE = 60.0
DAY = 86_400.0


@dataclass
class _Tenant:
    minute: deque[float] = field(default_factory=deque)
    day_start: float = 0.0
    day_count: int = 0
    in_flight: int = 0


class RateLimiter:
    def __init__(self, clock: Clock, *, enforce: bool = False) -> None:
        self.clock = clock
        self.enforce = enforce
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tenants: dict[str, _Tenant] = {}
            self._app: deque[float] = deque()
            # 429s answered, by X-Rate-Limit-Problem: what a test reads to prove a client
            # stayed inside the limits (GET /_emulator/rate-limits).
            self.refused: dict[str, int] = {}

    def _prune(self, now: float, tenant: _Tenant | None) -> None:
        while self._app and self._app[0] <= now - MINUTE:
            self._app.popleft()
        if tenant is None:
            return
        while tenant.minute and tenant.minute[0] <= now - MINUTE:
            tenant.minute.popleft()
        # The day is a fixed window that starts with the tenant's first call (Xero resets each
        # tenant's day at its own time).
        if tenant.day_count and now >= tenant.day_start + DAY:
            tenant.day_start, tenant.day_count = now, 0

    def acquire(self, tenant_id: str | None) -> dict[str, str]:
        """Count one call (or refuse it with RateLimited); returns the remaining-count headers.
        A tenant call must be paired with release()."""
        with self._lock:
            now = self.clock.time()
            tenant = self._tenants.setdefault(tenant_id, _Tenant()) if tenant_id else None
            self._prune(now, tenant)
            if self.enforce:
                try:
                    self._check(now, tenant)
                except RateLimited as refused:
                    self.refused[refused.problem] = self.refused.get(refused.problem, 0) + 1
                    raise
            self._app.append(now)
            if tenant is not None:
                if not tenant.day_count:
                    tenant.day_start = now
                tenant.minute.append(now)
                tenant.day_count += 1
                tenant.in_flight += 1
            return self._headers(tenant)

    def _check(self, now: float, tenant: _Tenant | None) -> None:
        headers = self._headers(tenant)
        if len(self._app) >= APP_MINUTE_LIMIT:
            wait = self._app[0] + MINUTE - now
            raise RateLimited("appminute", max(1, math.ceil(wait)), headers)
        if tenant is None:
            return
        if tenant.in_flight >= CONCURRENT_LIMIT:
            raise RateLimited("concurrent", 0, headers)
        if tenant.day_count >= DAY_LIMIT:
            raise RateLimited("day", max(1, math.ceil(tenant.day_start + DAY - now)), headers)
        if len(tenant.minute) >= MINUTE_LIMIT:
            wait = tenant.minute[0] + MINUTE - now
            raise RateLimited("minute", max(1, math.ceil(wait)), headers)

    def release(self, tenant_id: str) -> None:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is not None and tenant.in_flight > 0:
                tenant.in_flight -= 1

    def _headers(self, tenant: _Tenant | None) -> dict[str, str]:
        headers = {"X-AppMinLimit-Remaining": str(max(0, APP_MINUTE_LIMIT - len(self._app)))}
        if tenant is not None:
            headers["X-DayLimit-Remaining"] = str(max(0, DAY_LIMIT - tenant.day_count))
            headers["X-MinLimit-Remaining"] = str(max(0, MINUTE_LIMIT - len(tenant.minute)))
        return headers
