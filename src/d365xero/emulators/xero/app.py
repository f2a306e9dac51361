"""create_app: the Xero emulator as a Starlette app (Starlette, not FastAPI, so that every status
code, header and body is exactly Xero's)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from d365xero.emulators.core.calls import CallCountingMiddleware
from d365xero.emulators.core.control import control_routes
from d365xero.emulators.core.faults import fault_routes, quiet_server_logs
from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.faults import FaultMiddleware
from d365xero.emulators.xero.hooks import hook_routes
from d365xero.emulators.xero.models import XeroBackend
from d365xero.emulators.xero.oauth_routes import oauth_routes
from d365xero.emulators.xero.plumbing import NOT_FOUND_TEXT
from d365xero.emulators.xero.routes import routes


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return PlainTextResponse(NOT_FOUND_TEXT, status_code=404)
    if status == 405:
        return PlainTextResponse(
            f"The requested resource does not support http method '{request.method}'.",
            status_code=405,
        )
    return PlainTextResponse("An unhandled error with the Xero API", status_code=status)


async def _unhandled(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("An unhandled error with the Xero API", status_code=500)


def create_app(
    *,
    client_id: str = "d365xero-demo",
    client_secret: str = "demo-secret",
    rate_limits: bool = False,
    organisation_name: str = refdata.ORGANISATION_NAME,
) -> Starlette:
    """`organisation_name`: the organisation the app's custom connection reaches (its tenant
    id follows from the name), "Demo Company (UK)" unless given."""
    backend = XeroBackend(
        client_id=client_id, client_secret=client_secret, organisation_name=organisation_name
    )
    backend.rate_limits_enabled = rate_limits
    plan = backend.faults
    quiet_server_logs()
    app = Starlette(
        routes=control_routes(backend)
        + fault_routes(plan)
        + hook_routes()
        + oauth_routes()
        + routes(),
        middleware=[
            Middleware(CallCountingMiddleware, log=backend.calls),
            Middleware(FaultMiddleware, plan=plan),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unhandled},
    )
    app.state.emulator = backend
    return app
