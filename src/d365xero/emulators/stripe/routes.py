"""The HTTP shape of the Stripe endpoints d365xero uses (docs.stripe.com/api): form-encoded
requests, JSON objects back, `Authorization: Bearer sk_...` (or HTTP Basic with the key as the
user name, which Stripe also accepts), errors as `{"error": {...}}`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from d365xero.emulators.stripe.errors import (
    Authentication,
    InvalidRequest,
    ResourceMissing,
    StripeError,
)
from d365xero.emulators.stripe.form import decode
from d365xero.emulators.stripe.models import StripeBackend

Handler = Callable[[Request], Awaitable[Response]]
EXPANDABLE = {"checkout.session": ("customer", "subscription"), "subscription": ("customer",)}


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as Stripe shows it: the stand-in's own bookkeeping (keys starting with "_")
    left out."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def error_response(exc: StripeError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def _key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _authorise(backend: StripeBackend, request: Request) -> None:
    key = _key(request)
    if not key:
        raise Authentication(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
    if key != backend.secret_key:
        shown = f"{key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}" if len(key) > 12 else key
        raise Authentication(f"Invalid API Key provided: {shown}", code="api_key_invalid")


def _expanded(backend: StripeBackend, obj: dict[str, Any], expand: Any) -> dict[str, Any]:
    shown = public(obj)
    for path in expand or []:
        if path not in EXPANDABLE.get(obj["object"], ()):
            raise InvalidRequest(
                f"This property cannot be expanded ({path}). You may want to try expanding "
                f"'data.{path}' instead.",
                param="expand",
            )
        value = shown.get(path)
        if path == "customer" and value:
            shown[path] = backend.customer(value)
        elif path == "subscription" and value:
            shown[path] = public(backend.subscription(value))
    return shown


def routes(backend: StripeBackend) -> list[Route]:
    def api(action: Callable[[Request, dict[str, Any]], dict[str, Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                _authorise(backend, request)
                if request.method == "GET":
                    params = decode(request.url.query.encode())
                else:
                    params = decode(await request.body())
                obj = action(request, params)
                return JSONResponse(_expanded(backend, obj, params.get("expand")))
            except StripeError as exc:
                return error_response(exc)

        return endpoint

    def origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def create_customer(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.create_customer(params)

    def get_customer(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.customer(request.path_params["customer"])

    def update_customer(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.update_customer(request.path_params["customer"], params)

    def create_price(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.create_price(params)

    def get_price(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        price_id = request.path_params["price"]
        if price_id not in backend.prices:
            raise ResourceMissing("price", price_id, "price")
        return backend.prices[price_id]

    def create_session(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.create_session(params, origin(request))

    def get_session(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.session(request.path_params["session"])

    def get_subscription(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.subscription(request.path_params["subscription_exposed_id"])

    def cancel_subscription(request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return backend.cancel(request.path_params["subscription_exposed_id"])

    return [
        Route("/v1/customers", api(create_customer), methods=["POST"]),
        Route("/v1/customers/{customer}", api(get_customer), methods=["GET"]),
        Route("/v1/customers/{customer}", api(update_customer), methods=["POST"]),
        Route("/v1/prices", api(create_price), methods=["POST"]),
        Route("/v1/prices/{price}", api(get_price), methods=["GET"]),
        Route("/v1/checkout/sessions", api(create_session), methods=["POST"]),
        Route("/v1/checkout/sessions/{session}", api(get_session), methods=["GET"]),
        Route(
            "/v1/subscriptions/{subscription_exposed_id}",
            api(get_subscription),
            methods=["GET"],
        ),
        Route(
            "/v1/subscriptions/{subscription_exposed_id}",
            api(cancel_subscription),
            methods=["DELETE"],
        ),
    ]
