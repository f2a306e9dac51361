"""The field-mapping editor: which Dynamics field fills which Xero field, checked against
Dynamics' columns with the message beside the row, saved to dxc_fieldmappings where the
connector reads it, and used by the next pass."""

from __future__ import annotations

import json
from html import unescape

from d365xero.demo import create_sample_invoices
from tests.portal.center.conftest import HTML, Center, form_of

REFERENCE, DESCRIPTION, ACCOUNT_NUMBER, TAX_NUMBER = "from_0", "from_1", "from_2", "from_3"


def _loaded(center: Center) -> dict[str, str]:
    page = center.client.get(center.url("/mapping"), headers=HTML)
    assert page.status_code == 200, page.text
    return form_of(page.text, center.url("/mapping"))


def _stored(center: Center) -> str:
    [row] = center.stack.rows("dxc_settings", "dxc_name ne null", "dxc_fieldmappings")
    return str(row.get("dxc_fieldmappings") or "")


def test_the_editor_lists_the_xero_fields_a_mapping_may_fill(center: Center) -> None:
    page = center.client.get(center.url("/mapping"), headers=HTML)
    assert 'aria-current="page">Field mapping' in page.text
    targets = ("Reference", "LineItem.Description", "Contact.AccountNumber", "Contact.LastName")
    for target in targets:
        assert f">{target}</label>" in page.text
    assert '<option value="account.accountnumber">' in page.text  # suggestions from Dynamics
    assert '<option value="invoice.customerid">' not in page.text  # a lookup holds no value


def test_a_saved_mapping_is_what_the_next_pass_uses(center: Center) -> None:
    form = _loaded(center)
    form.update({REFERENCE: "invoice.invoicenumber", ACCOUNT_NUMBER: "account.accountnumber"})
    saved = center.client.post(center.url("/mapping"), data=form, headers=HTML)
    assert saved.status_code == 200, saved.text
    assert "the next sync pass uses it" in saved.text
    assert json.loads(_stored(center)) == [
        {"from": "invoice.invoicenumber", "to": "Reference"},
        {"from": "account.accountnumber", "to": "Contact.AccountNumber"},
    ]
    assert _loaded(center)[REFERENCE] == "invoice.invoicenumber"  # read back

    stack = center.stack
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    [account] = stack.rows("accounts", "name eq 'A. Datum Corporation (sample)'", "accountid")
    stack.dataverse.update("accounts", account["accountid"], {"accountnumber": "ADC-042"})
    result = stack.run_pass()
    assert result.report.count("created") == 3, result.message
    [invoice] = stack.rows("invoices", "name eq 'test Enrico 1'", "invoicenumber")
    references = {i.get("Reference") for i in stack.xero_get("Invoices")["Invoices"]}
    assert invoice["invoicenumber"] in references
    contacts = stack.xero_get("Contacts", where='Name=="A. Datum Corporation (sample)"')
    assert contacts["Contacts"][0]["AccountNumber"] == "ADC-042"


def test_a_bad_mapping_is_refused_beside_each_row_and_nothing_is_saved(center: Center) -> None:
    form = _loaded(center)
    form.update(
        {
            REFERENCE: "invoice.nosuchcolumn",  # unknown field
            DESCRIPTION: "invoice.description",  # a line's description from the invoice
            ACCOUNT_NUMBER: "account.primarycontactid",  # a lookup
            TAX_NUMBER: "account.revenue",  # money cannot be a tax number
            "track_name_0": "Region",  # a category with no field
            "track_from_1": "line.productdescription",  # a field with no category
        }
    )
    refused = center.client.post(center.url("/mapping"), data=form, headers=HTML)
    assert refused.status_code == 400
    text = unescape(refused.text)
    assert 'id="e-from_0">The column "nosuchcolumn" does not exist on Invoice' in text
    assert 'id="e-from_1">LineItem.Description can only come from line fields' in text
    assert 'id="e-from_2">The column "primarycontactid" on Account is a lookup' in text
    assert 'id="e-from_3">The column "revenue" on Account is Money' in text
    assert 'id="e-track_from_0">Choose the line column that fills "Region"' in text
    assert 'id="e-track_name_1">Name the Xero tracking category' in text
    assert 'value="invoice.nosuchcolumn"' in text  # what was typed is kept
    assert _stored(center) == ""


def test_when_dynamics_changed_the_mapping_too_its_mapping_is_kept(center: Center) -> None:
    form = _loaded(center)
    theirs = [{"from": "invoice.name", "to": "Reference"}]
    [row] = center.stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")
    center.stack.dataverse.update(
        "dxc_settings", row["dxc_settingid"], {"dxc_fieldmappings": json.dumps(theirs)}
    )
    form[REFERENCE] = "invoice.invoicenumber"
    saved = center.client.post(center.url("/mapping"), data=form, headers=HTML)
    assert saved.status_code == 200, saved.text
    assert "Dynamics changed the field mapping since you opened this page" in saved.text
    assert json.loads(_stored(center)) == theirs
    assert form_of(saved.text, center.url("/mapping"))[REFERENCE] == "invoice.name"


def test_line_breaks_a_browser_sends_back_are_no_change(center: Center) -> None:
    """Browsers send a hidden field's line breaks as CRLF: the loaded mapping is still itself."""
    form = _loaded(center)
    form[REFERENCE] = "invoice.name"
    center.client.post(center.url("/mapping"), data=form, headers=HTML)
    form = _loaded(center)
    assert "\n" in form["loaded"]
    form["loaded"] = form["loaded"].replace("\n", "\r\n")
    center.stack.dataverse.update(  # Dynamics changes another setting: a new version
        "dxc_settings",
        center.stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")[0]["dxc_settingid"],
        {"dxc_timezone": "Europe/Paris"},
    )
    form[REFERENCE] = "invoice.invoicenumber"
    saved = center.client.post(center.url("/mapping"), data=form, headers=HTML)
    assert "the next sync pass uses it" in saved.text, saved.text
    assert json.loads(_stored(center))[0]["from"] == "invoice.invoicenumber"


def test_the_columns_are_read_once_a_minute_and_afresh_for_a_save(center: Center) -> None:
    calls = center.stack.dataverse_app.state.emulator.calls

    def metadata() -> int:
        return sum(n for route, n in calls.snapshot().items() if "/EntityDefinitions" in route)

    form = _loaded(center)  # reads the four tables' columns
    calls.clear()
    again = _loaded(center)
    assert again == form
    assert metadata() == 0  # the columns just read are kept
    assert calls.total("/api/data") == 1  # only the dxc_setting row, which may have changed
    calls.clear()
    saved = center.client.post(center.url("/mapping"), data=form, headers=HTML)
    assert saved.status_code == 200, saved.text
    assert metadata() == 4  # a save checks the columns as they are now
