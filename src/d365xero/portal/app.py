"""The web app of `serve`: health, readiness, metrics, the webhook receivers and the portal's
pages (portal.routes). Built by `create_app`, never at import time; routes are synchronous
(FastAPI runs them on its thread pool), as everything in the service is."""

from __future__ import annotations

import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from d365xero.config import Settings
from d365xero.jobs.dispatch import PassRequests
from d365xero.jobs.metrics import Metrics
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal.oauth import form_targets
from d365xero.portal.routes import mount_portal
from d365xero.portal.webhooks import Receivers


async def _raw_body(request: Request) -> bytes:
    """The body as sent: Xero's signature is over these exact bytes."""
    return await request.body()


def readiness(runtime: Runtime, head: str | None) -> str | None:
    """Why the store is not ready (None when it is reachable and at `head`)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:  # any failure to reach the store means not ready
        return f"the store is unreachable: {type(exc).__name__}"
    if current != head:
        return f"the store is at revision {current}, not {head}: run d365xero db upgrade"
    return None


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    passes: PassRequests | None = None,
    metrics: Metrics | None = None,
    stripe_http: httpx.Client | None = None,
) -> FastAPI:
    """`passes` is how webhooks ask for passes (serve's scheduler, or the worker's queue);
    without one, webhooks are answered 503 so the sender retries later. `stripe_http` is how
    the stripe SDK reaches D365XERO_STRIPE_URL (default: a client of its own)."""
    runtime = runtime or open_runtime(settings)
    metrics = metrics or Metrics()
    key = settings.xero_webhook_key.get_secret_value() if settings.xero_webhook_key else None
    receivers = Receivers(runtime.sessions, runtime.box, passes, metrics, key)
    from d365xero.billing.client import client_factory
    from d365xero.billing.webhooks import StripeWebhooks

    stripe_client = client_factory(settings, stripe_http)
    secret = settings.stripe_webhook_secret
    stripe_hooks = StripeWebhooks(
        runtime.sessions, stripe_client, secret.get_secret_value() if secret else None
    )
    from d365xero.store.migrate import head_revision

    head = head_revision()
    app = FastAPI(title="d365xero", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime, app.state.metrics, app.state.receivers = runtime, metrics, receivers
    app.state.stripe_client, app.state.stripe_hooks = stripe_client, stripe_hooks

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        problem = readiness(runtime, head)
        if problem:
            return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    def metrics_text() -> Response:
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/webhooks/xero")
    def xero_webhook(request: Request, body: bytes = Depends(_raw_body)) -> Response:
        status, detail = receivers.xero(body, request.headers.get("x-xero-signature"))
        return PlainTextResponse(detail, status_code=status)

    @app.post("/webhooks/dataverse/{connection}")
    def dataverse_webhook(
        connection: str, request: Request, body: bytes = Depends(_raw_body)
    ) -> Response:
        key = request.query_params.get("code")
        status, detail = receivers.dataverse(connection, key, body)
        return PlainTextResponse(detail, status_code=status)

    @app.post("/webhooks/stripe")
    def stripe_webhook(request: Request, body: bytes = Depends(_raw_body)) -> Response:
        status, detail = stripe_hooks.receive(body, request.headers.get("stripe-signature"))
        return PlainTextResponse(detail, status_code=status)

    from d365xero.billing.client import checkout_origins

    # Connect to Xero / Dynamics post a form that is redirected to the identity server. Chrome
    # and Safari check CSP form-action against every redirect of a form's navigation, Firefox
    # only the action (w3c/webappsec-csp#8; nextcloud/server#17411, hexpm/hexpm#1413), so the
    # identity origins are allowed; a page whose form goes to another authority (one a Dynamics
    # organisation named) adds it to its own policy (pages/connect_flow.with_form_targets).
    # Subscribe Now's form is redirected to Stripe Checkout.
    mount_portal(app, form_targets=(*form_targets(settings), *checkout_origins(settings)))
    return app
