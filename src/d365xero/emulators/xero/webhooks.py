"""Xero's webhooks, as the sender (developer.xero.com/documentation/webhooks; reference/xero.md §6):

- one subscription per app: a delivery URL and a signing key;
- Intent to Receive: before a subscription is enabled, Xero POSTs empty payloads
  (`"events": []`, sequences 0), some signed correctly and some not; the receiver must answer
  200 to the first and 401 to the others, or the subscription stays off;
- CONTACT, INVOICE and CREDITNOTE CREATE/UPDATE events, thin (ids only; CREDITNOTE adds
  `data: {Type, Status}`), batched, each batch signed with `x-xero-signature` =
  base64(HMAC-SHA256(raw body, key));
- a failed delivery is retried with growing delays, then the subscription is disabled (Xero
  retries "with decreasing frequency for up to 24 hours"; the emulator's delays are short and
  configurable).

Delivery runs on emulators/core/delivery.py's worker thread with a synchronous httpx client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from d365xero.emulators.core.delivery import Courier, Outbox, succeeded

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 60.0, 300.0)
ITR_ROUNDS = 4


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class Subscription:
    url: str
    key: str
    origin: str
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    status: str = "PENDING"  # OK after Intent to Receive, FAILED, DISABLED
    itr: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


class WebhookSender:
    def __init__(self, now: Callable[[], datetime], transport: httpx.BaseTransport | None = None):
        self.now = now
        self.transport = transport
        self._lock = threading.Lock()
        # Events raised together travel together, as Xero batches them.
        self._outbox: Outbox[dict[str, Any]] = Outbox(
            self._deliver_batch,
            lambda: httpx.Client(timeout=5, transport=self.transport),
            batch=True,
        )
        self.subscription: Subscription | None = None
        self.sequence = 0

    def clear(self) -> None:
        with self._lock:
            self.subscription = None
            self.sequence = 0
        self._outbox.stop()

    def snapshot(self) -> dict[str, Any]:
        """The developer portal's webhook settings; events still queued are not kept."""
        return {"subscription": self.subscription, "sequence": self.sequence}

    def restore(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.subscription = state["subscription"]
            self.sequence = int(state["sequence"])

    # --- subscription ----------------------------------------------------------------------

    def subscribe(
        self,
        url: str,
        key: str | None,
        origin: str,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        seed: int | None = None,
    ) -> Subscription:
        """Set the delivery URL and run Intent to Receive; the subscription is on only if the
        receiver tells good signatures from bad ones."""
        subscription = Subscription(url, key or _signing_key(), origin, retry_delays)
        rng = random.Random(seed)
        rounds = [True, False] + [rng.random() < 0.5 for _ in range(ITR_ROUNDS - 2)]
        rng.shuffle(rounds)
        with httpx.Client(timeout=5, transport=self.transport) as client:
            courier = Courier(client)
            for good in rounds:
                body = json.dumps(
                    {
                        "events": [],
                        "firstEventSequence": 0,
                        "lastEventSequence": 0,
                        "entropy": _entropy(),
                    },
                    separators=(",", ":"),
                ).encode()
                signature = sign(body, subscription.key if good else _signing_key())
                [attempt] = courier.post(url, body, partial(_headers, signature))
                subscription.itr.append({"signed_correctly": good, "status": attempt.status})
        expected = all(
            r["status"] == (200 if r["signed_correctly"] else 401) for r in subscription.itr
        )
        subscription.status = "OK" if expected else "FAILED"
        with self._lock:
            self.subscription = subscription
        return subscription

    # --- events ----------------------------------------------------------------------------

    def emit(
        self,
        tenant_id: str,
        category: str,
        event_type: str,
        resource: str,
        resource_id: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            subscription = self.subscription
            if subscription is None or subscription.status != "OK":
                return
            self.sequence += 1
            moment = self.now()
            event: dict[str, Any] = {
                "resourceUrl": f"{subscription.origin}/api.xro/2.0/{resource}/{resource_id}",
                "resourceId": resource_id,
                "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{moment.microsecond // 1000:03d}",
                "eventType": event_type,
                "eventCategory": category,
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
                "_sequence": self.sequence,
            }
            if data is not None:
                event["data"] = data
            self._outbox.put(event)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Blocks until every queued event was delivered or given up (for tests and demos)."""
        return self._outbox.wait_idle(timeout)

    def _deliver_batch(self, courier: Courier, batch: list[dict[str, Any]]) -> None:
        # One category a delivery: the spec types a CREDITNOTE payload as holding credit note
        # events only (xero-webhooks.yaml CreditNoteWebhookEvent).
        for category in dict.fromkeys(e["eventCategory"] for e in batch):
            self._deliver(courier, [e for e in batch if e["eventCategory"] == category])

    def _deliver(self, courier: Courier, batch: list[dict[str, Any]]) -> None:
        subscription = self.subscription
        if subscription is None or subscription.status != "OK":
            return
        payload = {
            "events": [{k: v for k, v in e.items() if not k.startswith("_")} for e in batch],
            "firstEventSequence": batch[0]["_sequence"],
            "lastEventSequence": batch[-1]["_sequence"],
            "entropy": _entropy(),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = partial(_headers, sign(body, subscription.key))  # the same for every attempt
        attempts = courier.post(subscription.url, body, headers, subscription.retry_delays)
        if attempts and not succeeded(attempts[-1].status):
            subscription.status = "DISABLED"
        subscription.deliveries.append(
            {
                "first": payload["firstEventSequence"],
                "last": payload["lastEventSequence"],
                "attempts": [a.status for a in attempts],
            }
        )


def _headers(signature: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-xero-signature": signature}


def _signing_key() -> str:
    return base64.b64encode(secrets.token_bytes(48)).decode()
