"""The Dataverse Web API over HTTP (starlette TestClient): CRUD, binds, OData queries, paging,
annotations, ETags, errors as Dataverse gives them."""

from __future__ import annotations

from typing import Any

import pytest
from tests.emulators.conftest import DataverseClient
from tests.support.dataverse_fixtures import DataverseHarness

from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.dataverse.sample import sample_id

DATUM = sample_id("account", "A. Datum Corporation (sample)")
FOURTH = sample_id("account", "Fourth Coffee (sample)")
YVONNE = sample_id("contact", "Yvonne McKay (sample)")
PRICE_LIST = sample_id("pricelevel", "CRM Service: USA (sample)")
ENTERPRISE = sample_id("product", "CRM Online: Enterprise (sample)")
UNIT = sample_id("uom", "Primary Unit")


def _error(response: Any) -> tuple[str, str]:
    body = response.json()["error"]
    return body["code"], body["message"]


def _invoice(dv: DataverseClient, **extra: Any) -> str:
    return dv.create(
        "invoices",
        {
            "name": "Web invoice",
            "customerid_account@odata.bind": f"/accounts({DATUM})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST})",
            **extra,
        },
    )


# --- auth ------------------------------------------------------------------------------------


def test_no_token_is_401_with_the_authority(dataverse_app: DataverseHarness) -> None:
    response = dataverse_app.client().get("/api/data/v9.2/accounts")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=http://testserver/")
    assert "resource_id=http://testserver/" in challenge


def test_expired_and_foreign_tokens_are_401(dataverse_app: DataverseHarness) -> None:
    headers = dataverse_app.headers()
    client = dataverse_app.client()
    assert client.get("/api/data/v9.2/WhoAmI", headers=headers).status_code == 200
    dataverse_app.org.clock.advance(3600)
    expired = client.get("/api/data/v9.2/WhoAmI", headers=headers)
    assert expired.status_code == 401
    assert "error=invalid_token" in expired.headers["WWW-Authenticate"]
    other = DataverseHarness(create_app())  # another organisation's token
    foreign = other.headers()
    assert client.get("/api/data/v9.2/WhoAmI", headers=foreign).status_code == 401
    forged = headers["Authorization"][:-4] + "abcd"
    assert client.get("/api/data/v9.2/WhoAmI", headers={"Authorization": forged}).status_code == 401
    other.close()


def test_who_am_i_is_the_application_user(
    dv: DataverseClient, dataverse_app: DataverseHarness
) -> None:
    body = dv.get("WhoAmI").json()
    assert body["UserId"] == dataverse_app.org.user_id
    user = dv.get(f"systemusers({body['UserId']})?$select=fullname").json()
    assert user["fullname"] == "# d365xero-demo"
    assert dv.post("WhoAmI").status_code == 404  # a function: GET only


def test_service_document_lists_system_and_solution_tables(dv: DataverseClient) -> None:
    names = {s["name"] for s in dv.get("").json()["value"]}
    assert {
        "invoices",
        "invoicedetails",
        "accounts",
        "dxc_connections",
        "dxc_synchistories",
    } <= names


# --- create, read, update, delete --------------------------------------------------------------


def test_create_returns_204_and_the_entity_id(dv: DataverseClient) -> None:
    response = dv.post("accounts", json={"name": "Contoso Ltd"})
    assert response.status_code == 204
    uri = response.headers["OData-EntityId"]
    assert uri.startswith("http://testserver/api/data/v9.2/accounts(")
    record = dv.get(uri.split("/api/data/v9.2/")[1] + "?$select=name").json()
    assert record["name"] == "Contoso Ltd"
    assert record["@odata.etag"].startswith('W/"')


