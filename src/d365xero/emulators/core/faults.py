"""Injected faults, driven through /_emulator/faults on every emulator (a test hook, not part
of the services):

    POST /_emulator/faults {"seed": 7, "faults": [
        {"route": "PUT /api.xro/2.0/Invoices", "kind": "lost", "rate": 0.5, "times": 3}]}

`route` is "[METHOD ]/path-prefix"; `kind` is one of "429", "500", "503" (each emulator answers
them as its service does), "slow" (the request waits `seconds` before it is served) and "lost"
(the request is served, so the change is applied, and then the connection drops before the
response arrives, as when a network path fails). `rate` (0..1, default 1) picks the requests
hit from a random stream seeded by `seed`, so a run is reproducible; `times` caps how many are
hit. GET lists the faults and their hit counts; DELETE clears them.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from d365xero.emulators.core.faultplan import Fault, FaultPlan


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
            await self._slow(fault, scope, receive, send)
        elif fault.kind == "lost":
            await self._lose(scope, receive, send)
        else:
            await self._error(fault, send)

    async def _slow(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """The request waits before it is served (an emulator may make the wait part of the
        call, where the service counts calls in progress)."""
        await asyncio.sleep(fault.seconds)
        await self.app(scope, receive, send)

    async def _error(self, fault: Fault, send: Send) -> None:
        """The service's own answer for an injected 429, 500 or 503."""
        raise NotImplementedError

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
