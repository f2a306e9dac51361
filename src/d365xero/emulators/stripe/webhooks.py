"""Stripe's webhook events, as the sender (docs.stripe.com/webhooks):

- one endpoint: a URL, its signing secret (`whsec_...`) and the event types it wants
  (`enabled_events`, `*` for all);
- each event is POSTed alone as JSON with `Stripe-Signature: t=<unix time>,v1=<hex
  HMAC-SHA256 of "<t>.<body>" keyed with the secret>` (docs.stripe.com/webhooks#verify-manually);
- delivery is asynchronous, in no guaranteed order, and a failed one is retried (Stripe retries
  for up to three days; the stand-in's delays are short and configurable).

Delivery runs on emulators/core/delivery.py's worker thread with a synchronous httpx client;
`transport` lets a test hand it an ASGI app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from d365xero.emulators.core.delivery import Courier, Outbox

DEFAULT_RETRY_DELAYS = (0.5, 2.0, 5.0)


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Endpoint:
    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def wants(self, kind: str) -> bool:
        return "*" in self.enabled_events or kind in self.enabled_events


class EventSender:
    def __init__(
        self,
        now: Callable[[], float],
        secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.now = now
        self.secret = secret
        self.transport = transport
        self.endpoint: Endpoint | None = None
        self._outbox: Outbox[dict[str, Any]] = Outbox(
            self._deliver, lambda: httpx.Client(timeout=10, transport=self.transport)
        )

    def clear(self) -> None:
        self.endpoint = None
        self._outbox.stop()

    def register(
        self,
        url: str,
        enabled_events: tuple[str, ...] = ("*",),
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    ) -> Endpoint:
        self.endpoint = Endpoint(url, self.secret, enabled_events, retry_delays)
        return self.endpoint

    def send(self, event: dict[str, Any]) -> None:
        endpoint = self.endpoint
        if endpoint is None or not endpoint.wants(event["type"]):
            return
        # The event as it was at this moment: later changes to its object are later events.
        self._outbox.put(json.loads(json.dumps(event)))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Blocks until every queued event was delivered or given up (tests and demos)."""
        return self._outbox.wait_idle(timeout)

    def _deliver(self, courier: Courier, events: list[dict[str, Any]]) -> None:
        [event] = events
        endpoint = self.endpoint
        if endpoint is None:
            return
        body = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON

        def headers() -> dict[str, str]:  # signed afresh for each attempt, with its time
            return {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(body, endpoint.secret, int(self.now())),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            }

        attempts = courier.post(endpoint.url, body, headers, endpoint.retry_delays)
        endpoint.deliveries.append(
            {"id": event["id"], "type": event["type"], "attempts": [a.status for a in attempts]}
        )

    def resend(self, event: dict[str, Any]) -> None:
        """Delivers an event again, freshly signed: what Stripe's retries and the Dashboard's
        Resend do (receivers must be idempotent)."""
        self.send(event)
