"""Xero's official SDK (xero-python), unmodified, against the emulator on a real loopback port,
with every exchange validated against Xero's OpenAPI files."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, TENANT_ID, XeroHarness
from xero_python.accounting import (
    Account,
    AccountingApi,
    Allocation,
    Allocations,
    BankTransaction,
    BankTransactions,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    Item,
    Items,
    LineAmountTypes,
    LineItem,
    Overpayment,
    Payment,
    PaymentDelete,
    Payments,
    Purchase,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException, RateLimitException
from xero_python.identity import IdentityApi


@pytest.fixture
def sdk(xero_server: XeroHarness) -> Iterator[tuple[ApiClient, XeroHarness]]:
    """An SDK ApiClient whose token endpoint is the emulator's."""
    saved = (TokenApi.client_credentials_token_url, TokenApi.refresh_token_url)
    TokenApi.client_credentials_token_url = f"{xero_server.url}/connect/token"
    TokenApi.refresh_token_url = f"{xero_server.url}/connect/token"
    store: dict[str, Any] = {}
    # xero-python's Configuration returns a copy of the first one ever made (TypeWithDefault
    # metaclass) and ignores its arguments after that: set the token object afterwards.
    configuration = Configuration()
    configuration.oauth2_token = OAuth2Token(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    api_client = ApiClient(
        configuration,
        oauth2_token_getter=lambda: store.get("token"),
        oauth2_token_saver=lambda token: store.__setitem__("token", token),
    )
    try:
        yield api_client, xero_server
    finally:
        TokenApi.client_credentials_token_url, TokenApi.refresh_token_url = saved


def test_sdk_tour(sdk: tuple[ApiClient, XeroHarness]) -> None:
    api_client, server = sdk
    api_client.get_client_credentials_token()
    connections = IdentityApi(api_client, base_url=server.url).get_connections()
    [connection] = connections
    assert connection.tenant_name == "Demo Company (UK)"
    tenant = str(connection.tenant_id)

    accounting = AccountingApi(api_client, base_url=f"{server.url}/api.xro/2.0")
    created = accounting.create_contacts(
        tenant, Contacts(contacts=[Contact(name="SDK Customer Ltd", email_address="a@b.example")])
    )
    contact_id = created.contacts[0].contact_id

    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=date(2026, 11, 25),
        due_date=date(2026, 12, 25),
        line_amount_types=LineAmountTypes.EXCLUSIVE,
        status="AUTHORISED",
        line_items=[
            LineItem(description="Consulting", quantity=3, unit_amount=300, account_code="200"),
            LineItem(
                description="Books",
                quantity=2,
                unit_amount=99,
                account_code="200",
                tax_type="OUTPUT2",
            ),
            LineItem(description="Thank you"),
        ],
    )
    result = accounting.create_invoices(
        tenant, Invoices(invoices=[invoice]), summarize_errors=False, idempotency_key="tour-1"
    )
    [made] = result.invoices
    assert made.status_attribute_string == "OK"
    fetched = accounting.get_invoice(tenant, made.invoice_id).invoices[0]
    assert (fetched.sub_total, fetched.total_tax, fetched.total) == (
        Decimal("1098.00"),
        Decimal("219.60"),
        Decimal("1317.60"),
    )
    assert fetched.invoice_number == "INV-0001"
    assert fetched.date == date(2026, 11, 25)
    assert fetched.contact.name == "SDK Customer Ltd"
    assert fetched.status == "AUTHORISED"
    assert fetched.line_amount_types == LineAmountTypes.EXCLUSIVE

    with pytest.raises(AccountingBadRequestException) as raised:
        accounting.create_invoices(
            tenant,
            Invoices(
                invoices=[
                    Invoice(
                        type="ACCREC",
                        contact=Contact(contact_id=contact_id),
                        invoice_number="INV-0001",
                        line_items=[LineItem(description="x")],
                    )
                ]
            ),
        )
    assert raised.value.status == 400
    assert "Invoice # must be unique." in str(raised.value.body)


