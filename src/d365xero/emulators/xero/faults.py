"""Xero's answers to injected faults (the machinery is shared: emulators/core/faults.py)."""

from __future__ import annotations

from starlette.types import Send

from d365xero.emulators.core import faults
from d365xero.emulators.core.faultplan import Fault

BODIES = {
    "500": b"An unhandled error with the Xero API",
    "503": b"The Xero API is currently offline for maintenance",
}


class FaultMiddleware(faults.FaultMiddleware):
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
