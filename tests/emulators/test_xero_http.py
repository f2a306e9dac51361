"""The Xero emulator over HTTP, every exchange validated against Xero's OpenAPI files."""

from __future__ import annotations

import base64
from typing import Any

from starlette.testclient import TestClient
from tests.support.xero_fixtures import API, CLIENT_ID, CLIENT_SECRET, TENANT_ID, XeroHarness

from d365xero.emulators.xero import refdata

Client = tuple[TestClient, dict[str, str]]


def _invoice(**fields: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"Name": "Contoso Ltd"},
        "LineItems": [
            {"Description": "Consulting", "Quantity": 3, "UnitAmount": 300, "AccountCode": "200"},
            {
                "Description": "Books",
                "Quantity": 2,
                "UnitAmount": 99,
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            },
        ],
    }
    invoice.update(fields)
    return invoice


# --- identity ----------------------------------------------------------------------------------


def test_client_credentials_token_by_form_body(xero_app: XeroHarness) -> None:
    response = xero_app.client().post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    assert "accounting.invoices" in body["scope"].split()


def test_client_credentials_token_by_basic_auth(xero_app: XeroHarness) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = xero_app.client().post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


def test_wrong_client_secret_is_invalid_client(xero_app: XeroHarness) -> None:
    response = xero_app.client().post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client"}


def test_connections_list_the_demo_company(xero: Client) -> None:
    client, headers = xero
    response = client.get("/Connections", headers={"Authorization": headers["Authorization"]})
    assert response.status_code == 200
    [connection] = response.json()
    assert connection["tenantId"] == TENANT_ID
    assert connection["tenantName"] == "Demo Company (UK)"
    assert connection["tenantType"] == "ORGANISATION"


def test_missing_bearer_token_is_401_problem_details(xero: Client) -> None:
    client, _headers = xero
    response = client.get(f"{API}/Organisation", headers={"xero-tenant-id": TENANT_ID})
    assert response.status_code == 401
    assert response.json()["Title"] == "Unauthorized"


def test_missing_or_foreign_tenant_is_403_authentication_unsuccessful(
    xero_app: XeroHarness,
) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    no_tenant = {k: v for k, v in headers.items() if k != "xero-tenant-id"}
    foreign = dict(headers, **{"xero-tenant-id": refdata.SECOND_TENANT_ID})
    with xero_app.validator.allowing_invalid_requests():  # the spec requires the header
        with_tenant_missing = client.get(f"{API}/Organisation", headers=no_tenant)
    with_foreign = client.get(f"{API}/Organisation", headers=foreign)
    for response in (with_tenant_missing, with_foreign):
        assert response.status_code == 403
        body = response.json()
        assert (body["Title"], body["Status"], body["Detail"]) == (
            "Forbidden",
            403,
            "AuthenticationUnsuccessful",
        )


