"""Injected faults through /_emulator/faults: 429 bursts, 500/503, slow and lost responses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.support.xero_fixtures import API, XeroHarness

from d365xero.emulators.core.faults import LostResponse

INVOICE = {
    "Type": "ACCREC",
    "Contact": {"Name": "Faulty Ltd"},
    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}],
}


def _plan(**fault: Any) -> dict[str, Any]:
    return {"seed": 7, "faults": [fault]}


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("500", "An unhandled error with the Xero API"),
        ("503", "The Xero API is currently offline for maintenance"),
    ],
)
def test_server_errors(xero_app: XeroHarness, kind: str, text: str) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    client.post(
        "/_emulator/faults", json=_plan(route=f"GET {API}/Organisation", kind=kind, times=1)
    )
    first = client.get(f"{API}/Organisation", headers=headers)
    assert (first.status_code, first.text) == (int(kind), text)
    assert client.get(f"{API}/Organisation", headers=headers).status_code == 200


def test_429_burst(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    client.post(
        "/_emulator/faults", json=_plan(route=f"{API}/Invoices", kind="429", times=3, retry_after=2)
    )
    statuses = [client.get(f"{API}/Invoices", headers=headers) for _ in range(4)]
    assert [r.status_code for r in statuses] == [429, 429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "2"
    assert statuses[0].headers["X-Rate-Limit-Problem"] == "minute"
    listed = client.get("/_emulator/faults").json()["faults"]
    assert listed[0]["hits"] == 3


def test_rate_is_reproducible_by_seed(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()

    def pattern() -> list[int]:
        client.post(
            "/_emulator/faults", json=_plan(route=f"GET {API}/Currencies", kind="503", rate=0.5)
        )
        return [client.get(f"{API}/Currencies", headers=headers).status_code for _ in range(20)]

    first, second = pattern(), pattern()
    assert first == second
    assert 200 in first and 503 in first
    assert client.delete("/_emulator/faults").status_code == 204
    assert client.get(f"{API}/Currencies", headers=headers).status_code == 200


def test_bad_fault_plan_is_400(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    assert (
        client.post(
            "/_emulator/faults", json={"faults": [{"route": "/x", "kind": "boom"}]}
        ).status_code
        == 400
    )
    assert client.post("/_emulator/faults", content=b"{").status_code == 400


def test_lost_response_in_process_applies_the_change(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    client.post("/_emulator/faults", json=_plan(route=f"PUT {API}/Invoices", kind="lost", times=1))
    with pytest.raises(LostResponse):
        client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [INVOICE]})
    listed = client.get(f"{API}/Invoices", headers=headers).json()["Invoices"]
    assert len(listed) == 1


def test_lost_response_over_a_socket_and_idempotent_retry(xero_server: XeroHarness) -> None:
    with httpx.Client(base_url=xero_server.url, timeout=10) as client:
        token = client.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "d365xero-demo",
                "client_secret": "demo-secret",
            },
        ).json()["access_token"]
        headers = xero_server.headers(token, **{"Idempotency-Key": "batch-1"})
        client.post(
            "/_emulator/faults", json=_plan(route=f"PUT {API}/Invoices", kind="lost", times=1)
        )
        with pytest.raises(httpx.RemoteProtocolError):
            client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [INVOICE]})
        retried = client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [INVOICE]})
        assert retried.status_code == 200
        assert retried.json()["Invoices"][0]["InvoiceNumber"] == "INV-0001"
        listed = client.get(f"{API}/Invoices", headers=xero_server.headers(token)).json()
        assert len(listed["Invoices"]) == 1  # the retry made no duplicate


def test_slow_response_times_out_a_hasty_client(xero_server: XeroHarness) -> None:
    with httpx.Client(base_url=xero_server.url) as client:
        client.post(
            "/_emulator/faults",
            json=_plan(route=f"{API}/Organisation", kind="slow", seconds=2, times=1),
        )
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"{API}/Organisation", headers=xero_server.headers(), timeout=0.2)
