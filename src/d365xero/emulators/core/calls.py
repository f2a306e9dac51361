"""Counts of requests per method and route, read through GET /_emulator/calls for call budgets."""

from __future__ import annotations

import threading
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CallLog:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, method: str, route: str) -> None:
        with self._lock:
            self._counts[f"{method} {route}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self, prefix: str = "") -> int:
        """All calls whose route starts with `prefix` (e.g. '/api.xro'), control plane excluded."""
        with self._lock:
            return sum(
                n
                for key, n in self._counts.items()
                if key.split(" ", 1)[1].startswith(prefix)
                and not key.split(" ", 1)[1].startswith("/_emulator")
            )

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class CallCountingMiddleware:
    """Records each HTTP request under the path template of the route that served it, before
    its response starts: a client that has its answer finds its call counted (a count read or
    cleared right after a call is never off by that call)."""

    def __init__(self, app: ASGIApp, log: CallLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def counted(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                self._record(scope)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            if not recorded:  # no response (the client went away, or a fault dropped it)
                self._record(scope)

    def _record(self, scope: Scope) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or scope["path"]
        if not template.startswith("/_emulator"):
            self.log.record(scope["method"], template)