def test_create_with_return_representation_is_201_with_the_record(dv: DataverseClient) -> None:
    response = dv.post(
        "accounts?$select=name,accountnumber",
        json={"name": "Rep Ltd", "accountnumber": "R-1"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    assert "OData-EntityId" not in response.headers
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,accountnumber)/$entity")
    assert (body["name"], body["accountnumber"]) == ("Rep Ltd", "R-1")


def test_binds_through_navigation_properties_read_back_as_value(dv: DataverseClient) -> None:
    connection = dv.create("dxc_connections", {"dxc_name": "Demo connection"})
    invoice = _invoice(dv, **{"dxc_ConnectionId@odata.bind": f"/dxc_connections({connection})"})
    body = dv.get(
        f"invoices({invoice})?$select=_customerid_value,_dxc_connectionid_value,_pricelevelid_value",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert body["_customerid_value"] == DATUM
    assert body["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == (
        "customerid_account"
    )
    assert body["_customerid_value@OData.Community.Display.V1.FormattedValue"] == (
        "A. Datum Corporation (sample)"
    )
    assert body["_dxc_connectionid_value"] == connection
    contact = dv.create(
        "contacts",
        {
            "firstname": "Ann",
            "lastname": "Lee",
            "parentcustomerid_account@odata.bind": f"accounts({FOURTH})",
        },
    )
    assert dv.get(f"contacts({contact})").json()["_parentcustomerid_value"] == FOURTH
    by_contact = _invoice(dv, **{"customerid_contact@odata.bind": f"/contacts({YVONNE})"})
    assert dv.get(f"invoices({by_contact})").json()["_customerid_value"] == YVONNE


def test_bind_errors_are_dataverses(dv: DataverseClient) -> None:
    undeclared = dv.post("contacts", json={"parentcustomerid@odata.bind": f"/accounts({DATUM})"})
    assert undeclared.status_code == 400
    code, message = _error(undeclared)
    assert code == "0x80048d19" and "An undeclared property 'parentcustomerid'" in message
    logical = dv.post(
        "invoices", json={"dxc_connectionid@odata.bind": f"/dxc_connections({DATUM})"}
    )
    assert _error(logical)[0] == "0x80048d19"
    missing = dv.post(
        "contacts",
        json={
            "parentcustomerid_account@odata.bind": "/accounts(00000000-0000-0000-0000-000000000001)"
        },
    )
    assert missing.status_code == 404 and _error(missing)[0] == "0x80040217"
    value = dv.post("contacts", json={"_parentcustomerid_value": DATUM})
    assert value.status_code == 400


def test_unknown_properties_are_400_names_case_sensitive(dv: DataverseClient) -> None:
    select = dv.get("accounts?$select=Name")
    assert select.status_code == 400
    assert _error(select) == (
        "0x80060888",
        "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.",
    )
    payload = dv.post("accounts", json={"Name": "x"})
    assert payload.status_code == 400
    code, message = _error(payload)
    assert code == "0x80048d19" and "The property 'Name' does not exist" in message
    assert dv.get("accounts?$filter=Name eq 'x'").status_code == 400


def test_not_found_and_bad_requests(dv: DataverseClient) -> None:
    missing = dv.get("accounts(00000000-0000-0000-0000-000000000001)")
    assert missing.status_code == 404
    assert _error(missing) == (
        "0x80040217",
        "Entity 'account' With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist",
    )
    assert _error(dv.get("Accounts"))[0] == "0x8006088a"
    assert dv.get("Accounts").status_code == 404
    assert dv.get("accounts(not-a-guid)").status_code == 400
    assert (
        dv.post(
            "accounts", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert dv.post("accounts", json=["a"]).status_code == 400
    assert dv.post("accounts", json={"numberofemployees": "many"}).status_code == 400
    long_name = dv.post("accounts", json={"name": "x" * 161})
    assert long_name.status_code == 400 and _error(long_name)[0] == "0x80044331"
    assert dv.get("accounts?$skip=2").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "accounts?$filter=name eq",
        "accounts?$filter=(name eq 'x'",
        "accounts?$filter=name eq 'x' and",
        "accounts?$filter=unknownfunc(name,'x')",
        "accounts?$filter=name gt 5",
        "accounts?$expand=nothing",
        "accounts?$orderby=name sideways",
        "accounts?$top=-1",
        "accounts(')",
        "accounts(accountnumber='x')",
        "EntityDefinitions(LogicalName='nope')",
        "accounts/$count/extra",
        "accounts?$filter=Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[name])",
        "accounts?$filter=" + "(" * 3000 + "name eq 'x'" + ")" * 3000,
        "accounts?$filter=" + "not " * 3000 + "name eq 'x'",
        "accounts?$expand="
        + "primarycontactid($expand=" * 1000
        + "parentcustomerid_account"
        + ")" * 1000,
    ],
    ids=lambda path: path[:48],
)
def test_malformed_queries_are_4xx_never_500(dv: DataverseClient, path: str) -> None:
    response = dv.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


def test_patch_updates_and_etags_guard_it(dv: DataverseClient) -> None:
    record = dv.get(f"accounts({FOURTH})?$select=name").json()
    tag = record["@odata.etag"]
    ok = dv.patch(f"accounts({FOURTH})", json={"telephone1": "0207"}, headers={"If-Match": tag})
    assert ok.status_code == 204
    stale = dv.patch(f"accounts({FOURTH})", json={"telephone1": "0208"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert _error(stale)[0] == "0x80060882"
    fresh = dv.get(f"accounts({FOURTH})?$select=telephone1")
    assert fresh.json()["telephone1"] == "0207"
    unchanged = dv.get(
        f"accounts({FOURTH})?$select=telephone1", headers={"If-None-Match": fresh.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    shown = dv.patch(
        f"accounts({FOURTH})?$select=telephone1",
        json={"telephone1": "0209"},
        headers={"Prefer": "return=representation"},
    )
    assert shown.status_code == 200 and shown.json()["telephone1"] == "0209"


def test_patch_to_a_missing_id_upserts_unless_if_match(dv: DataverseClient) -> None:
    new_id = "6f1b2c3d-0000-4000-8000-000000000042"
    guarded = dv.patch(f"accounts({new_id})", json={"name": "Guarded"}, headers={"If-Match": "*"})
    assert guarded.status_code == 404
    created = dv.patch(f"accounts({new_id})", json={"name": "Upserted"})
    assert created.status_code == 204
    assert dv.get(f"accounts({new_id})").json()["name"] == "Upserted"
    again = dv.patch(f"accounts({new_id})", json={"name": "Nope"}, headers={"If-None-Match": "*"})
    assert again.status_code == 412


def test_delete_invoice_cascades_to_lines(dv: DataverseClient) -> None:
    invoice = _invoice(dv)
    line = dv.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice})",
            "productid@odata.bind": f"/products({ENTERPRISE})",
            "uomid@odata.bind": f"/uoms({UNIT})",
            "quantity": 2,
        },
    )
    assert dv.delete(f"invoices({invoice})").status_code == 204
    assert dv.get(f"invoicedetails({line})").status_code == 404
    assert dv.delete(f"invoices({invoice})").status_code == 404


def test_paid_invoice_answers_with_dataverses_error(dv: DataverseClient) -> None:
    invoice = _invoice(dv)
    assert (
        dv.patch(f"invoices({invoice})", json={"statecode": 2, "statuscode": 100001}).status_code
        == 204
    )
    refused = dv.patch(f"invoices({invoice})", json={"name": "late change"})
    assert refused.status_code == 400
    assert _error(refused)[0] == "0x80040233"
    mismatched = dv.patch(f"invoices({invoice})", json={"statecode": 0, "statuscode": 100001})
    assert _error(mismatched)[0] == "0x80048408"


def test_invoice_totals_over_http(dv: DataverseClient) -> None:
    invoice = _invoice(dv)
    dv.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice})",
            "productid@odata.bind": f"/products({ENTERPRISE})",
            "uomid@odata.bind": f"/uoms({UNIT})",
            "quantity": 2,
            "tax": 39.6,
        },
    )
    dv.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice})",
            "isproductoverridden": True,
            "productdescription": "Test line 1",
            "quantity": 3,
            "priceperunit": 300,
        },
    )
    body = dv.get(
        f"invoices({invoice})?$select=totallineitemamount,totaltax,totalamount",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    ).json()
    assert (body["totallineitemamount"], body["totaltax"], body["totalamount"]) == (
        1098,
        39.6,
        1137.6,
    )
    assert body["totalamount@OData.Community.Display.V1.FormattedValue"] == "£1,137.60"
    assert body["_transactioncurrencyid_value"]  # money brings its currency