def test_sdk_meets_429_with_retry_after(sdk: tuple[ApiClient, XeroHarness]) -> None:
    """urllib3 under the SDK honours Retry-After and retries silently (reference/xero.md §8);
    past its retries the SDK raises RateLimitException with the X-Rate-Limit-Problem value."""
    api_client, server = sdk
    api_client.get_client_credentials_token()
    accounting = AccountingApi(api_client, base_url=f"{server.url}/api.xro/2.0")
    faults = f"{server.url}/_emulator/faults"
    organisation = "/api.xro/2.0/Organisation"
    with httpx.Client() as control:
        control.post(
            faults,
            json={
                "faults": [
                    {"route": f"GET {organisation}", "kind": "429", "times": 1, "retry_after": 0}
                ]
            },
        )
        assert accounting.get_organisations(TENANT_ID).organisations[0].short_code == "!aB1cD"
        assert control.get(f"{server.url}/_emulator/calls").json()[f"GET {organisation}"] == 2
        control.post(
            faults,
            json={"faults": [{"route": f"GET {organisation}", "kind": "429", "retry_after": 0}]},
        )
        with pytest.raises(RateLimitException) as raised:
            accounting.get_organisations(TENANT_ID)
        assert raised.value.rate_limit == "minute"


def test_sdk_refreshes_an_expired_token(sdk: tuple[ApiClient, XeroHarness]) -> None:
    """A user token from the consent page; the SDK refreshes it on its own once it expires."""
    api_client, server = sdk
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "http://localhost:8765/callback"
    with httpx.Client(base_url=server.url) as web:
        consent = web.post(
            "/identity/connect/authorize",
            data={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": redirect,
                "scope": "openid offline_access accounting.transactions accounting.settings",
                "state": "s",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
                "email": "demo@d365xero.example",
                "password": "demo",
                "tenant": TENANT_ID,
                "action": "allow",
            },
        )
        code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
        tokens = web.post(
            "/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "code_verifier": verifier,
            },
        ).json()
    first_refresh = tokens["refresh_token"]
    api_client.set_oauth2_token(
        dict(tokens, scope=tokens["scope"].split(), expires_at=time.time() - 1)
    )
    [connection] = IdentityApi(api_client, base_url=server.url).get_connections()
    assert connection.tenant_name == "Demo Company (UK)"
    refreshed = api_client.get_oauth2_token()
    assert refreshed["refresh_token"] != first_refresh
    assert refreshed["expires_at"] > time.time() + 1700


