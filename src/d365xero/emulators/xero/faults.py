"""Injected faults, driven through /_emulator/faults (a test hook, not part of Xero):

    POST /_emulator/faults {"seed": 7, "faults": [
        {"route": "PUT /api.xro/2.0/Invoices", "kind": "lost", "rate": 0.5, "times": 3}]}

`route` is "[METHOD ]/path-prefix"; `kind` is one of
- "429": Xero's rate-limit answer (X-Rate-Limit-Problem: minute, Retry-After: `retry_after`),
- "500" / "503": Xero's server errors (plain text, as the real ones),
- "slow": the request waits `seconds` before it is served,
- "lost": the request is served (the change is applied) and then the connection drops before
  the response arrives, as when a network path fails.
`rate` (0..1, default 1) picks the requests hit, from a random stream seeded by `seed`, so a run
is reproducible; `times` caps how many are hit. GET lists the faults and their hit counts;
DELETE clears them.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from d365xero.emulators.xero.faultplan import Fault, FaultPlan

BODIES = {
    "500": b"An unhandled error with the Xero API",
    "503": b"The Xero API is currently offline for maintenance",
}


class LostResponse(ConnectionError):
    """Raised after a deliberately broken response, so the server drops the connection."""


class FaultMiddleware:
    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        fault = self.plan.pick(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "lost":
            await self._lose(scope, receive, send)
        else:
            await self._error(fault, send)

    async def _error(self, fault: Fault, send: Send) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        body = BODIES.get(fault.kind, b"")
        if fault.kind == "429":
            headers += [
                (b"x-rate-limit-problem", b"minute"),
                (b"retry-after", str(fault.retry_after).encode()),
            ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": int(fault.kind), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lose(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # the change is applied...
        # ...then a response that promises a body it never sends: the server closes the
        # connection and the client sees it break (IncompleteRead / RemoteProtocolError).
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1024"), (b"content-type", b"application/json")],
        }
        try:
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception as exc:
            raise LostResponse("emulated lost response") from exc
        raise LostResponse("emulated lost response")


class _QuietLostResponses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], LostResponse))


def quiet_server_logs() -> None:
    """Keep uvicorn from printing a traceback for every deliberately lost response."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietLostResponses) for f in logger.filters):
        logger.addFilter(_QuietLostResponses())


def fault_routes(plan: FaultPlan) -> list[Route]:
    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            plan.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                plan.load(json.loads(await request.body()))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": plan.describe()})

    return [Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"])]
