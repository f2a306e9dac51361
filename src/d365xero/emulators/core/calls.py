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
    """Records each HTTP request under the path template of the route that served it."""

    def __init__(self, app: ASGIApp, log: CallLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counted = False

        def count() -> None:
            nonlocal counted
            counted = True
            route = scope.get("route")
            template = getattr(route, "path", None) or scope["path"]
            if not template.startswith("/_emulator"):
                self.log.record(scope["method"], template)

        async def send_counted(message: Message) -> None:
            # Counted before the answer goes out: a caller holding its answer sees its call
            # counted (recorded after, a test reading the counts raced the server's thread).
            if message["type"] == "http.response.start" and not counted:
                count()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if not counted:
                count()