# --- queries ---------------------------------------------------------------------------------


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["value"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name eq 'fourth coffee (sample)'", ["Fourth Coffee (sample)"]),
        (
            "startswith(name,'A')",
            [
                "A. Datum Corporation (sample)",
                "Adventure Works (sample)",
                "Alpine Ski House (sample)",
            ],
        ),
        ("contains(name,'inc.') and address1_city eq 'Dallas'", ["Litware, Inc. (sample)"]),
        (
            "endswith(name,'Winery (sample)') or name eq 'Fourth Coffee (sample)'",
            ["Coho Winery (sample)", "Fourth Coffee (sample)"],
        ),
        ("not (address1_stateorprovince ne 'TX')", ["Litware, Inc. (sample)"]),
        (f"_primarycontactid_value eq {YVONNE}", ["Fourth Coffee (sample)"]),
        ("primarycontactid/firstname eq 'Yvonne'", ["Fourth Coffee (sample)"]),
        ("contact_customer_accounts/any(c:c/firstname eq 'Susanna')", ["Litware, Inc. (sample)"]),
        ("accountnumber ne null", []),
        (
            "Microsoft.Dynamics.CRM.In(PropertyName='address1_city',PropertyValues=['Dallas','Renton'])",
            ["Fourth Coffee (sample)", "Litware, Inc. (sample)"],
        ),
    ],
)
def test_filter(dv: DataverseClient, query: str, expected: list[str]) -> None:
    assert (
        sorted(_names(dv.get("accounts", params={"$select": "name", "$filter": query}))) == expected
    )


