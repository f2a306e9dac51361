"""The Dataverse emulator as an ASGI app: one organisation at the root URL of wherever it is
served, Entra ID's token endpoint beside it, and the /_emulator/ control plane."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from d365xero.emulators.core.calls import CallCountingMiddleware
from d365xero.emulators.core.control import control_routes
from d365xero.emulators.core.faults import fault_routes, quiet_server_logs
from d365xero.emulators.dataverse.entra import Entra
from d365xero.emulators.dataverse.faults import FaultMiddleware
from d365xero.emulators.dataverse.limits import ServiceProtectionMiddleware, protection_routes
from d365xero.emulators.dataverse.models import ORG_NAME, Organisation
from d365xero.emulators.dataverse.routes import all_routes
from d365xero.emulators.dataverse.security import security_routes
from d365xero.emulators.dataverse.solution_import import import_routes


def create_app(
    *,
    client_id: str = "d365xero-demo",
    client_secret: str = "demo-secret",
    tenant: str = "demo-tenant",
    with_solution: bool = True,
    service_protection: bool = False,
    organisation_name: str = ORG_NAME,
    directory: Entra | None = None,
) -> Starlette:
    """`service_protection` turns on Dataverse's per-user request limits (off by default; also
    switchable at /_emulator/service-protection). Faults are injected at /_emulator/faults.
    Several organisations of one tenant: create each with the same `directory`
    (`app.state.emulator.entra` of the first) and its own `organisation_name`."""
    org = Organisation(
        client_id=client_id,
        client_secret=client_secret,
        tenant=tenant,
        with_solution=with_solution,
        name=organisation_name,
        directory=directory,
    )
    org.protection.limits.enabled = service_protection
    quiet_server_logs()
    app = Starlette(
        routes=[
            *control_routes(org),
            *fault_routes(org.faults),
            *protection_routes(org.protection),
            *security_routes(org.security),
            *import_routes(org),
            *all_routes(org),
        ],
        middleware=[
            Middleware(CallCountingMiddleware, log=org.calls),
            # A slow (faulted) request is in flight while it waits: limits see it.
            Middleware(ServiceProtectionMiddleware, protection=org.protection, entra=org.entra),
            Middleware(FaultMiddleware, plan=org.faults),
        ],
    )
    app.state.emulator = org
    return app
