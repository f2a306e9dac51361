"""The official stripe SDK (stripe.StripeClient) over an httpx.Client the caller owns: its
transport decides where requests go (a stand-in's ASGI app in tests, the network otherwise) and
its TLS settings which CAs are trusted. The SDK's HTTPClient is the documented extension point
for this (stripe-python README, "Configuring an HTTP Client")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe

from d365xero.config import Settings
from d365xero.errors import ConfigurationError

DEFAULT_STRIPE_URL = "https://api.stripe.com"
NOT_CONFIGURED = "billing is not configured: set D365XERO_STRIPE_SECRET_KEY"


class HttpxTransport(stripe.HTTPClient):
    """stripe's HTTPClient on a given httpx.Client (the SDK's own HTTPXClient makes its own)."""

    name = "httpx"

    def __init__(self, http: httpx.Client) -> None:
        super().__init__()
        self._http = http  # its timeout applies

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> httpx.Response:
        try:
            return self._http.request(
                method,
                url,
                headers=dict(headers or {}),
                content=post_data or None,
            )
        except httpx.HTTPError as exc:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"could not reach Stripe at {url.split('?')[0]}: {type(exc).__name__}",
                should_retry=True,
            ) from exc

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **_: Any,
    ) -> tuple[Any, int, Mapping[str, str]]:  # bytes, as the SDK's own HTTPXClient gives
        response = self._send(method, url, headers, post_data)
        return response.content, response.status_code, response.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **_: Any,
    ) -> tuple[Iterable[bytes], int, Mapping[str, str]]:
        response = self._send(method, url, headers, post_data)
        return iter([response.content]), response.status_code, response.headers

    def close(self) -> None:
        """The httpx.Client is the caller's to close."""


def stripe_client(settings: Settings, http: httpx.Client) -> stripe.StripeClient:
    if settings.stripe_secret_key is None:
        raise ConfigurationError(NOT_CONFIGURED)
    return stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(),
        base_addresses={"api": settings.stripe_url},
        http_client=HttpxTransport(http),
        max_network_retries=2,
    )


def checkout_origins(settings: Settings) -> tuple[str, ...]:
    """Where Subscribe Now sends the browser (the form's redirect, which the portal's CSP
    `form-action` must allow): Stripe's hosted Checkout for its own API, else the stand-in's
    origin, which serves both."""
    if settings.stripe_url == DEFAULT_STRIPE_URL:
        return ("https://checkout.stripe.com",)
    parts = urlsplit(settings.stripe_url)
    return (f"{parts.scheme}://{parts.netloc}",)


def billing_http(settings: Settings) -> httpx.Client:
    """The service's client for Stripe: the public roots plus the configured extra CAs (a
    stand-in served with --tls), a minute's timeout."""
    from d365xero.trust import extra_cas, ssl_context

    return httpx.Client(verify=ssl_context(extra_cas(settings)), timeout=httpx.Timeout(60.0))


def client_factory(settings: Settings, http: httpx.Client | None) -> Any:
    """A function making the SDK client for the webhook receiver and the portal's pages, or
    None when no secret key is configured. The httpx.Client is made on first use."""
    if settings.stripe_secret_key is None:
        return None
    made: list[stripe.StripeClient] = []

    def make() -> stripe.StripeClient:
        if not made:
            made.append(stripe_client(settings, http or billing_http(settings)))
        return made[0]

    return make
