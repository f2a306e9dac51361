"""Xero-specific test hooks under /_emulator/ (not part of Xero): switching rate limits and
standing in for the developer portal's webhook settings."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from d365xero.emulators.xero.models import XeroBackend
from d365xero.emulators.xero.webhooks import DEFAULT_RETRY_DELAYS


async def rate_limits_control(request: Request) -> Response:
    """Test hook: GET shows, POST {"enabled": bool} switches enforcement of Xero's limits;
    both answer with the 429s refused so far, by problem (minute, day, concurrent, ...)."""
    backend: XeroBackend = request.app.state.emulator
    if request.method == "POST":
        try:
            body = json.loads(await request.body())
            enabled = body["enabled"]
            if not isinstance(enabled, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected JSON {"enabled": true|false}'}, 400)
        backend.rate_limits_enabled = enabled
    refused = dict(backend.limiter.refused)
    return JSONResponse({"enabled": backend.rate_limits_enabled, "refused": refused})


async def webhooks_control(request: Request) -> Response:
    """Test hook standing in for the developer portal's webhook settings: POST {"url", "key"?,
    "retry_delays"?, "seed"?} subscribes (running Intent to Receive), GET shows the
    subscription and its deliveries, DELETE removes it."""
    sender = request.app.state.emulator.webhooks
    if request.method == "DELETE":
        sender.clear()
        return Response(status_code=204)
    if request.method == "POST":
        try:
            body = json.loads(await request.body())
            url = body["url"]
            key = body.get("key")
            delays = tuple(float(d) for d in body.get("retry_delays", DEFAULT_RETRY_DELAYS))
            seed = body.get("seed")
            if not isinstance(url, str) or not (key is None or isinstance(key, str)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected JSON {"url": "...", "key": "..."}'}, 400)
        origin = str(request.base_url).rstrip("/")
        await run_in_threadpool(sender.subscribe, url, key, origin, delays, seed)
    subscription = sender.subscription
    if subscription is None:
        return JSONResponse({"subscription": None})
    return JSONResponse(
        {
            "subscription": {
                "url": subscription.url,
                "key": subscription.key,
                "status": subscription.status,
                "intent_to_receive": subscription.itr,
                "deliveries": subscription.deliveries,
            }
        }
    )


def hook_routes() -> list[Route]:
    return [
        Route("/_emulator/rate-limits", rate_limits_control, methods=["GET", "POST"]),
        Route("/_emulator/webhooks", webhooks_control, methods=["GET", "POST", "DELETE"]),
    ]
