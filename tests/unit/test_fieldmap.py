from decimal import Decimal

import pytest

from d365xero.domain import fieldmap, mapping
from d365xero.domain.fieldmap import MappingRefused
from d365xero.domain.records import ConnectorSettings, Customer, Invoice, InvoiceLine

COLUMNS = {
    "invoice": {"customerpurchaseordernumber": "String", "customerid": "Customer"},
    "invoicedetail": {"dxc_region": "Picklist", "description": "Memo"},
    "account": {"accountnumber": "String"},
}
GOOD = """[
  {"from": "invoice.customerpurchaseordernumber", "to": "Reference"},
  {"from": "line.dxc_region", "to": "LineItem.Tracking.Region"},
  {"from": "line.description", "to": "LineItem.Description"},
  {"from": "account.AccountNumber", "to": "Contact.AccountNumber"}
]"""


def test_an_empty_setting_maps_nothing() -> None:
    assert fieldmap.parse("") == fieldmap.NO_MAPPING
    assert fieldmap.parse(None) == fieldmap.NO_MAPPING


def test_a_good_mapping_is_read_and_checked() -> None:
    mapping_ = fieldmap.parse(GOOD)
    fieldmap.check_columns(mapping_, COLUMNS)
    assert mapping_.columns("line") == ("dxc_region", "description")
    assert mapping_.columns("account") == ("accountnumber",)  # logical names are lower case
    assert fieldmap.tables(mapping_) == ("invoice", "invoicedetail", "account")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"from": "invoice.x", "to": "Reference"}', "JSON list"),
        ('[{"from": "invoice.x"}]', 'text "from" and "to"'),
        ('[{"from": "order.x", "to": "Reference"}]', "the table one of invoice, line"),
        ('[{"from": "invoice.x", "to": "Total"}]', 'no field "Total"'),
        ('[{"from": "line.x", "to": "Reference"}]', '"Reference" can only come from invoice'),
        ('[{"from": "invoice.x", "to": "LineItem.Tracking."}]', "no field"),
        (
            '[{"from": "invoice.a", "to": "Reference"}, {"from": "invoice.b", "to": "Reference"}]',
            "more than once",
        ),
    ],
)
def test_a_bad_mapping_is_refused_with_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(MappingRefused, match="Field mapping") as refused:
        fieldmap.parse(text)
    assert words in str(refused.value)
    assert "connector settings" in str(refused.value)


def test_a_missing_column_is_named() -> None:
    mapping_ = fieldmap.parse('[{"from": "line.dxc_regoin", "to": "LineItem.Tracking.Region"}]')
    with pytest.raises(MappingRefused, match='"dxc_regoin" does not exist on Invoice Product'):
        fieldmap.check_columns(mapping_, COLUMNS)


def test_a_lookup_column_is_refused() -> None:
    mapping_ = fieldmap.parse('[{"from": "invoice.customerid", "to": "Reference"}]')
    with pytest.raises(MappingRefused, match="is a lookup"):
        fieldmap.check_columns(mapping_, COLUMNS)


def test_mapped_values_reach_the_draft_and_the_contact() -> None:
    fields = fieldmap.parse(GOOD)
    customer = Customer("account", "a1", "Fabrikam", extra={"accountnumber": "FAB-01"})
    invoice = Invoice(
        id="i1",
        name="n",
        number=None,
        description="the description",
        customer=customer,
        has_price_list=True,
        currency="GBP",
        date_delivered=None,
        due_date=None,
        lines=(
            InvoiceLine(
                "l1",
                "Consulting",
                Decimal(1),
                Decimal(10),
                tracking=("Dept: Sales",),
                extra={"dxc_region": "North", "description": "Consulting, March"},
            ),
            InvoiceLine("l2", "Travel", Decimal(1), Decimal(5)),
        ),
        extra={"customerpurchaseordernumber": "PO-77"},
    )
    draft = mapping.invoice_draft(invoice, ConnectorSettings(), "c1", fields=fields)
    assert draft.reference == "PO-77"
    assert draft.lines[0].description == "Consulting, March"
    assert draft.lines[0].tracking == (("Dept", "Sales"), ("Region", "North"))
    assert draft.lines[1].description == "Travel"  # nothing mapped: the line's own text
    assert draft.lines[1].tracking == ()
    assert mapping.contact_draft(customer, fields).account_number == "FAB-01"
    plain = mapping.fingerprint(invoice, ConnectorSettings(), "c1")
    assert mapping.fingerprint(invoice, ConnectorSettings(), "c1", fields) != plain
