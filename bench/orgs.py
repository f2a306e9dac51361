"""Many emulated organisations in one process, each at an origin of its own (its own port on
127.0.0.1, one TLS certificate of the local CA for all): N Xero emulators, each a custom
connection's app reaching its own organisation (its own tenant id), or N Dataverse emulators,
each its own organisation with Entra ID beside it. As real services, different organisations
are different origins (Dataverse's URLs name the org's host; Xero's tenants have separate
budgets); a port apiece is how one machine gives 1,000 of them an origin each.

A control port sums what the emulators count, for the benchmark (not part of either service):
GET /calls (calls per route, all organisations), DELETE /calls, POST /rate-limits
{"enabled": bool} (Xero: every organisation's limits), GET /refused (Xero: 429s by problem),
GET /invoices (Xero: invoices per organisation, by port).

    python -m bench.orgs xero --count 1000 --data-dir DIR

prints one JSON line, {"ports": [...], "control": P, "ca": "<CA file>"}, once every port
listens, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from d365xero.emulators.core.server import listen
from d365xero.emulators.core.tls import LocalCA


def organisation_name(n: int) -> str:
    return f"Bench Org {n:04d}"


def _apps(service: str, count: int, seed: bool) -> list[Starlette]:
    if service == "xero":
        from d365xero.emulators.xero.app import create_app as xero

        return [xero(organisation_name=organisation_name(n)) for n in range(count)]
    from d365xero.emulators.dataverse.app import create_app as dataverse

    apps = [dataverse(organisation_name=organisation_name(n)) for n in range(count)]
    for app in apps if seed else ():
        app.state.emulator.seed()  # `emulate --seed`: the sales trial's products, price lists
    return apps


def _control(service: str, apps: dict[int, Starlette]) -> Starlette:
    def emulators() -> list[Any]:
        return [app.state.emulator for app in apps.values()]

    async def calls(request: Request) -> Response:
        if request.method == "DELETE":
            for emulator in emulators():
                emulator.calls.clear()
            return Response(status_code=204)
        total: Counter[str] = Counter()
        for emulator in emulators():
            total.update(emulator.calls.snapshot())
        return JSONResponse(dict(total))

    async def rate_limits(request: Request) -> Response:
        enabled = bool((await request.json())["enabled"])
        for emulator in emulators():
            emulator.rate_limits_enabled = enabled
        return JSONResponse({"enabled": enabled})

    async def refused(request: Request) -> Response:
        total: Counter[str] = Counter()
        for emulator in emulators():
            total.update(emulator.limiter.refused)
        return JSONResponse(dict(total))

    async def invoices(request: Request) -> Response:
        return JSONResponse(
            {
                str(port): sum(len(b.invoices.invoices) for b in app.state.emulator.orgs.values())
                for port, app in apps.items()
            }
        )

    routes = [Route("/calls", calls, methods=["GET", "DELETE"])]
    if service == "xero":
        routes += [
            Route("/rate-limits", rate_limits, methods=["POST"]),
            Route("/refused", refused),
            Route("/invoices", invoices),
        ]
    return Starlette(routes=routes)


class ByPort:
    """The ASGI app that hands each request to the organisation listening on its port."""

    def __init__(self, apps: dict[int, ASGIApp], control: ASGIApp, control_port: int) -> None:
        self.apps, self.control, self.control_port = apps, control, control_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        port = int(scope["server"][1]) if scope.get("server") else 0
        app = self.control if port == self.control_port else self.apps[port]
        await app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("service", choices=["xero", "dataverse"])
    parser.add_argument("--count", type=int, required=True, help="organisations")
    parser.add_argument("--data-dir", type=Path, required=True, help="where the local CA is")
    parser.add_argument("--seed", action="store_true", help="Dataverse: the sample data")
    args = parser.parse_args()
    tls = LocalCA.load_or_create(args.data_dir).issue(f"orgs-{args.service}")
    ca = LocalCA.load_or_create(args.data_dir).cert_path
    sockets = [listen("127.0.0.1", 0) for _ in range(args.count + 1)]
    ports = [int(s.getsockname()[1]) for s in sockets]
    apps = dict(zip(ports[1:], _apps(args.service, args.count, args.seed), strict=True))
    control = _control(args.service, apps)
    config = uvicorn.Config(
        ByPort(dict(apps), control, ports[0]),
        log_level="warning",
        access_log=False,
        ssl_certfile=str(tls.certfile),
        ssl_keyfile=str(tls.keyfile),
        lifespan="off",
        timeout_graceful_shutdown=1,
        backlog=4096,
    )
    print(json.dumps({"ports": ports[1:], "control": ports[0], "ca": str(ca)}), flush=True)
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