def test_filter_through_customer_lookup_path(dv: DataverseClient) -> None:
    _invoice(dv, name="For Datum")
    _invoice(dv, name="For Yvonne", **{"customerid_contact@odata.bind": f"/contacts({YVONNE})"})
    found = dv.get(
        "invoices",
        params={
            "$select": "name",
            "$filter": "customerid_account/name eq 'A. Datum Corporation (sample)' "
            "and startswith(name,'For ')",
        },
    )
    assert _names(found) == ["For Datum"]


def test_orderby_and_top(dv: DataverseClient) -> None:
    names = _names(
        dv.get(
            "accounts",
            params={"$select": "name", "$orderby": "address1_city desc,name", "$top": "3"},
        )
    )
    # Santa Cruz, Renton, then the first of three in Redmond by name
    assert names == [
        "Adventure Works (sample)",
        "Fourth Coffee (sample)",
        "A. Datum Corporation (sample)",
    ]


def test_expand_single_and_collection_with_nested_options(dv: DataverseClient) -> None:
    invoice = _invoice(dv)
    for quantity in (1, 5):
        dv.create(
            "invoicedetails",
            {
                "invoiceid@odata.bind": f"/invoices({invoice})",
                "isproductoverridden": True,
                "productdescription": f"q{quantity}",
                "quantity": quantity,
            },
        )
    body = dv.get(
        f"invoices({invoice})",
        params={
            "$select": "name",
            "$expand": "customerid_account($select=name),customerid_contact($select=fullname),"
            "invoice_details($select=productdescription,quantity;$filter=quantity gt 2)",
        },
    ).json()
    assert body["customerid_account"]["name"] == "A. Datum Corporation (sample)"
    assert body["customerid_contact"] is None
    assert [d["productdescription"] for d in body["invoice_details"]] == ["q5"]
    bad = dv.get(f"invoices({invoice})", params={"$expand": "customerid_account($top=1)"})
    assert bad.status_code == 400 and "Only $select and $filter" in _error(bad)[1]
    nested = "invoice_details($orderby=quantity;$expand=productid($select=name))"
    assert dv.get(f"invoices({invoice})", params={"$expand": nested}).status_code == 400
    connector = "invoice_details($select=quantity;$expand=productid($select=productnumber,name))"
    assert dv.get(f"invoices({invoice})", params={"$expand": connector}).status_code == 200


