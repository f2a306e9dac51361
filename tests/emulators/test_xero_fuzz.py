"""Whatever the body of a write, the Xero emulator answers like Xero (200 or 400 with Xero's
shapes, valid against the spec), never a 500."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.xero_fixtures import API, build_harness

FIELDS = [
    "Type",
    "Contact",
    "LineItems",
    "Date",
    "DueDate",
    "Status",
    "LineAmountTypes",
    "InvoiceNumber",
    "Reference",
    "CurrencyCode",
    "CurrencyRate",
    "BrandingThemeID",
    "InvoiceID",
    "Quantity",
    "UnitAmount",
    "AccountCode",
    "TaxType",
    "ItemCode",
    "DiscountRate",
    "Description",
    "Name",
    "ContactID",
    "Tracking",
    "Amount",
    "Code",
    "SalesDetails",
    "PurchaseDetails",
    "UnitPrice",
    "Invoice",
    "Account",
    "EmailAddress",
    "ContactStatus",
    "IsSold",
    "ContactNumber",
    "Option",
    "BankAccount",
    "LineAmount",
    "Overpayment",
    "Prepayment",
    "CreditNote",
    "OverpaymentID",
    "PrepaymentID",
    "InvoiceID",
    "IsReconciled",
]
COLLECTIONS = ["Invoices", "CreditNotes", "Contacts", "Items", "Payments", "BankTransactions"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "ACCREC",
            "ACCPAY",
            "AUTHORISED",
            "DRAFT",
            "PAID",
            "200",
            "OUTPUT2",
            "Exclusive",
            "2026-02-30",
            "/Date(1700000000000)/",
            "\u0000\ud7ff\U0001f600",
            "1e400",
            "NaN",
            "-Infinity",
            "99999999999999.99",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
    ),
    max_leaves=12,
)
elements = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)
LINE_FIELDS = [
    "Description",
    "Quantity",
    "UnitAmount",
    "LineAmount",
    "DiscountRate",
    "DiscountAmount",
    "AccountCode",
    "TaxType",
    "ItemCode",
    "TaxAmount",
    "Tracking",
]
# Shaped like a real write, so the deeper rules (lines, totals, payments) are reached too.
shaped = st.fixed_dictionaries(
    {
        "Type": st.sampled_from(
            [
                "ACCREC",
                "ACCPAY",
                "ACCRECCREDIT",
                "ACCPAYCREDIT",
                "RECEIVE",
                "SPEND",
                "RECEIVE-OVERPAYMENT",
                "SPEND-PREPAYMENT",
            ]
        ),
        "Contact": st.fixed_dictionaries({"Name": st.sampled_from(["Bayside Club", "New"])}),
        "Status": st.one_of(
            st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]),
            scalars,
        ),
        "InvoiceNumber": st.sampled_from(["INV-0001", "INV-0002", "X"]),
        "CreditNoteNumber": st.sampled_from(["CN-0001", "X"]),
        "LineAmountTypes": st.sampled_from(["Exclusive", "Inclusive", "NoTax", "bogus"]),
        "LineItems": st.lists(st.dictionaries(st.sampled_from(LINE_FIELDS), scalars), max_size=3),
        "Invoice": st.fixed_dictionaries({"InvoiceNumber": st.just("INV-0001")}),
        "Account": st.fixed_dictionaries({"Code": st.sampled_from(["090", "200"])}),
        "BankAccount": st.fixed_dictionaries({"Code": st.sampled_from(["090", "200", "x"])}),
        "CurrencyCode": st.sampled_from(["GBP", "USD", "JPY"]),
        "CurrencyRate": scalars,
        "Amount": scalars,
        "Code": st.text(max_size=40),
        "Name": st.text(max_size=300),
        "SalesDetails": st.dictionaries(
            st.sampled_from(["UnitPrice", "AccountCode", "TaxType"]), scalars
        ),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    collection=st.sampled_from(COLLECTIONS),
    body=st.one_of(st.lists(st.one_of(elements, shaped), max_size=3), elements, shaped, values),
)
def test_any_body_gets_a_xero_answer(collection: str, body: Any) -> None:
    harness = build_harness()
    harness.emulator.seed()
    client, headers = harness.client(), harness.headers()
    payload = {collection: body} if isinstance(body, list) else body
    with harness.validator.allowing_invalid_requests():
        for method in ("PUT", "POST"):
            url = f"{API}/{collection}"
            response = client.request(method, url, headers=headers, json=payload)
            assert response.status_code in (200, 400), response.text
            assert response.headers["content-type"].startswith("application/json")
    harness.check()


WHERE_PARTS = st.sampled_from(
    [
        'Name=="A"',
        "Status",
        "==",
        "!=",
        ">=",
        "AND",
        "OR",
        "NOT",
        "(",
        ")",
        "Guid(",
        "DateTime(",
        "2026,",
        "99999999999999999999",
        ")",
        '"x"',
        ".Contains(",
        "Total",
        "Contact.ContactID",
        "true",
        "null",
        ",",
        "&&",
        "||",
        "!",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    collection=st.sampled_from(
        [
            "Invoices",
            "Contacts",
            "Items",
            "Payments",
            "CreditNotes",
            "Accounts",
            "TaxRates",
            "BankTransactions",
            "Overpayments",
            "Prepayments",
        ]
    ),
    where=st.one_of(
        st.text(max_size=30), st.lists(WHERE_PARTS, max_size=12).map("".join), st.just("(" * 3000)
    ),
    order=st.one_of(
        st.none(), st.text(max_size=20), st.sampled_from(["Name DESC", "Total", "Contact ASC"])
    ),
    page=st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 10**20)),
)
def test_any_query_gets_a_xero_answer(
    collection: str, where: str, order: str | None, page: object
) -> None:
    harness = build_harness()
    harness.emulator.seed()
    client, headers = harness.client(), harness.headers()
    params: dict[str, Any] = {"where": where}
    if order is not None:
        params["order"] = order
    if page is not None:
        params["page"] = page
        params["pageSize"] = page
    with harness.validator.allowing_invalid_requests():
        response = client.get(f"{API}/{collection}", headers=headers, params=params)
    assert response.status_code in (200, 400), response.text
    harness.check()


ALLOCATION_FIELDS = ["Invoice", "Amount", "Date", "InvoiceID", "InvoiceNumber", "AllocationID"]
allocations = st.one_of(
    st.dictionaries(st.sampled_from(ALLOCATION_FIELDS), values, max_size=4),
    st.fixed_dictionaries(
        {
            "Invoice": st.fixed_dictionaries(
                {"InvoiceNumber": st.sampled_from(["INV-0001", "INV-0002", "INV-0003", "X"])}
            ),
            "Amount": scalars,
            "Date": st.sampled_from(["2026-11-25", "bogus"]),
        }
    ),
)


def _credits(client: Any, headers: dict[str, str]) -> dict[str, str]:
    """A credit note, an overpayment and a prepayment of a seeded customer, by collection."""
    contact = {"Name": "Bayside Club"}
    line = {"Description": "x", "Quantity": 1, "UnitAmount": 50, "AccountCode": "200"}
    note = {"Type": "ACCRECCREDIT", "Contact": contact, "Status": "AUTHORISED", "LineItems": [line]}
    made = client.put(f"{API}/CreditNotes", headers=headers, json=note).json()
    ids = {"CreditNotes": made["CreditNotes"][0]["CreditNoteID"]}
    for collection, type_, key in (
        ("Overpayments", "RECEIVE-OVERPAYMENT", "OverpaymentID"),
        ("Prepayments", "RECEIVE-PREPAYMENT", "PrepaymentID"),
    ):
        body = {
            "Type": type_,
            "Contact": contact,
            "BankAccount": {"Code": "090"},
            "LineItems": [line],
        }
        answer = client.put(f"{API}/BankTransactions", headers=headers, json=body).json()
        ids[collection] = answer["BankTransactions"][0][key]
    return ids


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    collection=st.sampled_from(["CreditNotes", "Overpayments", "Prepayments"]),
    body=st.one_of(st.lists(allocations, max_size=3), allocations, values),
)
def test_any_allocation_gets_a_xero_answer(collection: str, body: Any) -> None:
    harness = build_harness()
    harness.emulator.seed()
    client, headers = harness.client(), harness.headers()
    credit_id = _credits(client, headers)[collection]
    payload = {"Allocations": body} if isinstance(body, list) else body
    with harness.validator.allowing_invalid_requests():
        url = f"{API}/{collection}/{credit_id}/Allocations"
        response = client.put(url, headers=headers, json=payload)
    assert response.status_code in (200, 400), response.text
    assert response.headers["content-type"].startswith("application/json")
    harness.check()
