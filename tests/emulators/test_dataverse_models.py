"""The Dataverse organisation's rules, in-process: Dynamics Sales pricing and totals, the invoice
state model, cascade, concurrency, all-or-nothing transactions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from d365xero.emulators.dataverse import errors
from d365xero.emulators.dataverse.models import Organisation, Ref
from d365xero.emulators.dataverse.sample import sample_id


@pytest.fixture
def org() -> Organisation:
    org = Organisation()
    org.seed()
    return org


def _ref(entity: str, name: str) -> Ref:
    return Ref(entity, sample_id(entity, name))


def _invoice(org: Organisation, **extra: object) -> str:
    values = {
        "name": "Test invoice",
        "customerid": _ref("account", "A. Datum Corporation (sample)"),
        "pricelevelid": _ref("pricelevel", "CRM Service: USA (sample)"),
        **extra,
    }
    return org.create("invoice", values)


def _line(org: Organisation, invoice_id: str, **values: object) -> str:
    return org.create("invoicedetail", {"invoiceid": Ref("invoice", invoice_id), **values})


def test_a_bare_organisation_has_only_reference_data() -> None:
    org = Organisation()
    assert [r["isocurrencycode"] for r in org.rows("transactioncurrency")] == ["GBP"]
    assert [r["name"] for r in org.rows("uom")] == ["Primary Unit"]
    assert org.rows("account") == [] and org.rows("product") == []


def test_seed_loads_a_sales_trial_and_is_idempotent(org: Organisation) -> None:
    names = {r["name"] for r in org.rows("account")}
    assert {
        "A. Datum Corporation (sample)",
        "Fourth Coffee (sample)",
        "Litware, Inc. (sample)",
    } <= names
    assert {r["isocurrencycode"] for r in org.rows("transactioncurrency")} == {"GBP", "USD", "EUR"}
    assert all(r["productnumber"] for r in org.rows("product"))
    before = {name: len(rows) for name, rows in org.tables.items()}
    org.seed()
    assert {name: len(rows) for name, rows in org.tables.items()} == before


def test_seed_has_invoices_in_every_state(org: Organisation) -> None:
    states = {(r["statecode"], r["statuscode"]) for r in org.rows("invoice")}
    assert states == {(0, 1), (0, 4), (2, 100001), (2, 100002), (3, 100003)}
    paid = next(r for r in org.rows("invoice") if r["statuscode"] == 100001)
    assert paid["totalamount"] == Decimal("3420.00")  # 3 days at 950.00 + 570.00 tax
    assert all(r.get("dxc_connectionid") is None for r in org.rows("invoice"))


def test_new_invoice_is_active_new_with_a_number_and_the_price_list_currency(
    org: Organisation,
) -> None:
    invoice = org.get("invoice", _invoice(org, statecode=2))
    assert (invoice["statecode"], invoice["statuscode"]) == (0, 1)  # statecode not valid for create
    assert invoice["invoicenumber"].startswith("INV-0")
    gbp = next(r for r in org.rows("transactioncurrency") if r["isocurrencycode"] == "GBP")
    assert invoice["transactioncurrencyid"] == Ref(
        "transactioncurrency", gbp["transactioncurrencyid"]
    )
    assert invoice["totalamount"] == Decimal("0.00")


def test_existing_product_line_is_priced_from_the_price_list(org: Organisation) -> None:
    invoice_id = _invoice(org)
    line_id = _line(
        org,
        invoice_id,
        productid=_ref("product", "CRM Online: Enterprise (sample)"),
        uomid=_ref("uom", "Primary Unit"),
        quantity=Decimal(2),
        tax=Decimal("39.60"),
    )
    line = org.get("invoicedetail", line_id)
    assert line["priceperunit"] == Decimal("99.00")
    assert line["baseamount"] == Decimal("198.00")
    assert line["extendedamount"] == Decimal("237.60")
    assert line["productnumber"] == "CRMONL-ENT"
    invoice = org.get("invoice", invoice_id)
    assert invoice["totallineitemamount"] == Decimal("198.00")
    assert invoice["totaltax"] == Decimal("39.60")
    assert invoice["totalamount"] == Decimal("237.60")


def test_a_price_without_override_is_replaced_by_the_list_price(org: Organisation) -> None:
    invoice_id = _invoice(org)
    product = _ref("product", "CRM Online: Basic (sample)")
    unit = _ref("uom", "Primary Unit")
    listed = _line(
        org, invoice_id, productid=product, uomid=unit, quantity=1, priceperunit=Decimal(1)
    )
    overridden = _line(
        org,
        invoice_id,
        productid=product,
        uomid=unit,
        quantity=1,
        priceperunit=Decimal(1),
        ispriceoverridden=True,
    )
    assert org.get("invoicedetail", listed)["priceperunit"] == Decimal("30.00")
    assert org.get("invoicedetail", overridden)["priceperunit"] == Decimal("1.00")


def test_write_in_line_with_discount_and_invoice_discount_and_freight(org: Organisation) -> None:
    invoice_id = _invoice(org, discountamount=Decimal(10), freightamount=Decimal(5))
    _line(
        org,
        invoice_id,
        isproductoverridden=True,
        productdescription="Test line 1",
        quantity=Decimal(3),
        priceperunit=Decimal(300),
        manualdiscountamount=Decimal(20),
        tax=Decimal(176),
    )
    invoice = org.get("invoice", invoice_id)
    assert invoice["totallineitemamount"] == Decimal("880.00")  # 900 - 20
    assert invoice["totallineitemdiscountamount"] == Decimal("20.00")
    assert invoice["totalamountlessfreight"] == Decimal("870.00")  # less the invoice discount
    assert invoice["totalamount"] == Decimal("1051.00")  # + freight 5 + tax 176


def test_existing_product_line_needs_product_and_unit(org: Organisation) -> None:
    invoice_id = _invoice(org)
    with pytest.raises(errors.InvalidArgument, match="uomid"):
        _line(org, invoice_id, productid=_ref("product", "CRM Online: Basic (sample)"), quantity=1)
    with pytest.raises(errors.InvalidArgument, match="productid"):
        _line(org, invoice_id, uomid=_ref("uom", "Primary Unit"), quantity=1)


def test_product_missing_from_the_price_list_is_a_pricing_error(org: Organisation) -> None:
    invoice_id = _invoice(org, pricelevelid=None)
    line_id = _line(
        org,
        invoice_id,
        productid=_ref("product", "CRM Online: Basic (sample)"),
        uomid=_ref("uom", "Primary Unit"),
        quantity=1,
    )
    assert org.get("invoicedetail", line_id)["pricingerrorcode"] == 2  # Missing Price Level
    assert org.get("invoice", invoice_id)["pricingerrorcode"] == 1  # Detail Error


def test_pricing_errors_name_their_cause(org: Organisation) -> None:
    """pricingerrorcode as the pricing engine sets it (CE invoicedetail.md options): 11 for a
    product not on the invoice's price list, 3 for an inactive price list, 4 for no quantity;
    the line is priced at 0 and the invoice says 1 (Detail Error); 0 once all is well."""
    unit = _ref("uom", "Primary Unit")
    unlisted = org.create(
        "product",
        {
            "name": "Unlisted widget",
            "productnumber": "UNLISTED-1",
            "defaultuomid": unit,
            "defaultuomscheduleid": _ref("uomschedule", "Default Unit"),
        },
    )
    invoice_id = _invoice(org)
    line_id = _line(
        org, invoice_id, productid=Ref("product", unlisted), uomid=unit, quantity=Decimal(1)
    )
    line = org.get("invoicedetail", line_id)
    assert (line["pricingerrorcode"], line["priceperunit"]) == (11, Decimal("0.00"))
    assert org.get("invoice", invoice_id)["pricingerrorcode"] == 1
    org.delete("invoicedetail", line_id)
    assert org.get("invoice", invoice_id)["pricingerrorcode"] == 0

    listed = _ref("product", "CRM Online: Enterprise (sample)")
    no_quantity = _line(org, invoice_id, productid=listed, uomid=unit)
    assert org.get("invoicedetail", no_quantity)["pricingerrorcode"] == 4
    org.update("invoicedetail", no_quantity, {"quantity": Decimal(1)})
    assert org.get("invoicedetail", no_quantity)["pricingerrorcode"] == 0

    price_list = sample_id("pricelevel", "CRM Service: USA (sample)")
    org.update("pricelevel", price_list, {"statecode": 1, "statuscode": 100002})
    inactive = _line(org, invoice_id, productid=listed, uomid=unit, quantity=Decimal(1))
    assert org.get("invoicedetail", inactive)["pricingerrorcode"] == 3
    assert org.get("invoice", invoice_id)["pricingerrorcode"] == 1


def test_line_changes_and_deletes_recalculate_the_invoice(org: Organisation) -> None:
    invoice_id = _invoice(org)
    line_id = _line(
        org,
        invoice_id,
        isproductoverridden=True,
        productdescription="x",
        quantity=1,
        priceperunit=Decimal(10),
    )
    version = org.get("invoice", invoice_id)["versionnumber"]
    org.update("invoicedetail", line_id, {"quantity": Decimal(4)})
    assert org.get("invoice", invoice_id)["totalamount"] == Decimal("40.00")
    assert org.get("invoice", invoice_id)["versionnumber"] > version
    org.delete("invoicedetail", line_id)
    assert org.get("invoice", invoice_id)["totalamount"] == Decimal("0.00")


def test_paid_invoice_is_read_only_until_reactivated(org: Organisation) -> None:
    invoice_id = _invoice(org)
    line_id = _line(
        org,
        invoice_id,
        isproductoverridden=True,
        productdescription="x",
        quantity=1,
        priceperunit=Decimal(10),
    )
    org.update("invoice", invoice_id, {"statecode": 2, "statuscode": 100001})
    with pytest.raises(errors.InvalidState):
        org.update("invoice", invoice_id, {"name": "changed"})
    with pytest.raises(errors.InvalidState):
        org.update("invoicedetail", line_id, {"quantity": Decimal(2)})
    with pytest.raises(errors.InvalidState):
        _line(org, invoice_id, isproductoverridden=True, productdescription="y", quantity=1)
    with pytest.raises(errors.InvalidState):
        org.update("invoice", invoice_id, {"statecode": 3, "statuscode": 100003})
    org.update("invoice", invoice_id, {"statecode": 0})
    assert org.get("invoice", invoice_id)["statuscode"] == 1
    org.update("invoice", invoice_id, {"name": "changed"})


def test_state_and_status_must_agree(org: Organisation) -> None:
    invoice_id = _invoice(org)
    with pytest.raises(errors.InvalidStateCodeStatusCode):
        org.update("invoice", invoice_id, {"statecode": 2, "statuscode": 100003})
    org.update("invoice", invoice_id, {"statecode": 3})  # status defaults to Canceled (100003)
    assert org.get("invoice", invoice_id)["statuscode"] == 100003


def test_deleting_an_invoice_deletes_its_lines(org: Organisation) -> None:
    invoice_id = _invoice(org)
    line_id = _line(org, invoice_id, isproductoverridden=True, productdescription="x", quantity=1)
    org.delete("invoice", invoice_id)
    assert org.find("invoicedetail", line_id) is None
    deleted = {(entity, record_id) for entity, record_id, _ in org.tombstones}
    assert {("invoice", invoice_id), ("invoicedetail", line_id)} <= deleted


def test_stale_etag_is_a_concurrency_error(org: Organisation) -> None:
    account_id = sample_id("account", "Fourth Coffee (sample)")
    tag = f'W/"{org.get("account", account_id)["versionnumber"]}"'
    org.update("account", account_id, {"telephone1": "1"}, if_match=tag)
    with pytest.raises(errors.ConcurrencyVersionMismatch):
        org.update("account", account_id, {"telephone1": "2"}, if_match=tag)


def test_a_failed_transaction_leaves_nothing_behind(org: Organisation) -> None:
    before = len(org.rows("account"))
    with pytest.raises(errors.ObjectDoesNotExist), org.transaction():
        org.create("account", {"name": "Rolled back"})
        org.update("account", sample_id("account", "Fourth Coffee (sample)"), {"name": "Gone"})
        org.get("account", "00000000-0000-0000-0000-000000000001")
    assert len(org.rows("account")) == before
    assert org.get("account", sample_id("account", "Fourth Coffee (sample)"))["name"] == (
        "Fourth Coffee (sample)"
    )


def test_system_required_columns_are_enforced(org: Organisation) -> None:
    with pytest.raises(errors.ValidationError, match="productnumber"):
        org.create("product", {"name": "No number"})


def test_solution_tables_come_from_the_schema() -> None:
    from d365xero.solution import schema

    org = Organisation()
    for table in schema.TABLES:
        entity = org.entity(table.logical_name)
        assert entity.entity_set == table.entity_set_name
        assert {c.logical_name for c in table.all_columns} <= set(entity.attributes)
    assert "dxc_connectionid" in org.entity("invoice").attributes
    bare = Organisation(with_solution=False)
    assert "dxc_connection" not in bare.metadata.entities
    assert "dxc_connectionid" not in bare.entity("invoice").attributes


def test_related_rows_follow_updates_deletes_and_rollbacks(org: Organisation) -> None:
    fourth, litware = (
        sample_id("account", "Fourth Coffee (sample)"),
        sample_id("account", "Litware, Inc. (sample)"),
    )
    contact = sample_id("contact", "Yvonne McKay (sample)")
    assert [r["contactid"] for r in org.children("contact", "parentcustomerid", fourth)] == [
        contact
    ]
    org.update("contact", contact, {"parentcustomerid": Ref("account", litware)})
    assert org.children("contact", "parentcustomerid", fourth) == []
    assert contact in [r["contactid"] for r in org.children("contact", "parentcustomerid", litware)]
    with pytest.raises(errors.ObjectDoesNotExist), org.transaction():
        org.update("contact", contact, {"parentcustomerid": Ref("account", fourth)})
        org.get("account", "00000000-0000-0000-0000-000000000001")
    assert org.children("contact", "parentcustomerid", fourth) == []
    org.delete("contact", contact)
    assert contact not in [
        r["contactid"] for r in org.children("contact", "parentcustomerid", litware)
    ]


def test_a_rolled_back_line_leaves_the_invoice_totals_as_they_were(org: Organisation) -> None:
    invoice_id = _invoice(org)
    _line(
        org,
        invoice_id,
        isproductoverridden=True,
        productdescription="a",
        quantity=1,
        priceperunit=Decimal(10),
    )
    before = dict(org.get("invoice", invoice_id))
    with pytest.raises(errors.ObjectDoesNotExist), org.transaction():
        _line(
            org,
            invoice_id,
            isproductoverridden=True,
            productdescription="b",
            quantity=1,
            priceperunit=Decimal(5),
        )
        org.get("account", "00000000-0000-0000-0000-000000000001")
    after = org.get("invoice", invoice_id)
    assert (after["totalamount"], after["versionnumber"]) == (
        before["totalamount"],
        before["versionnumber"],
    )