def test_expired_token_is_401_token_expired(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    xero_app.emulator.clock.advance(1801)
    response = client.get(f"{API}/Organisation", headers=headers)
    assert response.status_code == 401
    assert response.json()["Detail"].startswith("TokenExpired")


# --- settings ----------------------------------------------------------------------------------


def test_organisation_envelope(xero: Client) -> None:
    client, headers = xero
    body = client.get(f"{API}/Organisation", headers=headers).json()
    assert body["Status"] == "OK"
    assert body["DateTimeUTC"].startswith("/Date(")
    [org] = body["Organisations"]
    assert (org["Name"], org["BaseCurrency"], org["ShortCode"]) == (
        "Demo Company (UK)",
        "GBP",
        "!aB1cD",
    )


def test_uk_tax_rates_and_where_filter(xero: Client) -> None:
    client, headers = xero
    rates = client.get(f"{API}/TaxRates", headers=headers).json()["TaxRates"]
    by_type = {r["TaxType"]: r for r in rates}
    assert by_type["OUTPUT2"]["Name"] == "20% (VAT on Income)"
    assert by_type["OUTPUT2"]["EffectiveRate"] == 20
    assert by_type["INPUT2"]["Name"] == "20% (VAT on Expenses)"
    assert by_type["RRINPUT"]["EffectiveRate"] == 5
    assert {"ZERORATEDOUTPUT", "ZERORATEDINPUT", "EXEMPTOUTPUT", "EXEMPTINPUT", "NONE"} <= set(
        by_type
    )
    filtered = client.get(
        f"{API}/TaxRates", headers=headers, params={"where": 'TaxType=="INPUT2"'}
    ).json()["TaxRates"]
    assert [r["TaxType"] for r in filtered] == ["INPUT2"]


def test_chart_of_accounts(xero: Client) -> None:
    client, headers = xero
    accounts = client.get(f"{API}/Accounts", headers=headers).json()["Accounts"]
    by_code = {a["Code"]: a for a in accounts}
    assert {"090", "091", "200", "260", "310", "400", "429", "610", "800", "820"} <= set(by_code)
    assert (by_code["200"]["Type"], by_code["200"]["TaxType"]) == ("REVENUE", "OUTPUT2")
    assert by_code["429"]["TaxType"] == "INPUT2"
    assert by_code["090"]["Type"] == "BANK"
    assert by_code["610"]["SystemAccount"] == "DEBTORS"


def test_branding_themes_and_currencies_grow_with_seed(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    themes = client.get(f"{API}/BrandingThemes", headers=headers).json()["BrandingThemes"]
    assert [t["Name"] for t in themes] == ["Standard"]
    xero_app.emulator.seed()
    themes = client.get(f"{API}/BrandingThemes", headers=headers).json()["BrandingThemes"]
    assert [t["Name"] for t in themes] == ["Standard", "Very orange invoice!"]
    currencies = client.get(f"{API}/Currencies", headers=headers).json()["Currencies"]
    assert [c["Code"] for c in currencies] == ["GBP", "USD", "EUR"]


# --- invoices ----------------------------------------------------------------------------------


def test_worked_example_totals(xero: Client) -> None:
    client, headers = xero
    response = client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [_invoice()]})
    assert response.status_code == 200, response.text
    [invoice] = response.json()["Invoices"]
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (1098.0, 219.6, 1317.6)
    assert invoice["AmountDue"] == 1317.6
    assert invoice["AmountPaid"] == 0
    assert invoice["InvoiceNumber"] == "INV-0001"
    assert invoice["Status"] == "DRAFT"
    assert invoice["Contact"]["Name"] == "Contoso Ltd"


def _put(client: TestClient, headers: dict[str, str], *invoices: dict[str, Any], **params: str):
    return client.put(
        f"{API}/Invoices", headers=headers, json={"Invoices": list(invoices)}, params=params
    )


