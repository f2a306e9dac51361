"""Dynamics-side surprises around a push: a product line Dynamics could not price fails the
invoice before anything is sent, and an invoice that became read-only (paid or canceled) before
Xero's tax came back still gets its Xero details and Sync History, with a note about the tax."""

from __future__ import annotations

from typing import Any

from d365xero.jobs.passes import run_pass
from d365xero.solution import schema
from tests.integration.conftest import Stack

YES = schema.option_value(schema.EXPORT_STATUS, "Yes")
FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")


def _one(stack: Stack, entity_set: str, filter_: str) -> dict[str, Any]:
    [row] = stack.rows(entity_set, filter_)
    return row


def _invoice(stack: Stack, name: str, price_list_id: str) -> str:
    account = _one(stack, "accounts", "name eq 'A. Datum Corporation (sample)'")
    gbp = _one(stack, "transactioncurrencies", "isocurrencycode eq 'GBP'")
    return stack.dataverse.create(
        "invoices",
        {
            "name": name,
            "datedelivered": stack.today().isoformat(),
            "customerid_account@odata.bind": f"/accounts({account['accountid']})",
            "pricelevelid@odata.bind": f"/pricelevels({price_list_id})",
            "transactioncurrencyid@odata.bind": (
                f"/transactioncurrencies({gbp['transactioncurrencyid']})"
            ),
            "dxc_ConnectionId@odata.bind": (
                f"/dxc_connections({stack.connection.dataverse_connection_row_id})"
            ),
        },
    )


def _product_line(stack: Stack, invoice_id: str, product_number: str) -> None:
    product = _one(stack, "products", f"productnumber eq '{product_number}'")
    stack.dataverse.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "productid@odata.bind": f"/products({product['productid']})",
            "uomid@odata.bind": f"/uoms({product['_defaultuomid_value']})",
            "quantity": 2,
        },
    )


def _history(stack: Stack, invoice_id: str) -> list[dict[str, Any]]:
    return stack.rows("dxc_synchistories", f"_dxc_invoiceid_value eq {invoice_id}")


def _detail(stack: Stack, invoice_id: str) -> dict[str, Any]:
    return _one(stack, "dxc_xerodetails", f"_dxc_invoiceid_value eq {invoice_id}")


def test_a_product_missing_from_the_price_list_fails_the_invoice_naming_both(
    stack: Stack,
) -> None:
    gbp = _one(stack, "transactioncurrencies", "isocurrencycode eq 'GBP'")
    empty = stack.dataverse.create(
        "pricelevels",
        {
            "name": "Empty list",
            "transactioncurrencyid@odata.bind": (
                f"/transactioncurrencies({gbp['transactioncurrencyid']})"
            ),
        },
    )
    invoice_id = _invoice(stack, "Unpriced", empty)
    _product_line(stack, invoice_id, "CRMONL-ENT")
    [line] = stack.rows("invoicedetails", f"_invoiceid_value eq {invoice_id}")
    assert line["pricingerrorcode"] != 0  # Dynamics itself could not price it

    result = stack.run_pass()

    [outcome] = [o for o in result.report.outcomes if o.invoice_id == invoice_id]
    assert outcome.result == "failed"
    assert 'the product "CRM Online: Enterprise (sample)"' in outcome.message
    assert 'the price list "Empty list"' in outcome.message
    assert "Product Not In Price Level" in outcome.message
    assert _detail(stack, invoice_id)["dxc_exportstatus"] == FAILED
    [history] = _history(stack, invoice_id)
    assert "Empty list" in history["dxc_details"]
    sent = [i for i in stack.xero_get("Invoices")["Invoices"] if invoice_id in (i.get("Url") or "")]
    assert not sent


def test_a_priced_product_line_goes(stack: Stack) -> None:
    [price_list] = stack.rows("pricelevels", "name eq 'CRM Service: USA (sample)'")
    invoice_id = _invoice(stack, "Priced", price_list["pricelevelid"])
    _product_line(stack, invoice_id, "CRMONL-ENT")
    result = stack.run_pass()
    assert result.report.count("created") == 1, result.report.outcomes


def test_an_invoice_paid_in_dynamics_before_the_tax_came_back_keeps_its_xero_details(
    stack: Stack,
) -> None:
    [price_list] = stack.rows("pricelevels", "name eq 'CRM Service: USA (sample)'")
    invoice_id = _invoice(stack, "Paid meanwhile", price_list["pricelevelid"])
    _product_line(stack, invoice_id, "CRMONL-ENT")

    def pay_in_dynamics(step: str) -> None:
        if step == "invoices-applied":  # Xero has it; the write-back is next
            stack.dataverse.update("invoices", invoice_id, {"statecode": 2, "statuscode": 100001})

    result = run_pass(stack.runtime, stack.connection.id, pay_in_dynamics)

    assert result.report.count("created") == 1, result.report.outcomes
    assert result.report.count("unrecorded") == 0, result.report.outcomes
    detail = _detail(stack, invoice_id)
    assert detail["dxc_exportstatus"] == YES and detail["dxc_xeroinvoiceid"]
    history = _history(stack, invoice_id)
    assert len(history) == 2, history
    [note] = [h for h in history if "tax on its lines could not be written" in h["dxc_details"]]
    assert "read-only" in note["dxc_details"]
    [line] = stack.rows("invoicedetails", f"_invoiceid_value eq {invoice_id}")
    assert not line.get("tax")  # Dynamics kept it read-only
