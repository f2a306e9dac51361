"""Xero webhooks from the emulator to a real receiver on a loopback port: Intent to Receive,
signed CONTACT/INVOICE/CREDITNOTE events in Xero's payload shape, retries, disabling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.support.xero_fixtures import API, XeroHarness
from tests.support.xero_openapi import webhook_payload_errors

from d365xero.emulators.core.server import ServerThread

KEY = "c2lnbmluZy1rZXktZm9yLXRlc3Rz"


@dataclass
class Receiver:
    url: str = ""
    check_signature: bool = True
    fail_next: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest())
        good = hmac.compare_digest(request.headers.get("x-xero-signature", ""), expected.decode())
        if state.check_signature and not good:
            status = 401
        elif state.fail_next:
            state.fail_next -= 1
            status = 500
        else:
            status = 200
        state.statuses.append(status)
        if status == 200:
            state.payloads.append(json.loads(body))
        return Response(status_code=status)  # no body, as Xero asks of receivers

    with ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        state.url = f"{server.url}/hook"
        yield state


def _subscribe(xero_app: XeroHarness, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"url": receiver.url, "key": KEY, "seed": 3, "retry_delays": [0.01, 0.01], **extra}
    response = xero_app.client().post("/_emulator/webhooks", json=body)
    assert response.status_code == 200, response.text
    subscription: dict[str, Any] = response.json()["subscription"]
    return subscription


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    return [e for p in receiver.payloads for e in p["events"]]


def test_intent_to_receive_then_signed_events(xero_app: XeroHarness, receiver: Receiver) -> None:
    subscription = _subscribe(xero_app, receiver)
    assert subscription["status"] == "OK"
    itr = subscription["intent_to_receive"]
    assert {r["signed_correctly"] for r in itr} == {True, False}
    assert all(r["status"] == (200 if r["signed_correctly"] else 401) for r in itr)
    assert all(p["events"] == [] and p["firstEventSequence"] == 0 for p in receiver.payloads)
    receiver.payloads.clear()

    client, headers = xero_app.client(), xero_app.headers()
    invoice = {
        "Type": "ACCREC",
        "Contact": {"Name": "Hooked Ltd"},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
    }
    [created] = client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [invoice]}).json()[
        "Invoices"
    ]
    client.post(
        f"{API}/Invoices/{created['InvoiceID']}",
        headers=headers,
        json={"Invoices": [{"Reference": "changed"}]},
    )
    assert xero_app.emulator.webhooks.wait_idle()
    events = _events(receiver)
    assert [(e["eventCategory"], e["eventType"]) for e in events] == [
        ("CONTACT", "CREATE"),
        ("INVOICE", "CREATE"),
        ("INVOICE", "UPDATE"),
    ]
    assert events[1]["resourceId"] == created["InvoiceID"]
    assert events[1]["resourceUrl"].endswith(f"/api.xro/2.0/Invoices/{created['InvoiceID']}")
    assert events[1]["tenantType"] == "ORGANISATION"
    for payload in receiver.payloads:
        assert webhook_payload_errors(payload) == []
        assert payload["firstEventSequence"] <= payload["lastEventSequence"]


def test_credit_note_events_carry_type_and_status(
    xero_app: XeroHarness, receiver: Receiver
) -> None:
    _subscribe(xero_app, receiver)
    receiver.payloads.clear()
    client, headers = xero_app.client(), xero_app.headers()
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"Name": "Credit Ltd"},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
    }
    assert (
        client.put(f"{API}/CreditNotes", headers=headers, json={"CreditNotes": [note]}).status_code
        == 200
    )
    assert xero_app.emulator.webhooks.wait_idle()
    [credit] = [e for e in _events(receiver) if e["eventCategory"] == "CREDITNOTE"]
    assert credit["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}
    for payload in receiver.payloads:
        assert webhook_payload_errors(payload) == []


def test_receiver_that_ignores_signatures_fails_intent_to_receive(
    xero_app: XeroHarness, receiver: Receiver
) -> None:
    receiver.check_signature = False
    assert _subscribe(xero_app, receiver)["status"] == "FAILED"
    receiver.payloads.clear()
    client, headers = xero_app.client(), xero_app.headers()
    client.put(f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Nobody"}]})
    assert xero_app.emulator.webhooks.wait_idle()
    assert receiver.payloads == []


def test_failed_delivery_is_retried_then_disabled(
    xero_app: XeroHarness, receiver: Receiver
) -> None:
    _subscribe(xero_app, receiver)
    client, headers = xero_app.client(), xero_app.headers()
    receiver.statuses.clear()
    receiver.fail_next = 2
    client.put(f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Retry Ltd"}]})
    assert xero_app.emulator.webhooks.wait_idle()
    assert receiver.statuses == [500, 500, 200]
    receiver.fail_next = 3
    client.put(f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Gone Ltd"}]})
    assert xero_app.emulator.webhooks.wait_idle()
    state = client.get("/_emulator/webhooks").json()["subscription"]
    assert state["status"] == "DISABLED"
    assert state["deliveries"][-1]["attempts"] == [500, 500, 500]


def test_reset_drops_a_delivery_waiting_to_be_retried(
    xero_app: XeroHarness, receiver: Receiver
) -> None:
    """A reset forgets the old subscription's retries: the next subscription's events are not
    held behind a delay of the old one."""
    _subscribe(xero_app, receiver, retry_delays=[60])
    client = xero_app.client()
    receiver.statuses.clear()
    receiver.fail_next = 1
    client.put(f"{API}/Contacts", headers=xero_app.headers(), json={"Contacts": [{"Name": "A"}]})
    deadline = time.monotonic() + 10
    while receiver.statuses != [500]:  # the first attempt failed: the next is a minute away
        assert time.monotonic() < deadline, receiver.statuses
        time.sleep(0.01)
    assert client.post("/_emulator/reset").status_code == 204
    _subscribe(xero_app, receiver)
    receiver.payloads.clear()
    client.put(f"{API}/Contacts", headers=xero_app.headers(), json={"Contacts": [{"Name": "B"}]})
    assert xero_app.emulator.webhooks.wait_idle(5)
    assert [e["eventType"] for e in _events(receiver)] == ["CREATE"]
