"""The field-mapping editor's rows: to and from the mapping, and a message per bad row."""

from __future__ import annotations

from d365xero.domain import fieldmap, mapping_form

COLUMNS = {
    "invoice": {"name": "String", "customerid": "Customer", "totalamount": "Money"},
    "invoicedetail": {"dxc_region": "Picklist"},
    "account": {"accountnumber": "String", "revenue": "Money", "fullname": "Virtual"},
    "contact": {"lastname": "String"},
}


def test_a_mapping_round_trips_through_the_form() -> None:
    text = (
        '[{"from": "invoice.name", "to": "Reference"},'
        ' {"from": "contact.lastname", "to": "Contact.LastName"},'
        ' {"from": "line.dxc_region", "to": "LineItem.Tracking.Region"}]'
    )
    mapping = fieldmap.parse(text)
    form = mapping_form.to_form(mapping)
    assert form["track_name_0"] == "Region" and form["track_from_0"] == "line.dxc_region"
    rows = mapping_form.tracking_rows(mapping)
    again, errors = mapping_form.from_form(form, COLUMNS, rows)
    assert errors == {} and set(again.rules) == set(mapping.rules)
    assert fieldmap.canonical(fieldmap.dump(again)) == fieldmap.canonical(text.replace(" ", ""))


def test_each_bad_row_says_what_is_wrong() -> None:
    form = {
        "from_0": "invoice.totalamount",  # Reference takes any value: fine
        "from_2": "account.revenue",  # AccountNumber: text or whole numbers only
        "from_3": "account.fullname",  # a virtual column
        "from_4": "nonsense",
        "track_name_0": "Region",
        "track_from_0": "line.dxc_region",
        "track_name_1": "region",  # the same category again
        "track_from_1": "line.dxc_region",
    }
    mapping, errors = mapping_form.from_form(form, COLUMNS, 2)
    assert [r.target for r in mapping.rules] == ["Reference", "LineItem.Tracking.Region"]
    assert "is Money; Xero's Contact.AccountNumber takes" in errors["from_2"]
    assert "is Virtual, which holds no value" in errors["from_3"]
    assert "table.column" in errors["from_4"]
    assert "mapped twice" in errors["track_name_1"]
