"""The stand-in's test hooks under /_emulator/ (besides reset, calls, seed and clock):

- `POST /_emulator/webhook` {"url", "enabled_events"?, "retry_delays"?}: the webhook endpoint
  (what the Stripe Dashboard's "Add endpoint" does); answers its signing secret. `GET` shows it
  and its deliveries; `DELETE` removes it.
- `POST /_emulator/subscriptions/{id}/renew`, `/fail-renewal`, `/cancel`: what Stripe does at the
  end of a period (a paid or a declined renewal invoice) or when the customer cancels.
- `GET /_emulator/events`: every event raised; `POST /_emulator/events/{id}/resend`: deliver one
  again (Stripe's retries and the Dashboard's Resend send the same event id).
- `POST /_emulator/wait`: blocks until queued deliveries are done.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from d365xero.emulators.stripe.errors import StripeError
from d365xero.emulators.stripe.models import StripeBackend
from d365xero.emulators.stripe.routes import error_response, public
from d365xero.emulators.stripe.webhooks import DEFAULT_RETRY_DELAYS


def hook_routes(backend: StripeBackend) -> list[Route]:
    async def webhook(request: Request) -> Response:
        sender = backend.sender
        if request.method == "DELETE":
            sender.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                body = await request.json()
                url = str(body["url"])
                events = tuple(str(e) for e in body.get("enabled_events", ["*"]))
                delays = tuple(float(d) for d in body.get("retry_delays", DEFAULT_RETRY_DELAYS))
            except (ValueError, KeyError, TypeError, AttributeError):
                return JSONResponse(
                    {"error": 'expected JSON {"url": "...", "enabled_events": ["..."]}'},
                    status_code=400,
                )
            sender.register(url, events, delays)
        endpoint = sender.endpoint
        if endpoint is None:
            return JSONResponse({"endpoint": None})
        return JSONResponse(
            {
                "endpoint": {
                    "url": endpoint.url,
                    "secret": endpoint.secret,
                    "enabled_events": list(endpoint.enabled_events),
                    "deliveries": endpoint.deliveries,
                }
            }
        )

    async def lifecycle(request: Request) -> Response:
        subscription_id = request.path_params["id"]
        action = request.path_params["action"]
        try:
            if action == "renew":
                found = backend.renew(subscription_id)
            elif action == "fail-renewal":
                found = backend.renew(subscription_id, succeed=False)
            elif action == "cancel":
                found = backend.cancel(subscription_id)
            else:
                return JSONResponse(
                    {"error": "the action is renew, fail-renewal or cancel"}, status_code=404
                )
        except StripeError as exc:
            return error_response(exc)
        return JSONResponse(public(found))

    async def events(request: Request) -> Response:
        with backend.lock:
            return JSONResponse({"data": list(backend.events.values())})

    async def resend(request: Request) -> Response:
        event = backend.events.get(request.path_params["id"])
        if event is None:
            return JSONResponse({"error": "no such event"}, status_code=404)
        backend.sender.resend(event)
        return Response(status_code=202)

    async def wait(request: Request) -> Response:
        idle = backend.sender.wait_idle()
        return JSONResponse({"idle": idle}, status_code=200 if idle else 504)

    return [
        Route("/_emulator/webhook", webhook, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/subscriptions/{id}/{action}", lifecycle, methods=["POST"]),
        Route("/_emulator/events", events, methods=["GET"]),
        Route("/_emulator/events/{id}/resend", resend, methods=["POST"]),
        Route("/_emulator/wait", wait, methods=["POST"]),
    ]
