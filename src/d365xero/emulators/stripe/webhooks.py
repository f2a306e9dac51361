"""Stripe's webhook events, as the sender (docs.stripe.com/webhooks):

- one endpoint: a URL, its signing secret (`whsec_...`) and the event types it wants
  (`enabled_events`, `*` for all);
- each event is POSTed alone as JSON with `Stripe-Signature: t=<unix time>,v1=<hex
  HMAC-SHA256 of "<t>.<body>" keyed with the secret>` (docs.stripe.com/webhooks#verify-manually);
- delivery is asynchronous, in no guaranteed order, and a failed one is retried (Stripe retries
  for up to three days; the stand-in's delays are short and configurable).

Delivery runs on one background thread with a synchronous httpx client; `transport` lets a
test hand it an ASGI app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

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
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def clear(self) -> None:
        self.endpoint = None

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
        self._queue.put(json.loads(json.dumps(event)))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Blocks until every queued event was delivered or given up (tests and demos)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        with httpx.Client(timeout=10, transport=self.transport) as client:
            while True:
                try:
                    event = self._queue.get(timeout=2)
                except queue.Empty:
                    return
                try:
                    self._deliver(client, event)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, event: dict[str, Any]) -> None:
        endpoint = self.endpoint
        if endpoint is None:
            return
        body = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON
        attempts: list[int] = []
        for delay in (0.0, *endpoint.retry_delays):
            time.sleep(delay)
            header = signature_header(body, endpoint.secret, int(self.now()))
            status = _post(client, endpoint.url, body, header)
            attempts.append(status)
            if 200 <= status < 300:
                break
        endpoint.deliveries.append({"id": event["id"], "type": event["type"], "attempts": attempts})

    def resend(self, event: dict[str, Any]) -> None:
        """Delivers an event again, freshly signed: what Stripe's retries and the Dashboard's
        Resend do (receivers must be idempotent)."""
        self.send(event)


def _post(client: httpx.Client, url: str, body: bytes, header: str) -> int:
    try:
        response = client.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
    except httpx.HTTPError:
        return 0
    return response.status_code
