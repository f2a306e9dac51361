"""Xero's answers to injected faults (the machinery is shared: emulators/core/faults.py)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from d365xero.emulators.core import faults
from d365xero.emulators.core.faultplan import Fault

# Where a slow fault on an Accounting API call leaves its seconds for plumbing.accounting: the
# wait happens inside the call, after the call is counted as in progress (see _slow).
SLOW_SECONDS = "d365xero.xero_emulator.slow_seconds"
ACCOUNTING = "/api.xro/"

BODIES = {
    "500": b"An unhandled error with the Xero API",
    "503": b"The Xero API is currently offline for maintenance",
}


class FaultMiddleware(faults.FaultMiddleware):
    async def _slow(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """A slow Accounting API call is slow at Xero: it is one of the tenant's calls in
        progress for the whole wait (Xero's limit of 5 concurrent calls counts calls until they
        are answered; developer.xero.com/documentation/guides/oauth2/limits), so the wait runs
        inside the rate limiter's in-progress window rather than before the call reaches it."""
        if not scope["path"].startswith(ACCOUNTING):
            await super()._slow(fault, scope, receive, send)
            return
        scope[SLOW_SECONDS] = fault.seconds
        await self.app(scope, receive, send)

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
