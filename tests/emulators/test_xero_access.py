"""Scopes per route, If-Modified-Since and paging on the Xero emulator."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.xero_fixtures import API, TENANT_ID, XeroHarness, build_harness


def _contact(name: str) -> dict[str, Any]:
    return {"Contacts": [{"Name": name}]}


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("accounting.contacts.read", "GET", "/Contacts", True),
        ("accounting.contacts.read", "PUT", "/Contacts", False),
        ("accounting.contacts", "PUT", "/Contacts", True),
        ("accounting.contacts", "GET", "/Invoices", False),
        ("accounting.transactions", "PUT", "/Invoices", True),
        ("accounting.transactions.read", "GET", "/Invoices", True),
        ("accounting.transactions.read", "PUT", "/Invoices", False),
        ("accounting.invoices", "PUT", "/Invoices", True),
        ("accounting.invoices.read", "GET", "/Invoices", True),
        ("accounting.invoices", "GET", "/Items", True),
        ("accounting.payments", "GET", "/Invoices", False),
        ("accounting.settings.read", "GET", "/TaxRates", True),
        ("accounting.settings.read", "GET", "/Organisation", True),
        ("accounting.invoices", "GET", "/Accounts", False),
        ("accounting.payments.read", "GET", "/Prepayments", True),
        ("accounting.payments.read", "GET", "/Overpayments", True),
        ("accounting.invoices", "GET", "/Prepayments", False),
        ("accounting.banktransactions.read", "GET", "/BankTransactions", True),
        ("accounting.payments", "GET", "/BankTransactions", False),
        ("accounting.transactions.read", "GET", "/BankTransactions", True),
    ],
)
def test_scopes_per_route(
    xero_app: XeroHarness, scope: str, method: str, path: str, allowed: bool
) -> None:
    client = xero_app.client()
    headers = xero_app.headers(xero_app.token(scope))
    body: dict[str, Any] | None = None
    if method == "PUT" and path == "/Contacts":
        body = _contact("Scoped")
    elif method == "PUT":
        body = {
            "Invoices": [
                {"Type": "ACCREC", "Contact": {"Name": "S"}, "LineItems": [{"Description": "x"}]}
            ]
        }
    response = client.request(method, f"{API}{path}", headers=headers, json=body)
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 401
        assert response.json()["Detail"] == "AuthorizationUnsuccessful"


def test_unknown_scope_request_is_invalid_scope(xero_app: XeroHarness) -> None:
    response = xero_app.client().post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "d365xero-demo",
            "client_secret": "demo-secret",
            "scope": "accounting.everything",
        },
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope"}


def test_if_modified_since(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    client.put(f"{API}/Contacts", headers=headers, json=_contact("Old"))
    xero_app.emulator.clock.advance(120)
    moment = xero_app.emulator.clock.now().replace(microsecond=0).isoformat()
    headers = xero_app.headers()
    client.put(f"{API}/Contacts", headers=headers, json=_contact("New"))
    since = client.get(f"{API}/Contacts", headers=dict(headers, **{"If-Modified-Since": moment}))
    assert [c["Name"] for c in since.json()["Contacts"]] == ["New"]
    # Reference data without UpdatedDateUTC is not filtered away.
    rates = client.get(f"{API}/TaxRates", headers=dict(headers, **{"If-Modified-Since": moment}))
    assert len(rates.json()["TaxRates"]) >= 9


def test_contacts_paging_and_page_size_cap(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    names = [{"Name": f"Customer {n:03d}"} for n in range(130)]
    assert (
        client.put(f"{API}/Contacts", headers=headers, json={"Contacts": names}).status_code == 200
    )
    first = client.get(f"{API}/Contacts", headers=headers, params={"page": 1}).json()
    assert len(first["Contacts"]) == 100
    assert first["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 2, "itemCount": 130}
    second = client.get(f"{API}/Contacts", headers=headers, params={"page": 2}).json()
    assert len(second["Contacts"]) == 30
    big = client.get(f"{API}/Contacts", headers=headers, params={"page": 1, "pageSize": 5000})
    assert big.json()["pagination"]["pageSize"] == 1000
    ordered = client.get(
        f"{API}/Contacts", headers=headers, params={"page": 1, "pageSize": 3, "order": "Name DESC"}
    ).json()
    assert [c["Name"] for c in ordered["Contacts"]] == [
        "Customer 129",
        "Customer 128",
        "Customer 127",
    ]


def test_an_emulator_made_for_another_organisation_reaches_that_one_only(
    xero_specs: None,
) -> None:
    """One custom connection, one organisation: emulators made with other names are other
    tenants (bench/orgs.py runs 1,000 of them), each reached by its own tenant id."""
    harness = build_harness(organisation_name="Bench Org 0007")
    try:
        client = harness.client()
        token = harness.token()
        connections = client.get("/Connections", headers={"Authorization": f"Bearer {token}"})
        [tenant] = [c["tenantId"] for c in connections.json()]
        assert tenant == harness.emulator.tenant_id != TENANT_ID
        org = client.get(
            f"{API}/Organisation", headers=harness.headers(token, **{"xero-tenant-id": tenant})
        )
        assert org.json()["Organisations"][0]["Name"] == "Bench Org 0007"
        default = client.get(f"{API}/Organisation", headers=harness.headers(token))
        assert default.status_code == 403  # the demo tenant is not this app's
    finally:
        harness.check()
