"""Service protection limits, as PAD:api-limits.md documents them: per user, over a sliding
300-second window, at most 6,000 requests, 1,200,000 ms of combined execution time, and 52
concurrent requests. Past a limit the Web API answers 429 with Retry-After and one of the
documented error codes. Off unless switched on (create_app(service_protection=True) or
POST /_emulator/service-protection), because most tests are not about limits.

A $batch counts as one request here (its execution time counts in full).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from d365xero.emulators.core.clock import Clock
from d365xero.emulators.dataverse.entra import Entra
from d365xero.emulators.dataverse.errors import TooManyRequests

API_PREFIX = "/api/data/"


@dataclass
class Limits:
    enabled: bool = False
    requests: int = 6000
    execution_ms: int = 1_200_000
    concurrent: int = 52
    window_seconds: int = 300


@dataclass
class _Usage:
    starts: deque[float] = field(default_factory=deque)
    durations: deque[tuple[float, float]] = field(default_factory=deque)  # (end, ms)
    in_flight: int = 0


class ServiceProtection:
    def __init__(self, clock: Clock, enabled: bool = False) -> None:
        self.clock = clock
        self.limits = Limits(enabled=enabled)
        self._usage: dict[str, _Usage] = defaultdict(_Usage)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._usage.clear()

    def configure(self, body: dict[str, Any]) -> None:
        with self._lock:
            for name in ("requests", "execution_ms", "concurrent", "window_seconds"):
                if name in body:
                    setattr(self.limits, name, int(body[name]))
            if "enabled" in body:
                self.limits.enabled = bool(body["enabled"])
            self._usage.clear()

    def _trim(self, usage: _Usage, now: float) -> None:
        edge = now - self.limits.window_seconds
        while usage.starts and usage.starts[0] <= edge:
            usage.starts.popleft()
        while usage.durations and usage.durations[0][0] <= edge:
            usage.durations.popleft()

    def enter(self, user: str) -> TooManyRequests | None:
        """Counts a request in, or the 429 it gets."""
        now = self.clock.time()
        limits = self.limits
        with self._lock:
            usage = self._usage[user]
            self._trim(usage, now)
            if usage.in_flight >= limits.concurrent:
                return TooManyRequests(
                    "0x80072326",
                    f"Number of concurrent requests exceeded the limit of {limits.concurrent}.",
                    1,
                )
            if len(usage.starts) >= limits.requests:
                retry = usage.starts[0] + limits.window_seconds - now
                return TooManyRequests(
                    "0x80072322",
                    f"Number of requests exceeded the limit of {limits.requests} over time "
                    f"window of {limits.window_seconds} seconds.",
                    max(1, math.ceil(retry)),
                )
            spent = sum(ms for _, ms in usage.durations)
            if spent >= limits.execution_ms:
                retry = usage.durations[0][0] + limits.window_seconds - now
                return TooManyRequests(
                    "0x80072321",
                    "Combined execution time of incoming requests exceeded limit of "
                    f"{limits.execution_ms:,} milliseconds over time window of "
                    f"{limits.window_seconds} seconds. Decrease number of concurrent requests "
                    "or reduce the duration of requests and try again later.",
                    max(1, math.ceil(retry)),
                )
            usage.starts.append(now)
            usage.in_flight += 1
            return None

    def leave(self, user: str, elapsed_ms: float) -> None:
        with self._lock:
            usage = self._usage[user]
            usage.in_flight -= 1
            usage.durations.append((self.clock.time(), elapsed_ms))

    def remaining(self, user: str) -> tuple[int, int]:
        """(requests, execution milliseconds) left in the window: the debug headers' values."""
        with self._lock:
            usage = self._usage[user]
            spent = sum(ms for _, ms in usage.durations)
            return (
                max(0, self.limits.requests - len(usage.starts)),
                max(0, int(self.limits.execution_ms - spent)),
            )


class ServiceProtectionMiddleware:
    def __init__(self, app: ASGIApp, protection: ServiceProtection, entra: Entra) -> None:
        self.app = app
        self.protection = protection
        self.entra = entra

    def _user(self, scope: Scope) -> str | None:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if not auth.lower().startswith("bearer "):
            return None
        host = headers.get(b"host", b"").decode("latin-1")
        claims = self.entra.validate(auth[7:].strip(), f"{scope.get('scheme', 'http')}://{host}")
        return str(claims["oid"]) if claims else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.protection.limits.enabled
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        user = self._user(scope)
        if user is None:
            await self.app(scope, receive, send)  # the Web API answers 401
            return
        refused = self.protection.enter(user)
        if refused is not None:
            body = json.dumps(refused.body()).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json; odata.metadata=minimal"),
                        (b"retry-after", str(refused.retry_after).encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                requests_left, ms_left = self.protection.remaining(user)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-ms-ratelimit-burst-remaining-xrm-requests", str(requests_left).encode()),
                    (b"x-ms-ratelimit-time-remaining-xrm-requests", str(ms_left).encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            self.protection.leave(user, (time.perf_counter() - started) * 1000)


def protection_routes(protection: ServiceProtection) -> list[Route]:
    async def configure(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                protection.configure(body)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(vars(protection.limits))

    return [Route("/_emulator/service-protection", configure, methods=["GET", "POST"])]