def test_invoice_numbers_are_automatic_and_unique_for_accrec(xero: Client) -> None:
    client, headers = xero
    first = _put(client, headers, _invoice()).json()["Invoices"][0]
    second = _put(client, headers, _invoice()).json()["Invoices"][0]
    assert (first["InvoiceNumber"], second["InvoiceNumber"]) == ("INV-0001", "INV-0002")
    response = _put(client, headers, _invoice(InvoiceNumber="INV-0001"))
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    [element] = body["Elements"]
    assert element["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    # ACCPAY numbers are the supplier's and need not be unique.
    bill = _invoice(
        Type="ACCPAY",
        InvoiceNumber="SUP-1",
        LineItems=[{"Description": "Paper", "Quantity": 1, "UnitAmount": 10, "AccountCode": "429"}],
    )
    assert _put(client, headers, bill).status_code == 200
    assert _put(client, headers, bill).status_code == 200


def test_batch_summarize_errors_true_commits_the_valid_ones(xero: Client) -> None:
    client, headers = xero
    bad = _invoice(
        LineItems=[{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"}]
    )
    response = _put(client, headers, _invoice(Reference="good"), bad)
    assert response.status_code == 400
    [element] = response.json()["Elements"]
    assert element["ValidationErrors"] == [
        {"Message": "Account code '999' is not a valid code for this document."}
    ]
    listed = client.get(f"{API}/Invoices", headers=headers).json()["Invoices"]
    assert [i.get("Reference") for i in listed] == ["good"]


def test_batch_summarize_errors_false_reports_each_element(xero: Client) -> None:
    client, headers = xero
    bad = _invoice(
        LineItems=[
            {
                "Description": "x",
                "Quantity": 1,
                "UnitAmount": 5,
                "TaxType": "BOGUS",
                "AccountCode": "200",
            }
        ]
    )
    response = _put(client, headers, _invoice(), bad, _invoice(), summarizeErrors="False")
    assert response.status_code == 200
    results = response.json()["Invoices"]
    assert [r["StatusAttributeString"] for r in results] == ["OK", "ERROR", "OK"]
    assert results[1]["HasErrors"] is True
    assert results[1]["ValidationErrors"] == [{"Message": "The TaxType code 'BOGUS' is not valid"}]
    assert results[1]["InvoiceID"] == "00000000-0000-0000-0000-000000000000"
    assert results[2]["InvoiceNumber"] == "INV-0002"


def test_description_only_line_and_item_defaults(xero_app: XeroHarness) -> None:
    xero_app.emulator.seed()
    client, headers = xero_app.client(), xero_app.headers()
    invoice = _invoice(
        LineItems=[
            {"Description": "Thank you for your business"},
            {"ItemCode": "DevD", "Quantity": 2},
        ]
    )
    [created] = _put(client, headers, invoice).json()["Invoices"]
    note, item_line = created["LineItems"]
    assert note["Description"] == "Thank you for your business"
    assert (note["LineAmount"], note["TaxAmount"]) == (0, 0)
    assert item_line["Description"] == "Development work - developer onsite per day"
    assert (item_line["UnitAmount"], item_line["AccountCode"], item_line["TaxType"]) == (
        500.0,
        "200",
        "OUTPUT2",
    )
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (1000, 200, 1200)


def test_inclusive_and_no_tax_amounts(xero: Client) -> None:
    client, headers = xero
    line = {"Description": "Widget", "Quantity": 1, "UnitAmount": 120, "AccountCode": "200"}
    inclusive = _put(client, headers, _invoice(LineAmountTypes="Inclusive", LineItems=[line]))
    [inv] = inclusive.json()["Invoices"]
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (100, 20, 120)
    no_tax = _put(client, headers, _invoice(LineAmountTypes="NoTax", LineItems=[line]))
    [inv] = no_tax.json()["Invoices"]
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (120, 0, 120)


def test_statuses_on_create(xero: Client) -> None:
    client, headers = xero
    for status in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        [inv] = _put(client, headers, _invoice(Status=status)).json()["Invoices"]
        assert inv["Status"] == status
    response = _put(client, headers, _invoice(Status="PAID"))
    assert response.status_code == 400


def test_contact_by_id_and_unknown_name_creates_contact(xero: Client) -> None:
    client, headers = xero
    [contact] = client.put(
        f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Fabrikam"}]}
    ).json()["Contacts"]
    [inv] = _put(client, headers, _invoice(Contact={"ContactID": contact["ContactID"]})).json()[
        "Invoices"
    ]
    assert inv["Contact"]["ContactID"] == contact["ContactID"]
    [inv] = _put(client, headers, _invoice(Contact={"Name": "Brand New Ltd"})).json()["Invoices"]
    found = client.get(
        f"{API}/Contacts", headers=headers, params={"where": 'Name=="Brand New Ltd"'}
    ).json()["Contacts"]
    assert [c["ContactID"] for c in found] == [inv["Contact"]["ContactID"]]
    assert found[0]["IsCustomer"] is True


def test_get_invoice_by_id_and_filters_and_paging(xero: Client) -> None:
    client, headers = xero
    ids = [
        _put(client, headers, _invoice(Status=s)).json()["Invoices"][0]["InvoiceID"]
        for s in ("DRAFT", "AUTHORISED", "AUTHORISED")
    ]
    one = client.get(f"{API}/Invoices/{ids[0]}", headers=headers).json()["Invoices"][0]
    assert one["InvoiceID"] == ids[0] and len(one["LineItems"]) == 2
    unpaged = client.get(f"{API}/Invoices", headers=headers).json()
    assert "pagination" not in unpaged and unpaged["Invoices"][0]["LineItems"] == []
    by_status = client.get(f"{API}/Invoices", headers=headers, params={"Statuses": "AUTHORISED"})
    assert [i["InvoiceID"] for i in by_status.json()["Invoices"]] == ids[1:]
    by_ids = client.get(f"{API}/Invoices", headers=headers, params={"IDs": ",".join(ids[:2])})
    assert [i["InvoiceID"] for i in by_ids.json()["Invoices"]] == ids[:2]
    by_number = client.get(
        f"{API}/Invoices", headers=headers, params={"InvoiceNumbers": "INV-0003"}
    )
    assert [i["InvoiceID"] for i in by_number.json()["Invoices"]] == ids[2:]
    where = client.get(
        f"{API}/Invoices", headers=headers, params={"where": 'Status=="DRAFT" AND Type=="ACCREC"'}
    )
    assert [i["InvoiceID"] for i in where.json()["Invoices"]] == ids[:1]
    page = client.get(f"{API}/Invoices", headers=headers, params={"page": 2, "pageSize": 2})
    body = page.json()
    assert body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert [i["InvoiceID"] for i in body["Invoices"]] == ids[2:]
    assert len(body["Invoices"][0]["LineItems"]) == 2


def test_unknown_invoice_is_404_plain_text(xero: Client) -> None:
    client, headers = xero
    response = client.get(f"{API}/Invoices/5b0ae2a5-0c36-4f34-bd4a-9b4d5f8d2b11", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "The resource you're looking for cannot be found"


def test_online_invoice_for_authorised_sales_invoice(xero: Client) -> None:
    client, headers = xero
    [inv] = _put(client, headers, _invoice(Status="AUTHORISED")).json()["Invoices"]
    response = client.get(f"{API}/Invoices/{inv['InvoiceID']}/OnlineInvoice", headers=headers)
    assert response.status_code == 200
    [online] = response.json()["OnlineInvoices"]
    page = client.get(online["OnlineInvoiceUrl"])
    assert page.status_code == 200 and "INV-0001" in page.text


def test_post_updates_a_draft_and_recomputes(xero: Client) -> None:
    client, headers = xero
    [inv] = _put(client, headers, _invoice()).json()["Invoices"]
    update = {
        "InvoiceID": inv["InvoiceID"],
        "Reference": "PO-42",
        "LineItems": [
            {"Description": "One", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}
        ],
    }
    response = client.post(f"{API}/Invoices", headers=headers, json={"Invoices": [update]})
    assert response.status_code == 200, response.text
    [updated] = response.json()["Invoices"]
    assert updated["Reference"] == "PO-42"
    assert (updated["Total"], updated["InvoiceNumber"]) == (12, "INV-0001")


def test_malformed_json_is_400_never_500(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    with xero_app.validator.allowing_invalid_requests():
        for body in (b"{not json", b"[1, 2", "\udcff".encode("utf-8", "surrogatepass"), b"42"):
            response = client.put(
                f"{API}/Invoices",
                headers=dict(headers, **{"Content-Type": "application/json"}),
                content=body,
            )
            assert response.status_code == 400, body
            assert response.json()["Type"] == "PostDataInvalidException"
        odd = client.put(
            f"{API}/Invoices",
            headers=headers,
            json={
                "Invoices": [
                    {
                        "Type": 7,
                        "Contact": "x",
                        "LineItems": [{"Quantity": "lots"}],
                        "Date": "tomorrow",
                    },
                    "not an object",
                ]
            },
        )
    assert odd.status_code == 400
    assert len(odd.json()["Elements"]) == 2


# --- contacts and items ------------------------------------------------------------------------


def test_contact_names_are_unique(xero: Client) -> None:
    client, headers = xero
    first = client.put(f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Acme"}]})
    assert first.status_code == 200
    again = client.put(f"{API}/Contacts", headers=headers, json={"Contacts": [{"Name": "Acme"}]})
    assert again.status_code == 400
    [element] = again.json()["Elements"]
    assert element["ValidationErrors"][0]["Message"] == (
        "The contact name Acme is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    # POST finds the contact by name and updates it instead.
    post = client.post(
        f"{API}/Contacts",
        headers=headers,
        json={"Contacts": [{"Name": "Acme", "EmailAddress": "a@acme.example"}]},
    )
    [updated] = post.json()["Contacts"]
    assert updated["ContactID"] == first.json()["Contacts"][0]["ContactID"]
    assert updated["EmailAddress"] == "a@acme.example"
    by_id = client.get(f"{API}/Contacts/{updated['ContactID']}", headers=headers)
    assert by_id.json()["Contacts"][0]["EmailAddress"] == "a@acme.example"
    ids = client.get(f"{API}/Contacts", headers=headers, params={"IDs": updated["ContactID"]})
    assert len(ids.json()["Contacts"]) == 1


def test_contact_email_must_be_valid(xero: Client) -> None:
    client, headers = xero
    response = client.put(
        f"{API}/Contacts",
        headers=headers,
        json={"Contacts": [{"Name": "X", "EmailAddress": "nope"}]},
    )
    assert response.status_code == 400
    assert response.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Email address must be valid."}
    ]


def test_items_unique_code_and_where(xero: Client) -> None:
    client, headers = xero
    item = {
        "Code": "WIDGET",
        "Name": "Widget",
        "SalesDetails": {"UnitPrice": 12.5, "AccountCode": "200", "TaxType": "OUTPUT2"},
    }
    created = client.put(f"{API}/Items", headers=headers, json={"Items": [item]})
    assert created.status_code == 200, created.text
    again = client.put(f"{API}/Items", headers=headers, json={"Items": [item]})
    assert again.status_code == 400
    post = client.post(
        f"{API}/Items", headers=headers, json={"Items": [{"Code": "WIDGET", "Name": "Widget v2"}]}
    )
    assert post.json()["Items"][0]["Name"] == "Widget v2"
    found = client.get(f"{API}/Items", headers=headers, params={"where": 'Code=="WIDGET"'})
    [widget] = found.json()["Items"]
    assert widget["SalesDetails"]["UnitPrice"] == 12.5


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    headers = xero_app.headers(**{"Idempotency-Key": "sync-42"})
    first = _put(client, headers, _invoice())
    second = _put(client, headers, _invoice())
    assert second.status_code == 200
    assert second.json() == first.json()
    listed = client.get(f"{API}/Invoices", headers=xero_app.headers()).json()["Invoices"]
    assert len(listed) == 1
    different = _put(client, headers, _invoice(Reference="other"))
    assert different.status_code == 400
    assert (
        different.json()["Message"] == "Idempotency Key: sync-42 is used with a different request."
    )
    xero_app.emulator.clock.advance(6 * 60 + 1)
    headers = xero_app.headers(**{"Idempotency-Key": "sync-42"})  # a fresh token: time moved
    third = _put(client, headers, _invoice())
    assert third.json()["Invoices"][0]["InvoiceNumber"] == "INV-0002"


def test_control_plane_reset_and_calls(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    headers = xero_app.headers()
    client.get(f"{API}/Organisation", headers=headers)
    calls = client.get("/_emulator/calls").json()
    assert calls[f"GET {API}/Organisation"] == 1
    assert client.post("/_emulator/seed").json()["items"] == 3
    assert client.post("/_emulator/reset").status_code == 204
    assert client.get(f"{API}/Items", headers=xero_app.headers()).json()["Items"] == []


def test_tracking_categories_and_line_tracking(xero: Client) -> None:
    client, headers = xero
    [region] = client.get(f"{API}/TrackingCategories", headers=headers).json()["TrackingCategories"]
    assert region["Name"] == "Region"
    assert "North" in [o["Name"] for o in region["Options"]]
    tracked = _invoice(
        LineItems=[
            {
                "Description": "x",
                "Quantity": 1,
                "UnitAmount": 5,
                "AccountCode": "200",
                "Tracking": [{"Name": "Region", "Option": "North"}],
            }
        ]
    )
    [inv] = _put(client, headers, tracked).json()["Invoices"]
    [tracking] = inv["LineItems"][0]["Tracking"]
    assert (tracking["Name"], tracking["Option"]) == ("Region", "North")
    assert tracking["TrackingCategoryID"] == region["TrackingCategoryID"]
    bad = _invoice(
        LineItems=[
            {
                "Description": "x",
                "Quantity": 1,
                "UnitAmount": 5,
                "AccountCode": "200",
                "Tracking": [{"Name": "Region", "Option": "Moon"}],
            }
        ]
    )
    assert _put(client, headers, bad).status_code == 400


def test_xml_only_clients_are_told_json_only(xero: Client) -> None:
    client, headers = xero
    response = client.get(f"{API}/Organisation", headers=dict(headers, Accept="application/xml"))
    assert response.status_code == 406


def test_body_over_xero_limit_is_413(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    huge = b'{"Invoices": [' + b'{"Reference": "' + b"x" * 3_600_000 + b'"}]}'
    with xero_app.validator.allowing_invalid_requests():
        response = client.put(
            f"{API}/Invoices",
            headers=dict(headers, **{"Content-Type": "application/json"}),
            content=huge,
        )
    assert response.status_code == 413
