"""XeroClient (our adapter over xero-python) against the Xero emulator on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from d365xero.domain.mapping import ContactDraft, InvoiceDraft, ItemDraft, LineDraft
from d365xero.domain.records import LineAmountTypes, XeroStatus
from d365xero.errors import AuthorisationLost
from d365xero.xero.client import RetryPolicy, XeroClient
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import ClientCredentialsTokens
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, TENANT_ID, XeroHarness


@pytest.fixture
def client(xero_server: XeroHarness) -> Iterator[XeroClient]:
    with httpx.Client() as http:
        endpoints = XeroEndpoints(xero_server.url)
        tokens = ClientCredentialsTokens(http, endpoints.token_url, CLIENT_ID, CLIENT_SECRET)
        yield XeroClient(
            endpoints=endpoints,
            tenant_id=TENANT_ID,
            tokens=tokens,
            retry=RetryPolicy(attempts=3, backoff=0.01),
            sleep=lambda seconds: None,
        )


def _draft(contact_id: str, number: str | None = None, **more: object) -> InvoiceDraft:
    values: dict[str, object] = {
        "source_id": "inv-1",
        "type": "ACCREC",
        "contact_id": contact_id,
        "contact_name": "A. Datum Corporation (sample)",
        "lines": (
            LineDraft(
                "Test line 1 Here are some stuff", Decimal(3), Decimal("300.00"), account_code="200"
            ),
            LineDraft("This is just a great comment"),
            LineDraft("CRM Online", Decimal(2), Decimal("99.00"), account_code="200"),
        ),
        "date": date(2026, 11, 25),
        "due_date": date(2026, 12, 25),
        "line_amount_types": LineAmountTypes.EXCLUSIVE,
        "status": XeroStatus.DRAFT,
        "invoice_number": number,
        "reference": "ygtbebf",
        "url": "https://org.example/main.aspx?etn=invoice&id=inv-1",
    }
    values.update(more)
    return InvoiceDraft(**values)  # type: ignore[arg-type]


def test_tenants_and_organisation(client: XeroClient) -> None:
    [tenant] = client.tenants()
    assert tenant.tenant_id == TENANT_ID
    org = client.organisation()
    assert org.name == "Demo Company (UK)"
    assert org.base_currency == "GBP"
    assert org.short_code


def test_contacts_items_and_the_seed_invoice(client: XeroClient) -> None:
    created = client.create_contacts(
        [ContactDraft("A. Datum Corporation (sample)", email="a@datum.example")], "k-c1"
    )
    contact_id = created["A. Datum Corporation (sample)"]
    found = client.contacts_by_name(["a. datum corporation (SAMPLE)", "Nobody"])
    assert found.active == {"a. datum corporation (SAMPLE)": contact_id}
    assert found.archived == frozenset()
    assert "CRM-ENT" in client.create_items(
        [ItemDraft("CRM-ENT", "CRM Online: Enterprise")], "k-i1"
    )
    assert "CRM-ENT" in client.item_codes()

    draft = _draft(contact_id)
    with_item = LineDraft(
        "CRM Online", Decimal(2), Decimal("99.00"), item_code="CRM-ENT", account_code="200"
    )
    draft = InvoiceDraft(**{**vars(draft), "lines": (*draft.lines[:2], with_item)})
    [result] = client.create_invoices([draft], "k-inv-1")
    assert result.ok, result.errors
    assert result.number and result.number.startswith("INV-")
    assert result.line_taxes == (Decimal("180.00"), Decimal("0"), Decimal("39.60"))
    found = client.invoices_by_id([result.xero_invoice_id or ""])
    assert found[result.xero_invoice_id or ""].number == result.number


def test_one_bad_invoice_fails_alone_in_a_batch(client: XeroClient) -> None:
    contact_id = client.create_contacts([ContactDraft("Fourth Coffee (sample)")], "k-c2")[
        "Fourth Coffee (sample)"
    ]
    good, bad = client.create_invoices(
        [_draft(contact_id, "DYN-1"), _draft(contact_id, "DYN-1")], "k-batch"
    )
    assert good.ok and good.number == "DYN-1"
    assert not bad.ok
    assert any("unique" in e for e in bad.errors), bad.errors


def test_a_replayed_key_creates_nothing_twice(client: XeroClient) -> None:
    contact_id = client.create_contacts([ContactDraft("Litware, Inc. (sample)")], "k-c3")[
        "Litware, Inc. (sample)"
    ]
    first = client.create_invoices([_draft(contact_id)], "same-key")
    again = client.create_invoices([_draft(contact_id)], "same-key")
    assert first[0].xero_invoice_id == again[0].xero_invoice_id


def test_lost_invoice_is_found_by_its_dynamics_link(client: XeroClient) -> None:
    contact_id = client.create_contacts([ContactDraft("Adventure Works (sample)")], "k-c4")[
        "Adventure Works (sample)"
    ]
    draft = _draft(contact_id)
    [made] = client.create_invoices([draft], "k-lost")
    assert client.find_invoice_by_source(draft, 0) == made.xero_invoice_id
    other = _draft(contact_id, url="https://org.example/main.aspx?etn=invoice&id=other")
    assert client.find_invoice_by_source(other, 0) is None


def test_wrong_credentials_mean_reconnect(xero_server: XeroHarness) -> None:
    with httpx.Client() as http:
        endpoints = XeroEndpoints(xero_server.url)
        tokens = ClientCredentialsTokens(http, endpoints.token_url, CLIENT_ID, "wrong")
        client = XeroClient(endpoints=endpoints, tenant_id=TENANT_ID, tokens=tokens)
        with pytest.raises(AuthorisationLost, match=r"client id and secret .*reconnect Xero"):
            client.organisation()


def test_another_sdk_user_in_the_process_does_not_break_it(xero_server: XeroHarness) -> None:
    # xero-python's Configuration copies the first instance ever made, ignoring later arguments.
    from xero_python.api_client import Configuration

    Configuration.set_default(Configuration())
    Configuration().oauth2_token = None
    with httpx.Client() as http:
        endpoints = XeroEndpoints(xero_server.url)
        tokens = ClientCredentialsTokens(http, endpoints.token_url, CLIENT_ID, CLIENT_SECRET)
        client = XeroClient(endpoints=endpoints, tenant_id=TENANT_ID, tokens=tokens)
        assert client.tenants()[0].tenant_id == TENANT_ID
