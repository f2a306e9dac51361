"""Connector Settings: the dxc_setting row edited in the portal, written to Dynamics by Update
Connection, read back; checked first with messages beside the fields; and when Dynamics
changed a setting the user changed too, Dynamics wins and the page says so."""

from __future__ import annotations

from html import unescape
from typing import Any

from d365xero.dataverse.settings_row import read_settings, write_settings
from d365xero.solution import schema
from tests.portal.center.conftest import HTML, Center, form_of

SELECT = (
    "dxc_settingid,dxc_defaultinvoicestatus,dxc_createcontacts,dxc_createproducts,"
    "dxc_createcreditnote,dxc_timezone,_dxc_defaultsalesaccountid_value"
)


def _row(center: Center) -> dict[str, Any]:
    [row] = center.stack.rows("dxc_settings", "dxc_name ne null", SELECT)
    return row


def _loaded(center: Center) -> dict[str, str]:
    page = center.client.get(center.url("/settings"), headers=HTML)
    assert page.status_code == 200, page.text
    return form_of(page.text, center.url("/settings"))


def _account(center: Center, code: str) -> str:
    key = "dxc_chartofaccountid"
    [row] = center.stack.rows("dxc_chartofaccounts", f"dxc_code eq '{code}'", key)
    return str(row[key])


def test_the_page_shows_the_guides_settings_as_dynamics_has_them(center: Center) -> None:
    page = center.client.get(center.url("/settings"), headers=HTML)
    assert 'aria-current="page">Connector Settings' in page.text
    for label in (
        "Use Xero invoice number",
        "Create new contacts in Xero",
        "Create new products in Xero",
        "Default Xero invoice status",
        "Default Xero sales account",
        "Default Xero purchase account",
        "Create credit note automatically",
        "Time zone",
        "Update Connection",
    ):
        assert label in page.text
    form = form_of(page.text, center.url("/settings"))
    assert form["default_status"] == "Draft" and form["create_credit_note"] == "No"
    assert form["default_sales_account"] == _account(center, "200")  # Sales
    assert form["timezone"] == "Europe/London"
    assert form["etag"].startswith('W/"')


def test_update_connection_writes_to_dynamics_and_reads_back(center: Center) -> None:
    form = _loaded(center)
    form.update(
        default_status="Authorised",
        create_credit_note="Yes",
        timezone="America/New_York",
        default_sales_account=_account(center, "260"),
    )
    saved = center.client.post(center.url("/settings"), data=form, headers=HTML)
    assert saved.status_code == 200, saved.text
    assert "Connection updated" in saved.text
    row = _row(center)
    assert row["dxc_defaultinvoicestatus"] == schema.option_value(
        schema.INVOICE_STATUS, "Authorised"
    )
    assert row["dxc_createcreditnote"] is True and row["dxc_timezone"] == "America/New_York"
    assert row["_dxc_defaultsalesaccountid_value"] == _account(center, "260")
    assert row["dxc_createcontacts"] is True  # untouched
    again = _loaded(center)
    assert again["default_status"] == "Authorised" and again["timezone"] == "America/New_York"
    # What a pass reads: the connector's own view of the row.
    settings = center.stack.runtime.clients_for(
        center.stack.connection, _secrets(center)
    ).dynamics.settings()
    assert settings.default_status.value == "AUTHORISED" and settings.create_credit_note
    assert settings.default_sales_account == "260"


def _secrets(center: Center) -> dict[str, Any]:
    from d365xero.store import connections

    return connections.read_secrets(center.stack.runtime.box, center.stack.connection)


def test_when_both_changed_a_setting_dynamics_wins_and_the_page_says_so(center: Center) -> None:
    form = _loaded(center)
    # Meanwhile, someone edits the row in Dynamics.
    center.stack.dataverse.update(
        "dxc_settings",
        _row(center)["dxc_settingid"],
        {
            "dxc_defaultinvoicestatus": schema.option_value(schema.INVOICE_STATUS, "Submitted"),
            "dxc_createcontacts": False,
        },
    )
    form.update(default_status="Authorised", create_products="No")  # the portal's edits
    saved = center.client.post(center.url("/settings"), data=form, headers=HTML)
    assert saved.status_code == 200, saved.text
    row = _row(center)
    submitted = schema.option_value(schema.INVOICE_STATUS, "Submitted")
    assert row["dxc_defaultinvoicestatus"] == submitted  # both changed it: Dynamics wins
    assert row["dxc_createcontacts"] is False  # only Dynamics changed it: kept
    assert row["dxc_createproducts"] is False  # only the portal changed it: written
    assert "Dynamics changed some of these settings" in saved.text
    assert "Default Xero invoice status: Submitted" in saved.text
    shown = form_of(saved.text, center.url("/settings"))
    assert shown["default_status"] == "Submitted" and shown["create_contacts"] == "No"


def test_a_stale_version_is_refused_by_dynamics(center: Center) -> None:
    """The emulator answers a stale If-Match with 412, as Dataverse does."""
    row_id = center.stack.connection.dataverse_connection_row_id or ""
    before = read_settings(center.stack.dataverse, row_id)
    assert write_settings(center.stack.dataverse, before.row_id, before.etag, {"timezone": "UTC"})
    assert not write_settings(
        center.stack.dataverse, before.row_id, before.etag, {"timezone": "Europe/Paris"}
    )
    assert read_settings(center.stack.dataverse, row_id).values["timezone"] == "UTC"


def test_bad_values_are_refused_beside_their_fields_and_kept(center: Center) -> None:
    form = _loaded(center)
    form.update(timezone="Mars/Olympus_Mons", default_purchase_account="not-an-account")
    form["create_contacts"] = "Maybe"
    refused = center.client.post(center.url("/settings"), data=form, headers=HTML)
    assert refused.status_code == 400
    assert '"Mars/Olympus_Mons" is not a time zone name' in unescape(refused.text)
    assert 'value="Mars/Olympus_Mons"' in refused.text  # kept as typed
    assert "Choose one of the Xero account codes listed." in refused.text
    assert 'id="e-create_contacts">Choose Yes or No.' in refused.text
    assert _row(center)["dxc_timezone"] == "Europe/London"  # nothing written
