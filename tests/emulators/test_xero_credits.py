"""Reading back from Xero: overpayments and prepayments (made by bank transactions), their
allocations and refunds, credit notes larger than the invoice, foreign-currency payments,
If-Modified-Since after payments, allocations and deletions, cancellations, contact balances,
and Idempotency-Key on every one of these writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.testclient import TestClient
from tests.support.xero_fixtures import API, XeroHarness

LINE = {"Description": "Consulting", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}
Client = tuple[TestClient, dict[str, str]]


def _invoice(xero: Client, **fields: Any) -> dict[str, Any]:
    client, headers = xero
    body = {
        "Type": "ACCREC",
        "Contact": {"Name": "Payer Ltd"},
        "Status": "AUTHORISED",
        "Date": "2026-11-01",
        "DueDate": "2099-12-31",
        "LineItems": [LINE],  # 100 + 20 % VAT = 120.00
        **fields,
    }
    response = client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [body]})
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["Invoices"][0]
    return invoice


def _get(xero: Client, path: str, **headers: str) -> dict[str, Any]:
    client, base = xero
    response = client.get(f"{API}/{path}", headers=dict(base, **headers))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _put(xero: Client, path: str, body: Any, **headers: str) -> Any:
    client, base = xero
    return client.put(f"{API}/{path}", headers=dict(base, **headers), json=body)


def _bank(xero: Client, contact_id: str, type_: str, lines: list[dict[str, Any]], **fields: Any):
    body = {
        "Type": type_,
        "Contact": {"ContactID": contact_id},
        "BankAccount": {"Code": "090"},
        "LineItems": lines,
        **fields,
    }
    return _put(xero, "BankTransactions", {"BankTransactions": [body]})


def _allocate(xero: Client, path: str, invoice_id: str, amount: float, **headers: str) -> Any:
    # Date is required by the spec yet read-only: Xero takes the later of the two documents'.
    allocation = {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2026-01-01"}
    body = {"Allocations": [allocation]}
    return _put(xero, f"{path}/Allocations", body, **headers)


def _messages(response: Any) -> list[str]:
    return [m["Message"] for e in response.json()["Elements"] for m in e["ValidationErrors"]]


def test_receive_overpayment_allocated_then_refunded_then_deallocated(xero: Client) -> None:
    invoice = _invoice(xero)
    contact_id = invoice["Contact"]["ContactID"]
    made = _bank(
        xero,
        contact_id,
        "RECEIVE-OVERPAYMENT",
        [{"Description": "Paid twice", "LineAmount": 150}],
        LineAmountTypes="NoTax",
        Date="2026-11-20",
    )
    assert made.status_code == 200, made.text
    [transaction] = made.json()["BankTransactions"]
    # The single line is coded to the Accounts Receivable control account (610).
    assert transaction["LineItems"][0]["AccountCode"] == "610"
    overpayment_id = transaction["OverpaymentID"]
    assert overpayment_id == transaction["BankTransactionID"]
    [overpayment] = _get(xero, f"Overpayments/{overpayment_id}")["Overpayments"]
    assert (overpayment["Type"], overpayment["Status"], overpayment["RemainingCredit"]) == (
        "RECEIVE-OVERPAYMENT",
        "AUTHORISED",
        150,
    )
    path = f"Overpayments/{overpayment_id}"
    too_much = _allocate(xero, path, invoice["InvoiceID"], 121)
    assert too_much.status_code == 400
    assert _messages(too_much) == [
        "Overpayment cannot be allocated as amount is greater than amount outstanding"
    ]
    allocated = _allocate(xero, path, invoice["InvoiceID"], 120)
    assert allocated.status_code == 200, allocated.text
    [allocation] = allocated.json()["Allocations"]
    assert allocation["Overpayment"] == {"OverpaymentID": overpayment_id}
    assert allocation["Date"] == "/Date(1795132800000+0000)/"  # 2026-11-20, the later date
    [paid] = _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"]
    assert (paid["Status"], paid["AmountDue"], paid["AmountPaid"], paid["AmountCredited"]) == (
        "PAID",
        0,
        0,
        120,
    )
    assert [(o["OverpaymentID"], o["AppliedAmount"]) for o in paid["Overpayments"]] == [
        (overpayment_id, 120)
    ]
    [left] = _get(xero, path)["Overpayments"]
    assert (left["Status"], left["RemainingCredit"], len(left["Allocations"])) == (
        "AUTHORISED",
        30,
        1,
    )
    balances = _get(xero, f"Contacts/{contact_id}")["Contacts"][0]["Balances"]
    assert balances["AccountsReceivable"] == {"Outstanding": -30, "Overdue": 0}

    refund = {"Overpayment": {"OverpaymentID": overpayment_id}, "Account": {"Code": "090"}}
    refunded = _put(xero, "Payments", {"Payments": [dict(refund, Amount=30)]})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["Payments"][0]["PaymentType"] == "AROVERPAYMENTPAYMENT"
    assert refunded.json()["Payments"][0]["Overpayment"]["OverpaymentID"] == overpayment_id
    [spent] = _get(xero, path)["Overpayments"]
    assert (spent["Status"], spent["RemainingCredit"]) == ("PAID", 0)

    client, headers = xero
    removed = client.delete(
        f"{API}/{path}/Allocations/{allocation['AllocationID']}", headers=headers
    )
    assert removed.status_code == 200 and removed.json()["IsDeleted"] is True
    [back] = _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"]
    assert (back["Status"], back["AmountDue"], back["Overpayments"]) == ("AUTHORISED", 120, [])
    assert _get(xero, path)["Overpayments"][0]["RemainingCredit"] == 120


def test_prepayment_with_taxed_lines_allocated_in_part(xero: Client) -> None:
    invoice = _invoice(xero)
    contact_id = invoice["Contact"]["ContactID"]
    lines = [dict(LINE, UnitAmount=500), dict(LINE, Description="Materials")]
    made = _bank(xero, contact_id, "RECEIVE-PREPAYMENT", lines, LineAmountTypes="Exclusive")
    assert made.status_code == 200, made.text
    [transaction] = made.json()["BankTransactions"]
    assert (transaction["SubTotal"], transaction["TotalTax"], transaction["Total"]) == (
        600,
        120,
        720,
    )
    prepayment_id = transaction["PrepaymentID"]
    listed = _get(xero, "Prepayments")["Prepayments"]
    assert [p["PrepaymentID"] for p in listed] == [prepayment_id]
    assert listed[0]["LineItems"] == []  # lines only when paged
    paged = _get(xero, "Prepayments?page=1")
    assert len(paged["Prepayments"][0]["LineItems"]) == 2
    assert paged["pagination"]["itemCount"] == 1

    path = f"Prepayments/{prepayment_id}"
    assert _allocate(xero, path, invoice["InvoiceID"], 120).status_code == 200
    [paid] = _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"]
    assert (paid["Status"], paid["AmountCredited"]) == ("PAID", 120)
    assert paid["Prepayments"][0]["PrepaymentID"] == prepayment_id
    assert _get(xero, path)["Prepayments"][0]["RemainingCredit"] == 600

    other = _invoice(xero, Contact={"Name": "Someone Else"})
    refused = _allocate(xero, path, other["InvoiceID"], 10)
    assert _messages(refused) == ["The prepayment and the invoice must be for the same contact."]


def test_bank_transaction_rules(xero_app: XeroHarness) -> None:
    xero = (xero_app.client(), xero_app.headers())
    client, headers = xero
    contact = {"Name": "Bank Customer"}
    good = {
        "Type": "RECEIVE",
        "Contact": contact,
        "BankAccount": {"Code": "090"},
        "LineItems": [dict(LINE, UnitAmount=120)],
        "Reference": "Cash sale",
    }
    cases = [
        good,
        dict(good, BankAccount={"Code": "200"}),
        dict(good, BankAccount=None),
        dict(good, Type="RECEIVE-OVERPAYMENT", LineItems=[LINE, LINE]),
        dict(good, Type="RECEIVE-PREPAYMENT", LineItems=[{"ItemCode": "X", "Quantity": 1}]),
        dict(good, Type="RECEIVE-PREPAYMENT", CurrencyCode="USD"),
    ]
    with xero_app.validator.allowing_invalid_requests():  # no BankAccount; Type TRANSFER
        response = client.put(
            f"{API}/BankTransactions",
            headers=headers,
            params={"summarizeErrors": "false"},
            json={"BankTransactions": cases},
        )
        transfer = client.put(
            f"{API}/BankTransactions", headers=headers, json=dict(good, Type="TRANSFER")
        )
    assert _messages(transfer) == ["Bank Transaction Type 'TRANSFER' is not valid"]
    assert response.status_code == 200, response.text
    results = response.json()["BankTransactions"]
    assert results[0]["StatusAttributeString"] == "OK"
    # Bank transaction lines are tax inclusive unless told otherwise.
    assert (results[0]["LineAmountTypes"], results[0]["TotalTax"], results[0]["Total"]) == (
        "Inclusive",
        20,
        120,
    )
    assert [r["ValidationErrors"][0]["Message"] for r in results[1:]] == [
        "Account 200 is not a bank account.",
        "A valid BankAccount must be specified",
        "Overpayments can only have a single line item.",
        "ItemCode can only be used when the Bank Transaction Type is SPEND or RECEIVE.",
        "Setting a currency is only supported on overpayments.",
    ]
    transaction_id = results[0]["BankTransactionID"]
    [fetched] = _get(xero, f"BankTransactions/{transaction_id}")["BankTransactions"]
    assert (fetched["Reference"], fetched["BankAccount"]["Code"]) == ("Cash sale", "090")
    assert "OverpaymentID" not in fetched and "PrepaymentID" not in fetched
    listed = _get(xero, 'BankTransactions?where=Type=="RECEIVE"')["BankTransactions"]
    assert [t["BankTransactionID"] for t in listed] == [transaction_id]
    assert _get(xero, "Overpayments")["Overpayments"] == []


def test_foreign_currency_payment_is_in_the_invoice_currency(xero_app: XeroHarness) -> None:
    xero_app.emulator.seed()  # USD and EUR
    xero = (xero_app.client(), xero_app.headers())
    invoice = _invoice(xero, CurrencyCode="USD", CurrencyRate=1.25)  # USD 120.00
    payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    first = _put(xero, "Payments", {"Payments": [dict(payment, Amount=60, CurrencyRate=1.2)]})
    assert first.status_code == 200, first.text
    [made] = first.json()["Payments"]
    # Amount is in dollars; BankAmount in the bank account's pounds at the payment's rate.
    assert (made["Amount"], made["CurrencyRate"], made["BankAmount"]) == (60, 1.2, 50)
    [part] = _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"]
    assert (part["AmountPaid"], part["AmountDue"], part["CurrencyCode"]) == (60, 60, "USD")
    assert part["Payments"][0]["CurrencyRate"] == 1.2
    contact_id = invoice["Contact"]["ContactID"]
    balances = _get(xero, f"Contacts/{contact_id}")["Contacts"][0]["Balances"]
    assert balances["AccountsReceivable"]["Outstanding"] == 48  # 60 dollars at 1.25, in pounds
    second = _put(xero, "Payments", {"Payments": [dict(payment, Amount=60)]})
    assert second.json()["Payments"][0]["BankAmount"] == 48  # the invoice's own rate
    assert _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]["Status"] == "PAID"

    pounds = _invoice(xero)
    own = dict(payment, Invoice={"InvoiceID": pounds["InvoiceID"]}, Amount=10, CurrencyRate=2)
    [base] = _put(xero, "Payments", {"Payments": [own]}).json()["Payments"]
    assert (base["CurrencyRate"], base["BankAmount"]) == (1, 10)  # a rate is for foreign only


def test_credit_note_larger_than_the_invoice_keeps_its_remaining_credit(xero: Client) -> None:
    invoice = _invoice(xero)  # 120.00
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        "Status": "AUTHORISED",
        "LineItems": [dict(LINE, UnitAmount=200)],  # 240.00
    }
    [credit] = _put(xero, "CreditNotes", {"CreditNotes": [note]}).json()["CreditNotes"]
    path = f"CreditNotes/{credit['CreditNoteID']}"
    over = _allocate(xero, path, invoice["InvoiceID"], 240)
    assert _messages(over) == [
        "Credit Note cannot be allocated as amount is greater than amount outstanding"
    ]
    assert _allocate(xero, path, invoice["InvoiceID"], 120).status_code == 200
    [paid] = _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"]
    assert (paid["Status"], paid["AmountCredited"], paid["CreditNotes"][0]["AppliedAmount"]) == (
        "PAID",
        120,
        120,
    )
    [left] = _get(xero, path)["CreditNotes"]
    assert (left["Status"], left["RemainingCredit"]) == ("AUTHORISED", 120)
    unallocated = _get(xero, 'CreditNotes?where=Status=="AUTHORISED"')["CreditNotes"]
    assert [n["CreditNoteID"] for n in unallocated] == [credit["CreditNoteID"]]
    assert unallocated[0]["LineItems"] == []  # lines only when paged
    contact = _get(xero, f"Contacts/{invoice['Contact']['ContactID']}")["Contacts"][0]
    assert contact["Balances"]["AccountsReceivable"]["Outstanding"] == -120


def test_if_modified_since_finds_payments_allocations_and_deletions(xero_app: XeroHarness) -> None:
    xero = (xero_app.client(), xero_app.headers())
    clock = xero_app.emulator.clock
    invoice = _invoice(xero)
    contact_id = invoice["Contact"]["ContactID"]

    def since() -> str:
        clock.advance(5)
        moment = clock.now().replace(microsecond=0).isoformat()
        clock.advance(1)
        return moment

    def changed(collection: str, moment: str, id_field: str) -> list[str]:
        body = _get(xero, collection, **{"If-Modified-Since": moment})
        return [r[id_field] for r in body[collection]]

    moment = since()
    assert changed("Invoices", moment, "InvoiceID") == []
    payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    [paid] = _put(xero, "Payments", {"Payments": [dict(payment, Amount=20)]}).json()["Payments"]
    assert changed("Invoices", moment, "InvoiceID") == [invoice["InvoiceID"]]
    assert changed("Payments", moment, "PaymentID") == [paid["PaymentID"]]
    # Balances change, but the contact is not "modified" (Xero, Contacts: Modified After).
    assert changed("Contacts", moment, "ContactID") == []

    moment = since()
    client, headers = xero
    client.post(f"{API}/Payments/{paid['PaymentID']}", headers=headers, json={"Status": "DELETED"})
    assert changed("Invoices", moment, "InvoiceID") == [invoice["InvoiceID"]]
    deleted = _get(xero, "Payments", **{"If-Modified-Since": moment})["Payments"]
    assert [(p["PaymentID"], p["Status"]) for p in deleted] == [(paid["PaymentID"], "DELETED")]

    moment = since()
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "LineItems": [dict(LINE, UnitAmount=10)],
    }
    [credit] = _put(xero, "CreditNotes", {"CreditNotes": [note]}).json()["CreditNotes"]
    over = _bank(xero, contact_id, "RECEIVE-OVERPAYMENT", [{"Description": "x", "LineAmount": 5}])
    overpayment_id = over.json()["BankTransactions"][0]["OverpaymentID"]
    moment = since()
    assert changed("CreditNotes", moment, "CreditNoteID") == []
    _allocate(xero, f"CreditNotes/{credit['CreditNoteID']}", invoice["InvoiceID"], 12)
    _allocate(xero, f"Overpayments/{overpayment_id}", invoice["InvoiceID"], 5)
    assert changed("CreditNotes", moment, "CreditNoteID") == [credit["CreditNoteID"]]
    assert changed("Overpayments", moment, "OverpaymentID") == [overpayment_id]
    assert changed("Invoices", moment, "InvoiceID") == [invoice["InvoiceID"]]


def test_voided_after_its_payment_is_deleted_and_drafts_deleted(xero: Client) -> None:
    client, headers = xero
    invoice = _invoice(xero)
    url = f"{API}/Invoices/{invoice['InvoiceID']}"
    payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    [paid] = _put(xero, "Payments", {"Payments": [dict(payment, Amount=120)]}).json()["Payments"]
    refused = client.post(url, headers=headers, json={"Status": "VOIDED"})
    assert refused.status_code == 400
    client.post(f"{API}/Payments/{paid['PaymentID']}", headers=headers, json={"Status": "DELETED"})
    voided = client.post(url, headers=headers, json={"Status": "VOIDED"})
    assert voided.status_code == 200, voided.text
    [after] = voided.json()["Invoices"]
    assert (after["Status"], after["AmountDue"], after["AmountPaid"], after["Payments"]) == (
        "VOIDED",
        0,
        0,
        [],
    )
    [gone] = _get(xero, f"Payments/{paid['PaymentID']}")["Payments"]
    assert gone["Status"] == "DELETED"
    for status in ("DRAFT", "SUBMITTED"):
        draft = _invoice(xero, Status=status)
        deleted = client.post(
            f"{API}/Invoices/{draft['InvoiceID']}", headers=headers, json={"Status": "DELETED"}
        )
        assert deleted.json()["Invoices"][0]["Status"] == "DELETED"
    statuses = _get(xero, "Invoices?Statuses=VOIDED,DELETED")["Invoices"]
    assert sorted(i["Status"] for i in statuses) == ["DELETED", "DELETED", "VOIDED"]


def test_every_new_write_honours_the_idempotency_key(xero: Client) -> None:
    invoice = _invoice(xero)
    contact_id = invoice["Contact"]["ContactID"]
    lines = [{"Description": "x", "LineAmount": 50}]
    first = _bank(xero, contact_id, "RECEIVE-OVERPAYMENT", lines)
    body = {
        "BankTransactions": [
            {
                "Type": "RECEIVE-PREPAYMENT",
                "Contact": {"ContactID": contact_id},
                "BankAccount": {"Code": "090"},
                "LineItems": [dict(lines[0], AccountCode="200")],
            }
        ]
    }
    made = [_put(xero, "BankTransactions", body, **{"Idempotency-Key": "bt-1"}) for _ in range(2)]
    assert made[0].json() == made[1].json()
    assert len(_get(xero, "Prepayments")["Prepayments"]) == 1
    overpayment = f"Overpayments/{first.json()['BankTransactions'][0]['OverpaymentID']}"
    for _ in range(2):
        again = _allocate(xero, overpayment, invoice["InvoiceID"], 10, **{"Idempotency-Key": "a-1"})
        assert again.status_code == 200, again.text
    assert len(_get(xero, overpayment)["Overpayments"][0]["Allocations"]) == 1
    assert _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]["AmountDue"] == 110

    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Amount": 10,
    }
    for _ in range(2):
        _put(xero, "Payments", {"Payments": [payment]}, **{"Idempotency-Key": "p-1"})
    [paid] = _get(xero, "Payments")["Payments"]
    client, headers = xero
    for _ in range(2):  # the replay is the first answer, not "already deleted"
        deleted = client.post(
            f"{API}/Payments/{paid['PaymentID']}",
            headers=dict(headers, **{"Idempotency-Key": "d-1"}),
            json={"Status": "DELETED"},
        )
        assert deleted.status_code == 200, deleted.text
    assert _get(xero, f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]["AmountDue"] == 110


def test_balances_come_with_single_and_paged_contact_reads_only(xero: Client) -> None:
    invoice = _invoice(xero, Date="2026-01-01", DueDate="2026-01-31")  # overdue by the clock
    contact_id = invoice["Contact"]["ContactID"]
    unpaged = _get(xero, f"Contacts?IDs={contact_id}")["Contacts"]
    assert "Balances" not in unpaged[0]
    [paged] = _get(xero, f"Contacts?IDs={contact_id}&page=1")["Contacts"]
    assert paged["Balances"]["AccountsReceivable"] == {"Outstanding": 120, "Overdue": 120}
    [summary] = _get(xero, f"Contacts?IDs={contact_id}&page=1&summaryOnly=true")["Contacts"]
    assert "Balances" not in summary and "Addresses" not in summary
    [single] = _get(xero, f"Contacts/{contact_id}")["Contacts"]
    assert single["Balances"] == paged["Balances"]


def test_invoice_lists_page_up_to_a_thousand_with_their_settlements(xero: Client) -> None:
    invoices = [_invoice(xero) for _ in range(3)]
    payment = {"Invoice": {"InvoiceID": invoices[0]["InvoiceID"]}, "Account": {"Code": "090"}}
    _put(xero, "Payments", {"Payments": [dict(payment, Amount=120, Reference="Thanks")]})
    contact_id = invoices[0]["Contact"]["ContactID"]
    body = _get(xero, f"Invoices?page=1&pageSize=5000&ContactIDs={contact_id}")
    assert body["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": 3}
    first = next(i for i in body["Invoices"] if i["InvoiceID"] == invoices[0]["InvoiceID"])
    [settled] = first["Payments"]
    assert (settled["Amount"], settled["Reference"], settled["CurrencyRate"]) == (120, "Thanks", 1)
    assert set(settled) >= {"PaymentID", "Date"}
    assert (first["Status"], first["AmountPaid"], first["Total"], first["TotalTax"]) == (
        "PAID",
        120,
        120,
        20,
    )
    assert first["CreditNotes"] == first["Overpayments"] == first["Prepayments"] == []
    # UpdatedDateUTCString is the same moment as UpdatedDateUTC, in ISO-8601 to the second.
    moment = datetime.strptime(first["UpdatedDateUTCString"], "%Y-%m-%dT%H:%M:%S%z")
    assert int(moment.timestamp()) == int(first["UpdatedDateUTC"][6:-7]) // 1000
    paid = _get(xero, 'Invoices?where=Status=="PAID"')["Invoices"]
    assert [i["InvoiceID"] for i in paid] == [invoices[0]["InvoiceID"]]
    by_ids = _get(xero, f"Invoices?IDs={invoices[1]['InvoiceID']},{invoices[2]['InvoiceID']}")
    assert {i["InvoiceID"] for i in by_ids["Invoices"]} == {
        invoices[1]["InvoiceID"],
        invoices[2]["InvoiceID"],
    }