def test_sdk_status_payment_and_credit_note_tour(sdk: tuple[ApiClient, XeroHarness]) -> None:
    """Items, an invoice through every status, a batch with a bad element, payments (partial,
    full, deleted) and a credit note allocated to an invoice, all through the SDK's models."""
    api_client, server = sdk
    api_client.get_client_credentials_token()
    xero = AccountingApi(api_client, base_url=f"{server.url}/api.xro/2.0")
    sales = Purchase(unit_price=250, account_code="200", tax_type="OUTPUT2")
    [item] = xero.create_items(
        TENANT_ID, Items(items=[Item(code="SVC", name="Service", sales_details=sales)])
    ).items
    assert item.sales_details.unit_price == Decimal("250.00")
    contact = Contact(name="Tour Customer")

    def invoice(**fields: Any) -> Invoice:
        return Invoice(
            type="ACCREC",
            contact=contact,
            due_date=date(2026, 12, 31),
            line_items=[LineItem(item_code="SVC", quantity=2)],
            **fields,
        )

    batch = xero.create_invoices(
        TENANT_ID,
        Invoices(invoices=[invoice(), invoice(currency_code=CurrencyCode.JPY)]),
        summarize_errors=False,
    ).invoices
    assert [i.status_attribute_string for i in batch] == ["OK", "ERROR"]
    assert batch[1].validation_errors[0].message == "The currency code 'JPY' is not valid"
    draft = batch[0]
    assert (draft.status, draft.total) == ("DRAFT", Decimal("600.00"))
    contact = Contact(contact_id=draft.contact.contact_id)
    for status in ("SUBMITTED", "AUTHORISED"):
        [draft] = xero.update_invoice(
            TENANT_ID, draft.invoice_id, Invoices(invoices=[Invoice(status=status)])
        ).invoices
        assert draft.status == status

    bank = Account(code="090")
    part = xero.create_payment(
        TENANT_ID,
        Payment(
            invoice=Invoice(invoice_id=draft.invoice_id),
            account=bank,
            amount=100,
            date=date(2026, 11, 25),
        ),
    ).payments[0]
    assert part.invoice.invoice_id == draft.invoice_id
    rest = xero.create_payments(
        TENANT_ID,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=draft.invoice_id),
                    account=bank,
                    amount=500,
                    date=date(2026, 11, 26),
                )
            ]
        ),
    ).payments[0]
    paid = xero.get_invoice(TENANT_ID, draft.invoice_id).invoices[0]
    assert (paid.status, paid.amount_due, paid.fully_paid_on_date) == (
        "PAID",
        Decimal("0.00"),
        date(2026, 11, 26),
    )
    xero.delete_payment(TENANT_ID, rest.payment_id, PaymentDelete(status="DELETED"))
    again = xero.get_invoice(TENANT_ID, draft.invoice_id).invoices[0]
    assert (again.status, again.amount_due) == ("AUTHORISED", Decimal("500.00"))

    note = CreditNote(
        type="ACCRECCREDIT",
        contact=contact,
        status="AUTHORISED",
        line_items=[LineItem(item_code="SVC", quantity=1)],
    )
    [credit] = xero.create_credit_notes(TENANT_ID, CreditNotes(credit_notes=[note])).credit_notes
    assert credit.remaining_credit == Decimal("300.00")
    xero.create_credit_note_allocation(
        TENANT_ID,
        credit.credit_note_id,
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=draft.invoice_id),
                    amount=300,
                    date=date(2026, 11, 27),
                )
            ]
        ),
    )
    after = xero.get_invoice(TENANT_ID, draft.invoice_id).invoices[0]
    assert (after.amount_credited, after.amount_due) == (Decimal("300.00"), Decimal("200.00"))

    spare = xero.create_invoices(TENANT_ID, Invoices(invoices=[invoice()])).invoices[0]
    [deleted] = xero.update_invoice(
        TENANT_ID, spare.invoice_id, Invoices(invoices=[Invoice(status="DELETED")])
    ).invoices
    assert deleted.status == "DELETED"
    approved = xero.create_invoices(TENANT_ID, Invoices(invoices=[invoice(status="AUTHORISED")]))
    [voided] = xero.update_invoice(
        TENANT_ID, approved.invoices[0].invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices
    assert voided.status == "VOIDED"
    [noted] = xero.update_invoice(
        TENANT_ID,
        draft.invoice_id,
        Invoices(invoices=[Invoice(reference="Paid in part, credited in part")]),
    ).invoices
    assert noted.reference == "Paid in part, credited in part"
    balances = xero.get_contact(TENANT_ID, contact.contact_id).contacts[0].balances
    assert balances.accounts_receivable.outstanding == Decimal("200.00")


def test_sdk_reads_back_settlements_overpayments_prepayments_and_cancellations(
    sdk: tuple[ApiClient, XeroHarness],
) -> None:
    """What the connector reads back from Xero, through the SDK's models: overpayments and
    prepayments made by bank transactions and allocated, a refund, a deallocation, a credit
    note larger than its invoice, a payment found by If-Modified-Since then deleted and the
    invoice voided, filtered and paged invoice lists, and the contact's balances."""
    api_client, server = sdk
    api_client.get_client_credentials_token()
    xero = AccountingApi(api_client, base_url=f"{server.url}/api.xro/2.0")
    [customer] = xero.create_contacts(
        TENANT_ID, Contacts(contacts=[Contact(name="Settling Customer")])
    ).contacts
    contact = Contact(contact_id=customer.contact_id)
    work = LineItem(description="Work", quantity=1, unit_amount=100, account_code="200")

    def invoice() -> Invoice:
        return Invoice(
            type="ACCREC",
            contact=contact,
            date=date(2026, 11, 2),
            due_date=date(2099, 12, 31),
            status="AUTHORISED",
            line_items=[work],
        )

    a, b, c, d = xero.create_invoices(
        TENANT_ID, Invoices(invoices=[invoice() for _ in range(4)])
    ).invoices
    bank = Account(code="090")
    over, pre = xero.create_bank_transactions(
        TENANT_ID,
        BankTransactions(
            bank_transactions=[
                BankTransaction(
                    type="RECEIVE-OVERPAYMENT",
                    contact=contact,
                    bank_account=bank,
                    date=date(2026, 11, 20),
                    line_amount_types=LineAmountTypes.NOTAX,
                    line_items=[LineItem(description="Paid twice", line_amount=150)],
                ),
                BankTransaction(
                    type="RECEIVE-PREPAYMENT",
                    contact=contact,
                    bank_account=bank,
                    line_amount_types=LineAmountTypes.EXCLUSIVE,
                    line_items=[work],
                ),
            ]
        ),
        idempotency_key="tour-bank",
    ).bank_transactions

    def allocation(target: Invoice, amount: int) -> Allocations:
        return Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=target.invoice_id),
                    amount=amount,
                    date=date(2026, 11, 20),
                )
            ]
        )

    xero.create_overpayment_allocations(TENANT_ID, over.overpayment_id, allocation(a, 120))
    xero.create_prepayment_allocations(TENANT_ID, pre.prepayment_id, allocation(b, 120))
    paid = xero.get_invoice(TENANT_ID, a.invoice_id).invoices[0]
    assert (paid.status, paid.amount_credited, paid.amount_due) == (
        "PAID",
        Decimal("120.00"),
        Decimal("0.00"),
    )
    assert paid.overpayments[0].overpayment_id == over.overpayment_id
    assert xero.get_overpayment(TENANT_ID, over.overpayment_id).overpayments[
        0
    ].remaining_credit == Decimal("30.00")
    xero.create_payment(
        TENANT_ID,
        Payment(
            overpayment=Overpayment(overpayment_id=over.overpayment_id),
            account=bank,
            amount=30,
            date=date(2026, 11, 21),
        ),
    )
    [spent] = xero.get_overpayments(TENANT_ID, where='Status=="PAID"').overpayments
    assert (spent.overpayment_id, spent.remaining_credit) == (over.overpayment_id, Decimal("0.00"))
    [made] = xero.get_prepayment(TENANT_ID, pre.prepayment_id).prepayments[0].allocations
    xero.delete_prepayment_allocations(TENANT_ID, pre.prepayment_id, made.allocation_id)
    back = xero.get_invoice(TENANT_ID, b.invoice_id).invoices[0]
    assert (back.status, back.amount_due, back.prepayments) == ("AUTHORISED", Decimal("120.00"), [])

    note = CreditNote(
        type="ACCRECCREDIT",
        contact=contact,
        status="AUTHORISED",
        line_items=[
            LineItem(description="Refund", quantity=2, unit_amount=100, account_code="200")
        ],
    )
    [credit] = xero.create_credit_notes(TENANT_ID, CreditNotes(credit_notes=[note])).credit_notes
    xero.create_credit_note_allocation(TENANT_ID, credit.credit_note_id, allocation(c, 120))
    [left] = xero.get_credit_notes(TENANT_ID, where='Status=="AUTHORISED"').credit_notes
    assert (left.credit_note_id, left.remaining_credit) == (
        credit.credit_note_id,
        Decimal("120.00"),
    )

    server.emulator.clock.advance(5)  # past the refund above
    moment = server.emulator.clock.now().replace(microsecond=0)
    payment = xero.create_payment(
        TENANT_ID,
        Payment(invoice=Invoice(invoice_id=d.invoice_id), account=bank, amount=120),
    ).payments[0]
    recent = xero.get_payments(TENANT_ID, if_modified_since=moment).payments
    assert [p.payment_id for p in recent] == [payment.payment_id]
    xero.delete_payment(TENANT_ID, payment.payment_id, PaymentDelete(status="DELETED"))
    [voided] = xero.update_invoice(
        TENANT_ID, d.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices
    assert (voided.status, voided.amount_due) == ("VOIDED", Decimal("0.00"))
    settled = xero.get_invoices(
        TENANT_ID,
        statuses=["PAID", "VOIDED"],
        contact_i_ds=[customer.contact_id],
        page=1,
        page_size=1000,
    )
    assert sorted(i.invoice_id for i in settled.invoices) == sorted(
        [a.invoice_id, c.invoice_id, d.invoice_id]
    )
    assert settled.pagination.page_size == 1000
    [read] = xero.get_contacts(TENANT_ID, i_ds=[customer.contact_id], page=1).contacts
    # Owed 120 (b), less the prepayment's 120 and the credit note's 120 left unallocated.
    assert read.balances.accounts_receivable.outstanding == Decimal("-120.00")
