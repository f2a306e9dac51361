"""Webhook deliveries as Xero makes them (an invoice's UPDATE event, the signed body and its
headers), for tests that post to the connector's POST /webhooks/xero themselves."""

from __future__ import annotations

import json
from typing import Any

from d365xero.emulators.xero.webhooks import sign


def invoice_event(tenant: str, resource: str, when: str) -> dict[str, Any]:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource}",
        "resourceId": resource,
        "eventDateUtc": when,
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
    }


def signed_delivery(events: list[dict[str, Any]], key: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery, signed with the webhook key `key`."""
    body = json.dumps(
        {"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}
    ).encode()
    return body, {"x-xero-signature": sign(body, key), "Content-Type": "application/json"}
