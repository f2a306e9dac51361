"""The walking skeleton end to end: Dynamics invoices reach Xero through the real xero-python
SDK and msal, over HTTPS on loopback ports, and the results come back to Dynamics."""

from __future__ import annotations

from decimal import Decimal

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from tests.integration.conftest import Stack

YES = schema.option_value(schema.EXPORT_STATUS, "Yes")
FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")


def _invoice_id(stack: Stack, name: str) -> str:
    rows = stack.rows("invoices", f"name eq '{name}'", "invoiceid")
    assert len(rows) == 1
    return str(rows[0]["invoiceid"])


def _detail(stack: Stack, invoice_id: str) -> dict | None:
    rows = stack.rows("dxc_xerodetails", f"_dxc_invoiceid_value eq {invoice_id}")
    assert len(rows) <= 1
    return rows[0] if rows else None


def _history(stack: Stack, invoice_id: str) -> list[dict]:
    return stack.rows("dxc_synchistories", f"_dxc_invoiceid_value eq {invoice_id}")


def test_the_seed_invoice_reaches_xero_with_xeros_totals(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    assert result.report.count("created") == 3, result.report.outcomes

    invoice_id = _invoice_id(stack, "test Enrico 1")
    detail = _detail(stack, invoice_id)
    assert detail is not None
    assert detail["dxc_exportstatus"] == YES
    assert detail["dxc_xerostatus"] == "Draft"
    assert detail["dxc_xeroinvoicenumber"]
    xero_id = detail["dxc_xeroinvoiceid"]
    assert xero_id in detail["dxc_xerourl"]

    xero = stack.xero_get(f"Invoices/{xero_id}")["Invoices"][0]
    assert (
        Decimal(str(xero["SubTotal"])),
        Decimal(str(xero["TotalTax"])),
        Decimal(str(xero["Total"])),
    ) == (
        Decimal("1098.00"),
        Decimal("219.60"),
        Decimal("1317.60"),
    )
    assert xero["Type"] == "ACCREC"
    assert xero["Status"] == "DRAFT"
    assert xero["Reference"] == "ygtbebf"
    assert xero["Contact"]["Name"] == "A. Datum Corporation (sample)"
    assert xero["BrandingThemeID"]
    lines = xero["LineItems"]
    assert [ln["Description"] for ln in lines][:2] == [
        "Test line 1 Here are some stuff",
        "This is just a great comment",
    ]
    assert "Quantity" not in lines[1] or not lines[1].get("Quantity")
    assert lines[2].get("ItemCode")

    history = _history(stack, invoice_id)
    assert [h["dxc_details"] for h in history] == [f"Invoice has been created in Xero - {xero_id}"]

    taxes = stack.rows("invoicedetails", f"_invoiceid_value eq {invoice_id}", "tax,quantity")
    assert sorted(Decimal(str(t["tax"] or 0)) for t in taxes) == [
        Decimal("0"),
        Decimal("39.60"),
        Decimal("180.00"),
    ]
    account = stack.rows("accounts", "name eq 'A. Datum Corporation (sample)'", "dxc_xerocontactid")
    assert account[0]["dxc_xerocontactid"] == xero["Contact"]["ContactID"]


def test_an_incomplete_invoice_fails_with_its_reason_and_a_future_one_waits(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    stack.run_pass()
    missing = _invoice_id(stack, "Missing price list")
    detail = _detail(stack, missing)
    assert detail is not None and detail["dxc_exportstatus"] == FAILED
    [history] = _history(stack, missing)
    assert "Price List" in history["dxc_details"]

    later = _invoice_id(stack, "Delivered tomorrow")
    assert _detail(stack, later) is None
    assert _history(stack, later) == []


def test_passes_again_never_duplicate(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    first = stack.run_pass()
    before = len(stack.xero_get("Invoices")["Invoices"])
    second = stack.run_pass()
    assert second.report.count("created") == 0
    assert second.report.count("failed") == 0
    assert len(stack.xero_get("Invoices")["Invoices"]) == before
    # organisation, currencies, tax rates, accounts, tracking, items; then a contact look-up,
    # the contacts and items to create, and the invoices: 10 calls for a cold start.
    assert first.step("push").xero_calls <= 10, first.step("push").xero_calls
    assert second.step("push").xero_calls == 0  # nothing ready: Xero is not asked anything


def test_in_a_running_connector_new_invoices_cost_one_xero_call_per_batch(stack: Stack) -> None:
    row_id = stack.connection.dataverse_connection_row_id or ""
    create_sample_invoices(stack.dataverse, row_id, stack.today())
    stack.run_pass()
    create_sample_invoices(stack.dataverse, row_id, stack.today())
    later = stack.run_pass()
    assert later.report.count("created") == 3
    # Customers are linked now and the items exist: one PUT /Invoices for the batch.
    assert later.step("push").xero_calls == 1, later.step("push").xero_calls


def test_retry_after_fixing_sends_a_failed_invoice(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    stack.run_pass()
    missing = _invoice_id(stack, "Missing price list")
    price_list = stack.rows("pricelevels", "name ne null", "pricelevelid")[0]["pricelevelid"]
    stack.dataverse.update(
        "invoices", missing, {"pricelevelid@odata.bind": f"/pricelevels({price_list})"}
    )
    detail = _detail(stack, missing)
    assert detail is not None
    stack.dataverse.update(
        "dxc_xerodetails",
        detail["dxc_xerodetailid"],
        {"dxc_exportstatus": schema.option_value(schema.EXPORT_STATUS, "No")},
    )
    result = stack.run_pass()
    assert [o.invoice_name for o in result.report.outcomes if o.result == "created"] == [
        "Missing price list"
    ]
    assert _detail(stack, missing)["dxc_exportstatus"] == YES  # type: ignore[index]
    assert len(_history(stack, missing)) == 2


def test_an_invoice_xero_would_refuse_is_not_sent_and_says_why(stack: Stack) -> None:
    row_id = stack.connection.dataverse_connection_row_id or ""
    create_sample_invoices(stack.dataverse, row_id, stack.today())
    bogus = stack.dataverse.create(
        "dxc_taxtypes", {"dxc_name": "Old rate", "dxc_taxtypecode": "BOGUS", "dxc_status": "ACTIVE"}
    )
    invoice_id = _invoice_id(stack, "Consulting")
    [line] = stack.rows("invoicedetails", f"_invoiceid_value eq {invoice_id}", "invoicedetailid")
    stack.dataverse.update(
        "invoicedetails",
        line["invoicedetailid"],
        {"dxc_TaxTypeId@odata.bind": f"/dxc_taxtypes({bogus})"},
    )
    before = len(stack.xero_get("Invoices")["Invoices"])
    result = stack.run_pass()
    assert result.report.count("created") == 2
    assert len(stack.xero_get("Invoices")["Invoices"]) == before + 2
    detail = _detail(stack, invoice_id)
    assert detail is not None and detail["dxc_exportstatus"] == FAILED
    [history] = _history(stack, invoice_id)
    assert "BOGUS" in history["dxc_details"]
    assert "Export status to No" in history["dxc_details"]


def test_a_running_connector_keeps_its_tokens_between_passes(stack: Stack) -> None:
    stack.run_pass()
    stack.xero.emulator.calls.clear()
    stack.dataverse_app.state.emulator.calls.clear()
    stack.run_pass()
    xero = stack.xero.emulator.calls.snapshot()
    dataverse = stack.dataverse_app.state.emulator.calls.snapshot()
    assert not [k for k in xero if "token" in k], xero
    assert not [k for k in dataverse if "token" in k or "openid" in k], dataverse


def test_dynamics_numbers_go_to_xero_and_a_taken_one_is_refused_before_sending(
    stack: Stack,
) -> None:
    [setting] = stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")
    stack.dataverse.update(
        "dxc_settings", setting["dxc_settingid"], {"dxc_usexeroinvoicenumber": False}
    )
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    taken = _invoice_id(stack, "Consulting")
    [row] = stack.rows("invoices", f"invoiceid eq {taken}", "invoicenumber")
    # Someone typed the same number into Xero by hand first.
    client, headers = stack.xero.client(), stack.xero.headers()
    [contact] = client.get("/api.xro/2.0/Contacts", headers=headers).json()["Contacts"][:1]
    made = client.put(
        "/api.xro/2.0/Invoices",
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "InvoiceNumber": row["invoicenumber"],
                    "LineItems": [{"Description": "By hand"}],
                }
            ]
        },
        headers=headers,
    )
    assert made.status_code == 200, made.text
    result = stack.run_pass()
    assert result.report.count("created") == 2
    [history] = _history(stack, taken)
    assert row["invoicenumber"] in history["dxc_details"]
    enrico = _detail(stack, _invoice_id(stack, "test Enrico 1"))
    [number] = stack.rows("invoices", "name eq 'test Enrico 1'", "invoicenumber")
    assert enrico is not None and enrico["dxc_xeroinvoicenumber"] == number["invoicenumber"]


def test_a_new_process_uses_the_reference_data_kept_in_the_store(stack: Stack) -> None:
    from d365xero.jobs.passes import run_pass
    from d365xero.jobs.runtime import open_runtime

    row_id = stack.connection.dataverse_connection_row_id or ""
    create_sample_invoices(stack.dataverse, row_id, stack.today())
    stack.run_pass()
    create_sample_invoices(stack.dataverse, row_id, stack.today())
    later = open_runtime(stack.runtime.settings)  # as `d365xero sync --once` from cron
    try:
        result = run_pass(later, stack.connection.id)
    finally:
        later.close()
    assert result.report.count("created") == 3
    assert result.step("push").xero_calls == 1, result.step("push").xero_calls
