"""The control plane every emulator serves under /_emulator/ and nowhere else."""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from d365xero.emulators.core.calls import CallLog
from d365xero.emulators.core.clock import Clock


class Controllable(Protocol):
    clock: Clock
    calls: CallLog

    def reset(self) -> None: ...

    def seed(self) -> dict[str, int]: ...


def control_routes(emulator: Controllable) -> list[Route]:
    async def reset(request: Request) -> Response:
        emulator.reset()
        emulator.calls.clear()
        emulator.clock.reset()
        return Response(status_code=204)

    async def calls(request: Request) -> Response:
        return JSONResponse(emulator.calls.snapshot())

    async def clear_calls(request: Request) -> Response:
        emulator.calls.clear()
        return Response(status_code=204)

    async def seed(request: Request) -> Response:
        return JSONResponse(emulator.seed())

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await request.json()
                seconds = float(body.get("advance_seconds", 0))
            except (ValueError, TypeError, AttributeError):
                return JSONResponse(
                    {"error": 'expected JSON {"advance_seconds": <number>}'}, status_code=400
                )
            emulator.clock.advance(seconds)
        return JSONResponse({"now": emulator.clock.now().isoformat()})

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/calls", calls, methods=["GET"]),
        Route("/_emulator/calls", clear_calls, methods=["DELETE"]),
        Route("/_emulator/seed", seed, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
    ]
