"""create_app: the Stripe stand-in as a Starlette app (Starlette, not FastAPI, so that every
status code, header and body is exactly Stripe's)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from d365xero.emulators.core.calls import CallCountingMiddleware
from d365xero.emulators.core.control import control_routes
from d365xero.emulators.core.faults import quiet_server_logs
from d365xero.emulators.stripe.hooks import hook_routes
from d365xero.emulators.stripe.models import (
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    StripeBackend,
)
from d365xero.emulators.stripe.page import page_routes
from d365xero.emulators.stripe.routes import routes


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in (404, 405):  # Stripe answers an unknown route or method alike
        message = (
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/."
        )
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error"}}, status_code=404
        )
    return _api_error()


def _api_error() -> Response:
    return JSONResponse(
        {"error": {"message": "An unknown error occurred", "type": "api_error"}}, status_code=500
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    return _api_error()


def create_app(
    *,
    secret_key: str = DEFAULT_SECRET_KEY,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    webhook_transport: httpx.BaseTransport | None = None,
) -> Starlette:
    """`webhook_transport`: how events reach the endpoint (a test hands it the receiver's ASGI
    app; by default, the network)."""
    backend = StripeBackend(secret_key=secret_key, webhook_secret=webhook_secret)
    backend.sender.transport = webhook_transport
    quiet_server_logs()
    app = Starlette(
        routes=control_routes(backend)
        + hook_routes(backend)
        + page_routes(backend)
        + routes(backend),
        middleware=[Middleware(CallCountingMiddleware, log=backend.calls)],
        exception_handlers={HTTPException: _http_error, Exception: _unhandled},
    )
    app.state.emulator = backend
    return app
