"""The one validator (tests/support/openapi.py) is as strict for each service as its spec: an
emulator's own answer passes it, and the same answer broken one way (a wrong type, a missing
required field, an unknown enum value) is reported, naming what broke. The broken answers are
served by a stand-in app behind the service's validator, exactly as the emulator is."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tests.support.openapi import TrafficValidator
from tests.support.stripe_fixtures import SECRET_KEY, stand_in
from tests.support.stripe_openapi import StripeValidator, event_errors
from tests.support.xero_fixtures import API, XeroHarness
from tests.support.xero_openapi import XeroValidator, webhook_payload_errors

Break = Callable[[dict[str, Any]], None]


def _answering(body: dict[str, Any]) -> Starlette:
    async def answer(request: Request) -> JSONResponse:
        return JSONResponse(body)

    return Starlette(routes=[Route("/{path:path}", answer)])


def _mismatches(
    validator: type[TrafficValidator], body: dict[str, Any], path: str, headers: dict[str, str]
) -> list[str]:
    app = validator(_answering(body))
    with TestClient(app) as client:
        assert client.get(path, headers=headers).status_code == 200
    assert app.checked == 1
    return app.mismatches


def _broken(body: dict[str, Any], change: Break) -> dict[str, Any]:
    broken = copy.deepcopy(body)
    change(broken)
    return broken


STRIPE_BREAKS: list[tuple[Break, str]] = [
    (lambda c: c.update(created="yesterday"), "'yesterday' is not of type 'integer'"),
    (lambda c: c.pop("livemode"), "'livemode' is a required property"),
    (lambda c: c.update(object="client"), "'client' is not one of ['customer']"),
]


@pytest.mark.parametrize(("change", "message"), STRIPE_BREAKS)
def test_a_stripe_response_breaking_the_spec_is_reported(change: Break, message: str) -> None:
    auth = {"Authorization": f"Bearer {SECRET_KEY}"}
    with stand_in() as stand:
        http = stand.http()
        made = http.post("/v1/customers", data={"email": "ada@example.com"}, headers=auth)
        path = f"/v1/customers/{made.json()['id']}"
        customer = http.get(path, headers=auth).json()
        stand.check()
    assert _mismatches(StripeValidator, customer, path, auth) == []
    [mismatch] = _mismatches(StripeValidator, _broken(customer, change), path, auth)
    assert mismatch.startswith(f"response GET {path} 200: ") and message in mismatch


def _first(key: str, change: Break) -> Break:
    return lambda body: change(body[key][0])


XERO_BREAKS: list[tuple[str, Break, str]] = [
    ("Invoices", _first("Invoices", lambda i: i.update(Total="lots")), "'lots' is not of type"),
    ("Items", _first("Items", lambda i: i.pop("Code")), "'Code' is a required property"),
    ("Invoices", _first("Invoices", lambda i: i.update(Type="ACCLOST")), "'ACCLOST' is not one"),
]


@pytest.mark.parametrize(("resource", "change", "message"), XERO_BREAKS)
def test_a_xero_response_breaking_the_spec_is_reported(
    xero_app: XeroHarness, resource: str, change: Break, message: str
) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    client.post("/_emulator/seed")
    id_key = resource[:-1] + "ID"
    first = client.get(f"{API}/{resource}", headers=headers).json()[resource][0]
    path = f"{API}/{resource}/{first[id_key]}"
    body = client.get(path, headers=headers).json()
    assert _mismatches(XeroValidator, body, path, headers) == []
    [mismatch] = _mismatches(XeroValidator, _broken(body, change), path, headers)
    assert mismatch.startswith(f"response GET {path} 200: ") and message in mismatch


def test_payloads_sent_outside_a_response_are_held_to_their_schemas() -> None:
    """Stripe events and Xero webhook deliveries, through the same schema check: each breakage
    is one error, naming where."""
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2023-08-16",
        "created": 1,
        "data": {"object": {"id": "cus_1", "object": "customer", "created": 1, "livemode": False}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "customer.created",
    }
    assert event_errors(event) == []
    assert event_errors(_broken(event, lambda e: e.update(created="1"))) == [
        "['created']: '1' is not of type 'integer'"
    ]
    assert event_errors(_broken(event, lambda e: e["data"]["object"].pop("livemode"))) == [
        "data.object []: 'livemode' is a required property"
    ]
    assert event_errors(_broken(event, lambda e: e.update(object="incident"))) == [
        "['object']: 'incident' is not one of ['event']"
    ]

    delivery = {
        "events": [
            {
                "resourceUrl": "http://testserver/api.xro/2.0/Invoices/1",
                "resourceId": "4d1f0a3c-8f6e-4d7a-9b59-0f3c2a1b6e11",
                "eventDateUtc": "2024-06-21T01:15:39.902",
                "eventType": "UPDATE",
                "eventCategory": "INVOICE",
                "tenantId": "8c8a9b3e-2d3f-4a52-9b1c-1f0e2d3c4b5a",
                "tenantType": "ORGANISATION",
            }
        ],
        "firstEventSequence": 1,
        "lastEventSequence": 1,
        "entropy": "S0m3r4Nd0mt3xt",
    }
    assert webhook_payload_errors(delivery) == []
    assert webhook_payload_errors(_broken(delivery, lambda d: d.update(lastEventSequence="1")))
    assert webhook_payload_errors(_broken(delivery, lambda d: d.pop("entropy"))) == [
        "[]: 'entropy' is a required property"
    ]
    unknown = _broken(delivery, lambda d: d["events"][0].update(eventType="DELETE"))
    assert [e.split(":")[0] for e in webhook_payload_errors(unknown)] == [
        "['events', 0, 'eventType']"
    ]
