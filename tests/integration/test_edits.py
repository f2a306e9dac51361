"""An invoice edited in Dynamics after it reached Xero is sent again while Xero allows the
change; otherwise Sync History says why, once."""

from __future__ import annotations

from decimal import Decimal

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from tests.integration.conftest import Stack

SUCCESSFUL = schema.option_value(schema.SYNC_STATUS, "Successful")
FAILED = schema.option_value(schema.SYNC_STATUS, "Failed")
UPDATE = schema.option_value(schema.SYNC_ACTION, "Update")


def _synced(stack: Stack, name: str) -> tuple[str, str, list[dict]]:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    stack.run_pass()
    [invoice] = stack.rows("invoices", f"name eq '{name}'", "invoiceid")
    invoice_id = invoice["invoiceid"]
    [detail] = stack.rows("dxc_xerodetails", f"_dxc_invoiceid_value eq {invoice_id}")
    lines = stack.rows("invoicedetails", f"_invoiceid_value eq {invoice_id}")
    return invoice_id, detail["dxc_xeroinvoiceid"], lines


def _updates(stack: Stack, invoice_id: str) -> list[dict]:
    """The Sync History of edits sent to Xero (not what the back-sync brings from Xero)."""
    rows = stack.rows("dxc_synchistories", f"_dxc_invoiceid_value eq {invoice_id}")
    edits = ("Invoice has been updated in Xero", "The invoice was changed in Dynamics")
    return [r for r in rows if r["dxc_action"] == UPDATE and r["dxc_details"].startswith(edits)]


def test_an_edited_draft_is_updated_in_xero(stack: Stack) -> None:
    invoice_id, xero_id, lines = _synced(stack, "Consulting")
    [line] = lines
    stack.dataverse.update("invoicedetails", line["invoicedetailid"], {"quantity": 4})
    result = stack.run_pass()
    assert result.report.count("updated") == 1, result.report.outcomes
    xero = stack.xero_get(f"Invoices/{xero_id}")["Invoices"][0]
    assert Decimal(str(xero["SubTotal"])) == Decimal("2600.00")  # 4 x 650.00
    [update] = _updates(stack, invoice_id)
    assert update["dxc_syncstatus"] == SUCCESSFUL
    assert update["dxc_details"] == f"Invoice has been updated in Xero - {xero_id}"
    assert len(stack.xero_get("Invoices")["Invoices"]) == len(
        {i["InvoiceID"] for i in stack.xero_get("Invoices")["Invoices"]}
    )
    again = stack.run_pass()
    assert again.report.count("updated") == 0
    assert again.step("push").xero_calls == 0


def test_an_edit_xero_does_not_carry_costs_nothing(stack: Stack) -> None:
    invoice_id, _, _ = _synced(stack, "Consulting")
    stack.dataverse.update("invoices", invoice_id, {"name": "Consulting (renamed)"})
    result = stack.run_pass()
    assert result.report.count("updated") == 0
    assert result.step("push").xero_calls == 0
    assert _updates(stack, invoice_id) == []


def test_an_edit_to_a_paid_invoice_is_refused_once_with_the_reason(stack: Stack) -> None:
    invoice_id, xero_id, lines = _synced(stack, "Consulting")
    client, headers = stack.xero.client(), stack.xero.headers()
    api = "/api.xro/2.0"
    authorised = client.post(
        f"{api}/Invoices/{xero_id}",
        json={"Invoices": [{"InvoiceID": xero_id, "Status": "AUTHORISED"}]},
        headers=headers,
    )
    assert authorised.status_code == 200, authorised.text
    paid = client.put(
        f"{api}/Payments",
        json={
            "Payments": [
                {
                    "Invoice": {"InvoiceID": xero_id},
                    "Account": {"Code": "090"},
                    "Amount": 100.00,
                    "Date": stack.today().isoformat(),
                }
            ]
        },
        headers=headers,
    )
    assert paid.status_code == 200, paid.text
    stack.dataverse.update("invoicedetails", lines[0]["invoicedetailid"], {"quantity": 3})
    stack.run_pass()
    [refused] = _updates(stack, invoice_id)
    assert refused["dxc_syncstatus"] == FAILED
    assert "payment" in refused["dxc_details"]
    stack.run_pass()
    assert len(_updates(stack, invoice_id)) == 1  # said once
    xero = stack.xero_get(f"Invoices/{xero_id}")["Invoices"][0]
    assert Decimal(str(xero["SubTotal"])) == Decimal("1625.00")  # unchanged: 2.5 x 650.00
