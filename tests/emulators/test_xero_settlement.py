"""Payments, credit notes with allocations, the automatic PAID status and contact balances."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from tests.support.xero_fixtures import API, XeroHarness

LINE = {"Description": "Consulting", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}


def _invoice(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "Type": "ACCREC",
        "Contact": {"Name": "Payer Ltd"},
        "Status": "AUTHORISED",
        "DueDate": "2026-12-31",
        "LineItems": [LINE],
        **fields,
    }
    response = client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [body]})
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["Invoices"][0]
    return invoice


def _pay(client: TestClient, headers: dict[str, str], invoice_id: str, amount: float):
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "090"},
        "Date": "2026-11-25",
        "Amount": amount,
    }
    return client.put(f"{API}/Payments", headers=headers, json={"Payments": [payment]})


def _get(client: TestClient, headers: dict[str, str], invoice_id: str) -> dict[str, Any]:
    invoice: dict[str, Any] = client.get(f"{API}/Invoices/{invoice_id}", headers=headers).json()[
        "Invoices"
    ][0]
    return invoice


def test_partial_then_full_payment_then_deleted(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(client, headers)  # Total 120.00
    first = _pay(client, headers, invoice["InvoiceID"], 50)
    assert first.status_code == 200, first.text
    part = _get(client, headers, invoice["InvoiceID"])
    assert (part["Status"], part["AmountPaid"], part["AmountDue"]) == ("AUTHORISED", 50, 70)
    assert len(part["Payments"]) == 1
    too_much = _pay(client, headers, invoice["InvoiceID"], 70.01)
    assert too_much.status_code == 400
    assert too_much.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payment amount exceeds the amount outstanding on this document"}
    ]
    second = _pay(client, headers, invoice["InvoiceID"], 70).json()["Payments"][0]
    assert second["PaymentType"] == "ACCRECPAYMENT"
    assert second["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    paid = _get(client, headers, invoice["InvoiceID"])
    assert (paid["Status"], paid["AmountDue"], paid["AmountPaid"]) == ("PAID", 0, 120)
    assert paid["FullyPaidOnDate"].startswith("/Date(")
    deleted = client.post(
        f"{API}/Payments/{second['PaymentID']}", headers=headers, json={"Status": "DELETED"}
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    back = _get(client, headers, invoice["InvoiceID"])
    assert (back["Status"], back["AmountDue"]) == ("AUTHORISED", 70)
    assert "FullyPaidOnDate" not in back
    listed = client.get(
        f"{API}/Payments", headers=headers, params={"where": 'Status=="AUTHORISED"'}
    ).json()["Payments"]
    assert [p["Amount"] for p in listed] == [50]


def test_payments_need_an_authorised_invoice_and_a_bank_account(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    draft = _invoice(client, headers, Status="DRAFT")
    response = _pay(client, headers, draft["InvoiceID"], 10)
    assert response.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payments can only be made against Authorised documents"}
    ]
    invoice = _invoice(client, headers)
    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "200"},
        "Amount": 10,
    }
    response = client.put(f"{API}/Payments", headers=headers, json={"Payments": [payment]})
    assert response.status_code == 400


def test_void_needs_no_payments_and_paid_cannot_be_set(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(client, headers)
    _pay(client, headers, invoice["InvoiceID"], 10)
    void = client.post(
        f"{API}/Invoices/{invoice['InvoiceID']}",
        headers=headers,
        json={"Invoices": [{"Status": "VOIDED"}]},
    )
    assert void.status_code == 400
    assert void.json()["Elements"][0]["ValidationErrors"] == [
        {
            "Message": "This document cannot be edited as it has a payment or credit note "
            "allocated to it."
        }
    ]
    paid = client.post(
        f"{API}/Invoices/{invoice['InvoiceID']}",
        headers=headers,
        json={"Invoices": [{"Status": "PAID"}]},
    )
    assert paid.status_code == 400
    other = _invoice(client, headers)
    voided = client.post(
        f"{API}/Invoices/{other['InvoiceID']}",
        headers=headers,
        json={"Invoices": [{"Status": "VOIDED"}]},
    )
    assert voided.json()["Invoices"][0]["Status"] == "VOIDED"
    assert voided.json()["Invoices"][0]["AmountDue"] == 0
    delete = client.post(
        f"{API}/Invoices/{other['InvoiceID']}",
        headers=headers,
        json={"Invoices": [{"Status": "DELETED"}]},
    )
    assert delete.status_code == 400


def test_credit_note_allocation_pays_the_invoice(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(client, headers)
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        "Status": "AUTHORISED",
        "LineItems": [LINE],
    }
    created = client.put(f"{API}/CreditNotes", headers=headers, json={"CreditNotes": [note]})
    assert created.status_code == 200, created.text
    [credit] = created.json()["CreditNotes"]
    assert (credit["CreditNoteNumber"], credit["Total"], credit["RemainingCredit"]) == (
        "CN-0001",
        120,
        120,
    )
    url = f"{API}/CreditNotes/{credit['CreditNoteID']}/Allocations"
    allocation = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Amount": 120,
        "Date": "2026-11-25",
    }
    response = client.put(url, headers=headers, json={"Allocations": [allocation]})
    assert response.status_code == 200, response.text
    [made] = response.json()["Allocations"]
    paid = _get(client, headers, invoice["InvoiceID"])
    assert (paid["Status"], paid["AmountCredited"], paid["AmountDue"]) == ("PAID", 120, 0)
    assert paid["CreditNotes"][0]["CreditNoteID"] == credit["CreditNoteID"]
    note_now = client.get(f"{API}/CreditNotes/{credit['CreditNoteID']}", headers=headers).json()
    assert note_now["CreditNotes"][0]["Status"] == "PAID"
    assert note_now["CreditNotes"][0]["RemainingCredit"] == 0
    again = client.put(url, headers=headers, json={"Allocations": [allocation]})
    assert again.status_code == 400
    removed = client.delete(f"{url}/{made['AllocationID']}", headers=headers)
    assert removed.status_code == 200 and removed.json()["IsDeleted"] is True
    assert _get(client, headers, invoice["InvoiceID"])["Status"] == "AUTHORISED"


def test_partial_allocation_and_limits(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(client, headers)
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        "Status": "AUTHORISED",
        "LineItems": [dict(LINE, UnitAmount=200)],
    }
    [credit] = client.put(
        f"{API}/CreditNotes", headers=headers, json={"CreditNotes": [note]}
    ).json()["CreditNotes"]
    url = f"{API}/CreditNotes/{credit['CreditNoteID']}/Allocations"
    over = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 121, "Date": "2026-11-25"}
    response = client.put(url, headers=headers, json={"Allocations": [over]})
    assert response.status_code == 400
    part = dict(over, Amount=20)
    assert client.put(url, headers=headers, json={"Allocations": [part]}).status_code == 200
    assert _get(client, headers, invoice["InvoiceID"])["AmountDue"] == 100
    note_now = client.get(f"{API}/CreditNotes/{credit['CreditNoteID']}", headers=headers).json()
    assert note_now["CreditNotes"][0]["RemainingCredit"] == 220


def test_contact_balances(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    current = _invoice(client, headers, DueDate="2099-01-01")
    _invoice(client, headers, Date="2026-01-01", DueDate="2026-01-31")  # overdue
    _invoice(client, headers, Status="DRAFT")  # drafts are not owed
    _pay(client, headers, current["InvoiceID"], 20)
    contact_id = current["Contact"]["ContactID"]
    contact = client.get(f"{API}/Contacts/{contact_id}", headers=headers).json()["Contacts"][0]
    receivable = contact["Balances"]["AccountsReceivable"]
    assert (receivable["Outstanding"], receivable["Overdue"]) == (220, 120)
    assert contact["Balances"]["AccountsPayable"] == {"Outstanding": 0, "Overdue": 0}


def test_paid_documents_take_header_edits_only(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(client, headers)
    _pay(client, headers, invoice["InvoiceID"], 120)
    url = f"{API}/Invoices/{invoice['InvoiceID']}"
    header = client.post(
        url, headers=headers, json={"Invoices": [{"Reference": "PO-9", "DueDate": "2027-01-31"}]}
    )
    assert header.status_code == 200, header.text
    [updated] = header.json()["Invoices"]
    assert (updated["Status"], updated["Reference"]) == ("PAID", "PO-9")
    lines = client.post(
        url,
        headers=headers,
        json={
            "Invoices": [
                {
                    "LineItems": [
                        {
                            "Description": "more",
                            "Quantity": 1,
                            "UnitAmount": 1,
                            "AccountCode": "200",
                        }
                    ]
                }
            ]
        },
    )
    assert lines.status_code == 400
    assert lines.json()["Elements"][0]["ValidationErrors"] == [
        {
            "Message": "This document cannot be edited as it has a payment or credit note "
            "allocated to it."
        }
    ]
