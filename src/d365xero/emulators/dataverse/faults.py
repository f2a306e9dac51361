"""Injected faults, driven through /_emulator/faults exactly as on the Xero emulator (a test hook,
not part of Dataverse):

    POST /_emulator/faults {"seed": 7, "faults": [
        {"route": "POST /api/data/v9.2/$batch", "kind": "lost", "rate": 0.5, "times": 3}]}

Kinds: "429" (Dataverse's service-protection answer: JSON error 0x80072322 and Retry-After),
"500" (0x80040216 "An unexpected error occurred."), "503", "slow" (`seconds` of delay), "lost"
(the request is applied, then the connection drops before the response arrives). The plan
(rate, seed, times), the routes and the slow/lost mechanics are shared
(emulators/core/faults.py).
"""

from __future__ import annotations

import json

from starlette.types import Send

from d365xero.emulators.core import faults
from d365xero.emulators.core.faultplan import Fault

BODIES = {
    "429": {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 6000 over time window of 300 "
            "seconds.",
        }
    },
    "500": {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}},
    "503": {"error": {"code": "0x80040216", "message": "The service is unavailable."}},
}


class FaultMiddleware(faults.FaultMiddleware):
    """The shared fault middleware (slow, lost) with Dataverse's error bodies."""

    async def _error(self, fault: Fault, send: Send) -> None:
        body = json.dumps(BODIES[fault.kind]).encode()
        headers = [
            (b"content-type", b"application/json; odata.metadata=minimal"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.kind == "429":
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": int(fault.kind), "headers": headers})
        await send({"type": "http.response.body", "body": body})