def test_paging_with_maxpagesize_and_next_link(dv: DataverseClient) -> None:
    seen: list[str] = []
    response = dv.get("contacts?$select=fullname", headers={"Prefer": "odata.maxpagesize=3"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
    pages = 0
    while True:
        body = response.json()
        pages += 1
        seen += [r["contactid"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "$skiptoken=" in link
        response = dv.get(
            link.split("/api/data/v9.2/")[1], headers={"Prefer": "odata.maxpagesize=3"}
        )
    assert pages == 4 and len(seen) == len(set(seen)) == 10


def test_count(dv: DataverseClient) -> None:
    assert dv.get("accounts/$count").text == "10"
    body = dv.get("accounts?$select=name&$count=true&$filter=address1_state eq 'x'")
    assert body.status_code == 400
    assert dv.get("accounts?$select=name&$count=true").json()["@odata.count"] == 10
    # Every row the filter matches, whatever the page size asked for (what the failed count uses).
    page = dv.get("accounts?$select=name&$count=true", headers={"Prefer": "odata.maxpagesize=1"})
    assert page.json()["@odata.count"] == 10 and len(page.json()["value"]) == 1


def test_formatted_values_of_choices(dv: DataverseClient) -> None:
    invoice = _invoice(dv)
    body = dv.get(
        f"invoices({invoice})?$select=statecode,statuscode",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert body["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] == "New"


# --- metadata --------------------------------------------------------------------------------


def test_entity_definitions_as_the_sdks_ask(dv: DataverseClient) -> None:
    listed = dv.get(
        "EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'dxc_xerodetail'",
        },
    ).json()["value"]
    assert listed[0]["EntitySetName"] == "dxc_xerodetails"
    assert listed[0]["PrimaryIdAttribute"] == "dxc_xerodetailid"
    one = dv.get("EntityDefinitions(LogicalName='invoice')").json()
    assert (one["EntitySetName"], one["PrimaryNameAttribute"]) == ("invoices", "name")
    attrs = dv.get(f"EntityDefinitions({one['MetadataId']})/Attributes?$select=LogicalName").json()
    assert "dxc_connectionid" in {a["LogicalName"] for a in attrs["value"]}
    csdl = dv.get("$metadata")
    assert csdl.status_code == 200 and '<NavigationProperty Name="invoice_details"' in csdl.text


# --- bulk actions and alternate keys ---------------------------------------------------------


def test_create_and_update_multiple_are_all_or_nothing(dv: DataverseClient) -> None:
    action = "accounts/Microsoft.Dynamics.CRM."
    created = dv.post(
        action + "CreateMultiple",
        json={
            "Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": n} for n in "AB"]
        },
    )
    assert created.status_code == 200
    ids = created.json()["Ids"]
    assert len(ids) == 2
    updated = dv.post(
        action + "UpdateMultiple",
        json={"Targets": [{"accountid": i, "telephone1": "9"} for i in ids]},
    )
    assert updated.status_code == 204
    assert {dv.get(f"accounts({i})").json()["telephone1"] for i in ids} == {"9"}
    failed = dv.post(
        action + "CreateMultiple",
        json={"Targets": [{"name": "C"}, {"name": "D", "nmae": "typo"}]},
    )
    assert failed.status_code == 400
    assert not dv.get("accounts?$filter=name eq 'C'").json()["value"]
    wrong_type = dv.post(
        action + "CreateMultiple",
        json={"Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.contact", "name": "E"}]},
    )
    assert wrong_type.status_code == 400
    assert dv.post(action + "DeleteEverything", json={}).status_code == 404


def test_upsert_by_alternate_key_needs_the_key_defined(dv: DataverseClient) -> None:
    undefined = dv.patch("accounts(accountnumber='K-1')", json={"name": "Keyed"})
    assert undefined.status_code == 400
    key = dv.post(
        "EntityDefinitions(LogicalName='account')/Keys",
        json={"SchemaName": "dxc_accountnumber", "KeyAttributes": ["accountnumber"]},
    )
    assert key.status_code == 204
    keys = dv.get("EntityDefinitions(LogicalName='account')/Keys").json()["value"]
    assert keys[0]["KeyAttributes"] == ["accountnumber"]
    assert dv.patch("accounts(accountnumber='K-1')", json={"name": "Keyed"}).status_code == 204
    record = dv.get("accounts(accountnumber='K-1')?$select=name,accountnumber").json()
    assert (record["name"], record["accountnumber"]) == ("Keyed", "K-1")
    results = dv.post(
        "accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                {"@odata.id": "accounts(accountnumber='K-1')", "name": "Keyed again"},
                {"@odata.id": "accounts(accountnumber='K-2')", "name": "Keyed two"},
            ]
        },
    ).json()["Results"]
    assert [r["RecordCreated"] for r in results] == [False, True]
    assert dv.get("accounts(accountnumber='K-1')").json()["name"] == "Keyed again"


