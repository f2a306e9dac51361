"""The connector settings record: field mappings (dxc_fieldmappings) copy further Dynamics
columns into Xero; a bad mapping or time zone stops the pass with a message on the connection,
touching no invoice."""

from __future__ import annotations

import json

from d365xero.demo import create_sample_invoices
from tests.integration.conftest import Stack


def _set_mappings(stack: Stack, mappings: object) -> None:
    [setting] = stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")
    stack.dataverse.update(
        "dxc_settings", setting["dxc_settingid"], {"dxc_fieldmappings": json.dumps(mappings)}
    )


def _connection_message(stack: Stack) -> str | None:
    [row] = stack.rows("dxc_connections", "dxc_name ne null", "dxc_message")
    return row.get("dxc_message")


def test_mapped_columns_reach_xero(stack: Stack) -> None:
    _set_mappings(
        stack,
        [
            {"from": "invoice.invoicenumber", "to": "Reference"},
            {"from": "account.accountnumber", "to": "Contact.AccountNumber"},
        ],
    )
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    [account] = stack.rows("accounts", "name eq 'A. Datum Corporation (sample)'", "accountid")
    stack.dataverse.update("accounts", account["accountid"], {"accountnumber": "ADC-001"})
    result = stack.run_pass()
    assert result.report.count("created") == 3, result.message
    [invoice] = stack.rows("invoices", "name eq 'test Enrico 1'", "invoicenumber")
    xero = [i for i in stack.xero_get("Invoices")["Invoices"] if i.get("Url")]
    assert invoice["invoicenumber"] in {i.get("Reference") for i in xero}
    contacts = stack.xero_get("Contacts", where='Name=="A. Datum Corporation (sample)"')
    assert contacts["Contacts"][0]["AccountNumber"] == "ADC-001"


def test_a_bad_mapping_stops_the_pass_and_says_so_on_the_connection(stack: Stack) -> None:
    _set_mappings(stack, [{"from": "line.dxc_regoin", "to": "LineItem.Tracking.Region"}])
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    assert result.report.count("created") == 0
    assert '"dxc_regoin" does not exist on Invoice Product' in result.message
    assert '"dxc_regoin"' in (_connection_message(stack) or "")
    assert stack.rows("dxc_xerodetails", "dxc_exportstatus ne null") == []  # no invoice touched

    _set_mappings(stack, [])
    again = stack.run_pass()
    assert again.report.count("created") == 3
    assert not _connection_message(stack)


def test_an_unknown_time_zone_stops_the_pass_with_its_name(stack: Stack) -> None:
    [setting] = stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")
    stack.dataverse.update("dxc_settings", setting["dxc_settingid"], {"dxc_timezone": "Mars/Base"})
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    assert result.report.count("created") == 0
    assert '"Mars/Base"' in result.message
    assert '"Mars/Base"' in (_connection_message(stack) or "")