def test_deep_insert_of_an_invoice_with_its_lines(dv: DataverseClient) -> None:
    response = dv.post(
        "invoices?$select=name,totalamount&$expand=invoice_details($select=productdescription)",
        json={
            "name": "Deep",
            "customerid_account@odata.bind": f"/accounts({DATUM})",
            "invoice_details": [
                {
                    "isproductoverridden": True,
                    "productdescription": "One",
                    "quantity": 1,
                    "priceperunit": 5,
                },
                {
                    "isproductoverridden": True,
                    "productdescription": "Two",
                    "quantity": 2,
                    "priceperunit": 5,
                },
            ],
        },
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["totalamount"] == 15
    assert sorted(d["productdescription"] for d in body["invoice_details"]) == ["One", "Two"]


def test_single_property_and_ref_operations(dv: DataverseClient) -> None:
    contact = sample_id("contact", "Yvonne McKay (sample)")
    assert dv.get(f"accounts({FOURTH})/name").json()["value"] == "Fourth Coffee (sample)"
    assert (
        dv.request("PUT", f"accounts({FOURTH})/telephone1", json={"value": "0113"}).status_code
        == 204
    )
    assert dv.get(f"accounts({FOURTH})/telephone1").json()["value"] == "0113"
    assert dv.delete(f"accounts({FOURTH})/telephone1").status_code == 204
    assert dv.get(f"accounts({FOURTH})/telephone1").status_code == 204  # null: no content
    assert dv.delete(f"accounts({FOURTH})/primarycontactid/$ref").status_code == 204
    assert dv.get(f"accounts({FOURTH})").json()["_primarycontactid_value"] is None
    associate = dv.request(
        "PUT",
        f"accounts({FOURTH})/primarycontactid/$ref",
        json={"@odata.id": f"http://testserver/api/data/v9.2/contacts({contact})"},
    )
    assert associate.status_code == 204
    assert dv.get(f"accounts({FOURTH})/primarycontactid?$select=fullname").json()["fullname"] == (
        "Yvonne McKay (sample)"
    )
    assert dv.get(f"accounts({FOURTH})/contact_customer_accounts?$select=fullname").json()["value"]


def test_parameter_aliases_in_filter(dv: DataverseClient) -> None:
    found = dv.get(
        "accounts",
        params={"$select": "name", "$filter": "address1_city eq @city", "@city": "'Dallas'"},
    )
    assert _names(found) == ["Litware, Inc. (sample)"]


def test_urls_longer_than_dataverse_allows_are_refused(dv: DataverseClient) -> None:
    names = " or ".join(f"name eq 'Company {n:05d}'" for n in range(1500))  # ~36,000 characters
    response = dv.get("accounts", params={"$select": "name", "$filter": names})
    assert response.status_code == 414
    assert "32,768" in response.json()["error"]["message"]
    short = " or ".join(f"name eq 'Company {n:05d}'" for n in range(500))
    assert dv.get("accounts", params={"$select": "name", "$filter": short}).status_code == 200
